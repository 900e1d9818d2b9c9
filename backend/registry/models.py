"""Registry tables: zone, brands, product categories, workshops, staff, suppliers, products."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
)
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.models import Base, CreatedMixin, TimestampMixin
from backend.core.types import enum_type


class WorkshopStatus(enum.StrEnum):
    """Life of a filed workshop (登记状态)."""

    FILED = "filed"  # 已备案: registered, not yet producing under supervision
    ACTIVE = "active"  # 在产
    SUSPENDED = "suspended"  # 停产整改
    CANCELLED = "cancelled"  # 注销
    UPGRADED = "upgraded"  # 升级为企业 (with licence number and trademark)


class StaffRole(enum.StrEnum):
    """What a person does in a workshop."""

    OWNER = "owner"
    WORKER = "worker"


class Zone(TimestampMixin, Base):
    """A centralized processing zone (集中加工区), e.g. Banli."""

    __tablename__ = "zones"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    township: Mapped[str] = mapped_column(String(50))
    district: Mapped[str] = mapped_column(String(50))
    city: Mapped[str] = mapped_column(String(50))
    province: Mapped[str] = mapped_column(String(50))
    story_zh: Mapped[str] = mapped_column(Text, default="")
    story_en: Mapped[str] = mapped_column(Text, default="")

    brands: Mapped[list[Brand]] = relationship(back_populates="zone", order_by="Brand.id")
    workshops: Mapped[list[Workshop]] = relationship(back_populates="zone")


class Brand(TimestampMixin, Base):
    """A zone brand (区域公用品牌) such as 半里红 or 半里鲜."""

    __tablename__ = "brands"

    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id", ondelete="RESTRICT"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(50))
    name_en: Mapped[str] = mapped_column(String(50))
    slogan_zh: Mapped[str] = mapped_column(String(200), default="")
    slogan_en: Mapped[str] = mapped_column(String(200), default="")
    description_zh: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")

    zone: Mapped[Zone] = relationship(back_populates="brands")


class ProductCategory(Base):
    """A food category; standards and registration certificates refer to these codes."""

    __tablename__ = "product_categories"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    parent_code: Mapped[str | None] = mapped_column(
        ForeignKey("product_categories.code", ondelete="RESTRICT")
    )
    name_zh: Mapped[str] = mapped_column(String(50))
    name_en: Mapped[str] = mapped_column(String(80))

    parent: Mapped[ProductCategory | None] = relationship(remote_side=[code])


workshop_product_types = Table(
    "workshop_product_types",
    Base.metadata,
    Column(
        "workshop_id",
        ForeignKey("workshops.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "category_code",
        ForeignKey("product_categories.code", ondelete="RESTRICT"),
        primary_key=True,
    ),
)


class Workshop(TimestampMixin, Base):
    """A food workshop (食品小作坊) and its registration certificate (登记证)."""

    __tablename__ = "workshops"
    __table_args__ = (
        CheckConstraint(
            "status != 'upgraded' OR licence_no IS NOT NULL", name="upgraded_has_licence"
        ),
        CheckConstraint(
            "cert_long_term OR cert_valid_until IS NOT NULL", name="cert_validity_given"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_no: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    operator_name: Mapped[str] = mapped_column(String(50))
    contact_phone: Mapped[str] = mapped_column(String(30), default="")
    address: Mapped[str] = mapped_column(String(200))
    township: Mapped[str] = mapped_column(String(50), index=True)
    district: Mapped[str] = mapped_column(String(50))
    zone_id: Mapped[int | None] = mapped_column(
        ForeignKey("zones.id", ondelete="RESTRICT"), index=True
    )
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id", ondelete="RESTRICT"))
    status: Mapped[WorkshopStatus] = mapped_column(
        enum_type(WorkshopStatus), default=WorkshopStatus.FILED, index=True
    )
    issuing_authority: Mapped[str] = mapped_column(String(100))
    cert_issued_on: Mapped[date] = mapped_column(Date)
    cert_valid_until: Mapped[date | None] = mapped_column(Date)
    cert_long_term: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set when the workshop has grown into an enterprise with a food production licence.
    licence_no: Mapped[str | None] = mapped_column(String(40), unique=True)
    trademark: Mapped[str | None] = mapped_column(String(50))
    # Three-area layout (living / production / finished food kept apart), last checked when.
    layout_separated: Mapped[bool | None] = mapped_column(Boolean)
    layout_checked_on: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text, default="")

    zone: Mapped[Zone | None] = relationship(back_populates="workshops")
    brand: Mapped[Brand | None] = relationship()
    product_types: Mapped[list[ProductCategory]] = relationship(
        secondary=workshop_product_types, order_by=ProductCategory.code
    )
    staff: Mapped[list[Staff]] = relationship(back_populates="workshop", order_by="Staff.id")
    products: Mapped[list[Product]] = relationship(back_populates="workshop", order_by="Product.id")
    status_changes: Mapped[list[WorkshopStatusChange]] = relationship(
        back_populates="workshop", order_by="WorkshopStatusChange.id"
    )

    @property
    def in_zone(self) -> bool:
        """Whether the workshop belongs to a centralized processing zone."""
        return self.zone_id is not None


class WorkshopStatusChange(CreatedMixin, Base):
    """History of a workshop's status: suspensions, cancellation, upgrade."""

    __tablename__ = "workshop_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshops.id", ondelete="RESTRICT"), index=True
    )
    from_status: Mapped[WorkshopStatus | None] = mapped_column(
        enum_type(WorkshopStatus, "from_status")
    )
    to_status: Mapped[WorkshopStatus] = mapped_column(enum_type(WorkshopStatus, "to_status"))
    reason: Mapped[str] = mapped_column(Text, default="")
    licence_no: Mapped[str | None] = mapped_column(String(40))
    trademark: Mapped[str | None] = mapped_column(String(50))
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    changed_at: Mapped[datetime]

    workshop: Mapped[Workshop] = relationship(back_populates="status_changes")


