"""Inspections with the standard checklist, the hazards found and their rectification."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Text,
    UniqueConstraint,
    and_,
)
from sqlalchemy.ext.hybrid import hybrid_method, hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.models import Base, CreatedMixin, TimestampMixin
from backend.core.types import enum_type

if TYPE_CHECKING:
    from backend.registry.models import Workshop


class ChecklistItem(enum.StrEnum):
    """The standard inspection checklist."""

    RAW_MATERIALS = "raw_materials"  # 原料采购与查验
    SANITATION = "sanitation"  # 环境卫生
    PROCESSING = "processing"  # 生产加工过程
    ADDITIVES = "additives"  # 食品添加剂使用
    STAFF_HEALTH = "staff_health"  # 从业人员健康管理
    PACKAGING_LABELING = "packaging_labeling"  # 包装标识
    AREA_SEPARATION = "area_separation"  # 生活区、生产区、成品区分离


class ItemResult(enum.StrEnum):
    """An inspection item's finding."""

    COMPLIANT = "compliant"
    NON_COMPLIANT = "non_compliant"
    NOT_APPLICABLE = "not_applicable"


class InspectionOutcome(enum.StrEnum):
    """An inspection's overall conclusion."""

    SATISFACTORY = "satisfactory"  # 符合
    RECTIFY = "rectify"  # 基本符合, rectify within a deadline
    UNSATISFACTORY = "unsatisfactory"  # 不符合


class HazardStatus(enum.StrEnum):
    """A hazard's life: open → rectifying → closed."""

    OPEN = "open"
    RECTIFYING = "rectifying"
    CLOSED = "closed"


class Inspection(TimestampMixin, Base):
    """An on-site inspection of a workshop with the standard checklist."""

    __tablename__ = "inspections"
    __table_args__ = (Index("ix_inspections_workshop_date", "workshop_id", "inspected_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshops.id", ondelete="RESTRICT"))
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    inspected_on: Mapped[date] = mapped_column(Date)
    outcome: Mapped[InspectionOutcome | None] = mapped_column(enum_type(InspectionOutcome))
    summary: Mapped[str] = mapped_column(Text, default="")

    workshop: Mapped[Workshop] = relationship()
    items: Mapped[list[InspectionItem]] = relationship(
        back_populates="inspection", order_by="InspectionItem.id"
    )
    hazards: Mapped[list[Hazard]] = relationship(back_populates="inspection", order_by="Hazard.id")

    @hybrid_property
    def concluded(self) -> bool:
        """Whether an outcome was given; from then on the findings are read-only evidence."""
        return self.outcome is not None

    @concluded.inplace.expression
    @classmethod
    def _concluded_expression(cls):
        """SQL: the inspection has an outcome."""
        return cls.outcome.is_not(None)


class InspectionItem(Base):
    """One checklist item's finding, with a note and a photo."""

    __tablename__ = "inspection_items"
    __table_args__ = (UniqueConstraint("inspection_id", "item"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(
        ForeignKey("inspections.id", ondelete="CASCADE"), index=True
    )
    item: Mapped[ChecklistItem] = mapped_column(enum_type(ChecklistItem))
    result: Mapped[ItemResult] = mapped_column(enum_type(ItemResult))
    note: Mapped[str] = mapped_column(Text, default="")
    photo_file_id: Mapped[int | None] = mapped_column(
        ForeignKey("stored_files.id", ondelete="SET NULL")
    )

    inspection: Mapped[Inspection] = relationship(back_populates="items")


class Hazard(TimestampMixin, Base):
    """A hazard found in an inspection, to be rectified by a deadline."""

    __tablename__ = "hazards"
    __table_args__ = (
        CheckConstraint("status != 'closed' OR closed_at IS NOT NULL", name="closed_has_time"),
        Index("ix_hazards_status_deadline", "status", "deadline"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(
        ForeignKey("inspections.id", ondelete="RESTRICT"), index=True
    )
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshops.id", ondelete="RESTRICT"), index=True
    )
    item: Mapped[ChecklistItem] = mapped_column(enum_type(ChecklistItem))
    description: Mapped[str] = mapped_column(Text)
    deadline: Mapped[date] = mapped_column(Date)
    status: Mapped[HazardStatus] = mapped_column(enum_type(HazardStatus), default=HazardStatus.OPEN)
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))

    inspection: Mapped[Inspection] = relationship(back_populates="hazards")
    rectifications: Mapped[list[Rectification]] = relationship(
        back_populates="hazard", order_by="Rectification.id"
    )

    @hybrid_method
    def is_overdue(self, today: date) -> bool:
        """Whether the hazard is not closed and its deadline is before *today* (a hazard due
        today is not overdue yet)."""
        return self.status is not HazardStatus.CLOSED and self.deadline < today

    @is_overdue.inplace.expression
    @classmethod
    def _is_overdue_expression(cls, today):
        """SQL: a hazard not closed whose deadline is before *today*."""
        return and_(cls.status != HazardStatus.CLOSED, cls.deadline < today)

    def overdue_days(self, today: date) -> int:
        """How many days the hazard is past its deadline on *today* (0 when not overdue)."""
        return (today - self.deadline).days if self.is_overdue(today) else 0

    @property
    def pending_rectification(self) -> Rectification | None:
        """The rectification waiting for review, if there is one."""
        return next((r for r in self.rectifications if r.accepted is None), None)

    @property
    def accepted_rectification(self) -> Rectification | None:
        """The accepted rectification, if there is one."""
        return next((r for r in self.rectifications if r.accepted), None)

    def next_steps(self) -> dict[str, bool]:
        """What may be done now: submit a rectification, review one, close the hazard
        (only once its inspection is concluded and while it is not closed)."""
        followed_up = self.inspection.concluded and self.status is not HazardStatus.CLOSED
        pending, accepted = self.pending_rectification, self.accepted_rectification
        return {
            "rectify": followed_up and pending is None and accepted is None,
            "review": followed_up and pending is not None,
            "close": followed_up and accepted is not None,
        }


class Rectification(CreatedMixin, Base):
    """What the workshop did about a hazard, and the regulator's review of it."""

    __tablename__ = "rectifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    hazard_id: Mapped[int] = mapped_column(
        ForeignKey("hazards.id", ondelete="RESTRICT"), index=True
    )
    description: Mapped[str] = mapped_column(Text)
    photo_file_id: Mapped[int | None] = mapped_column(
        ForeignKey("stored_files.id", ondelete="SET NULL")
    )
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    accepted: Mapped[bool | None] = mapped_column(Boolean)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    reviewed_at: Mapped[datetime | None]
    review_note: Mapped[str] = mapped_column(Text, default="")

    hazard: Mapped[Hazard] = relationship(back_populates="rectifications")