class Staff(TimestampMixin, Base):
    """A person working in a workshop."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshops.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(50))
    role: Mapped[StaffRole] = mapped_column(enum_type(StaffRole), default=StaffRole.WORKER)
    phone: Mapped[str] = mapped_column(String(30), default="")
    handles_ready_to_eat: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    workshop: Mapped[Workshop] = relationship(back_populates="staff")
    health_certificates: Mapped[list[HealthCertificate]] = relationship(
        back_populates="staff", order_by="HealthCertificate.expires_on"
    )


class HealthCertificate(CreatedMixin, Base):
    """A health certificate (健康证) from the yearly examination (FSL art. 45)."""

    __tablename__ = "health_certificates"
    __table_args__ = (CheckConstraint("expires_on > issued_on", name="expires_after_issue"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="RESTRICT"), index=True)
    cert_no: Mapped[str] = mapped_column(String(40))
    issued_by: Mapped[str] = mapped_column(String(100), default="")
    issued_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date, index=True)

    staff: Mapped[Staff] = relationship(back_populates="health_certificates")

    @hybrid_method
    def valid_on(self, day: date) -> bool:
        """Whether the certificate covers *day* (from its issue through its expiry day)."""
        return self.issued_on <= day <= self.expires_on

    @valid_on.inplace.expression
    @classmethod
    def _valid_on_expression(cls, day):
        """SQL: the certificate covers *day* (a date or a date column)."""
        return and_(cls.issued_on <= day, cls.expires_on >= day)


class Supplier(TimestampMixin, Base):
    """A raw material supplier, shared across workshops (the zone unifies raw materials)."""

    __tablename__ = "suppliers"
    __table_args__ = (UniqueConstraint("name", "licence_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    licence_no: Mapped[str] = mapped_column(String(60), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    contact_name: Mapped[str] = mapped_column(String(50), default="")
    contact_phone: Mapped[str] = mapped_column(String(30), default="")
    supplies: Mapped[str] = mapped_column(String(200), default="")


class Product(TimestampMixin, Base):
    """A product a workshop makes, with what its label must carry."""

    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("workshop_id", "name", "specification"),
        CheckConstraint("gtin IS NULL OR length(gtin) = 14", name="gtin_is_14_digits"),
        CheckConstraint(
            "shelf_life_days IS NULL OR shelf_life_days > 0", name="shelf_life_positive"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshops.id", ondelete="RESTRICT"), index=True
    )
    category_code: Mapped[str] = mapped_column(
        ForeignKey("product_categories.code", ondelete="RESTRICT"), index=True
    )
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(150), default="")
    specification: Mapped[str] = mapped_column(String(50))
    # None means "no clear shelf life": records are then kept two years.
    shelf_life_days: Mapped[int | None] = mapped_column(Integer)
    storage: Mapped[str] = mapped_column(String(100), default="")
    standard_executed: Mapped[str] = mapped_column(String(100), default="")
    ingredients: Mapped[str] = mapped_column(Text, default="")
    # Labelled alcohol content in %vol, for wines (checked against the measured value).
    labelled_alcohol: Mapped[float | None] = mapped_column()
    gtin: Mapped[str | None] = mapped_column(String(14), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    workshop: Mapped[Workshop] = relationship(back_populates="products")
    category: Mapped[ProductCategory] = relationship()
    brand: Mapped[Brand | None] = relationship()
