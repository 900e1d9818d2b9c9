"""Ledger tables: raw-material lots, hash-chained entries and their photos, buyers, shipments."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.models import Base, TimestampMixin
from backend.core.types import Quantity, enum_type

if TYPE_CHECKING:
    from backend.batches.models import Batch
    from backend.registry.models import Supplier, Workshop


class AcceptanceResult(enum.StrEnum):
    """Outcome of raw material acceptance (进货查验)."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"


class LedgerKind(enum.StrEnum):
    """The daily ledgers a workshop keeps."""

    MORNING_CHECK = "morning_check"  # 晨检
    RAW_ACCEPTANCE = "raw_acceptance"  # 进货查验
    PRODUCTION = "production"  # 生产记录
    ADDITIVE_USE = "additive_use"  # 添加剂使用
    CLEANING = "cleaning"  # 清洗消毒
    OUTGOING_INSPECTION = "outgoing_inspection"  # 出厂检验
    SALE = "sale"  # 销售记录


class RawMaterialLot(TimestampMixin, Base):
    """A received lot of a raw material, with the acceptance checks of FSL art. 50."""

    __tablename__ = "raw_material_lots"
    __table_args__ = (
        UniqueConstraint("workshop_id", "lot_no"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshops.id", ondelete="RESTRICT"), index=True
    )
    supplier_id: Mapped[int] = mapped_column(
        ForeignKey("suppliers.id", ondelete="RESTRICT"), index=True
    )
    lot_no: Mapped[str] = mapped_column(String(40))
    material_name: Mapped[str] = mapped_column(String(100))
    is_additive: Mapped[bool] = mapped_column(Boolean, default=False)
    specification: Mapped[str] = mapped_column(String(50), default="")
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit: Mapped[str] = mapped_column(String(10))
    supplier_batch_no: Mapped[str] = mapped_column(String(50), default="")
    produced_on: Mapped[date | None] = mapped_column(Date)
    shelf_life_days: Mapped[int | None] = mapped_column(Integer)
    expires_on: Mapped[date | None] = mapped_column(Date)
    purchased_on: Mapped[date] = mapped_column(Date, index=True)
    supplier_licence_checked: Mapped[bool] = mapped_column(Boolean, default=False)
    certificate_checked: Mapped[bool] = mapped_column(Boolean, default=False)
    sensory_ok: Mapped[bool] = mapped_column(Boolean, default=True)
    result: Mapped[AcceptanceResult] = mapped_column(
        enum_type(AcceptanceResult), default=AcceptanceResult.ACCEPTED
    )
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    note: Mapped[str] = mapped_column(Text, default="")

    supplier: Mapped[Supplier] = relationship()
    workshop: Mapped[Workshop] = relationship()


class LedgerEntry(Base):
    """One append-only ledger entry: evidence, hash-chained per workshop.

    A correction is a new entry whose `corrects_id` names the entry it corrects. `entry_hash`
    is SHA-256 over the canonical JSON of the entry and the previous entry's hash.
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("workshop_id", "seq"),
        UniqueConstraint("workshop_id", "idempotency_key"),
        CheckConstraint("seq > 0", name="seq_positive"),
        CheckConstraint("length(entry_hash) = 64", name="hash_is_sha256"),
        Index("ix_ledger_entries_workshop_kind_day", "workshop_id", "kind", "business_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshops.id", ondelete="RESTRICT"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[LedgerKind] = mapped_column(enum_type(LedgerKind))
    business_date: Mapped[date] = mapped_column(Date)
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    payload: Mapped[dict] = mapped_column(JSON)
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("batches.id", ondelete="RESTRICT"), index=True
    )
    raw_lot_id: Mapped[int | None] = mapped_column(
        ForeignKey("raw_material_lots.id", ondelete="RESTRICT"), index=True
    )
    shipment_id: Mapped[int | None] = mapped_column(
        ForeignKey("shipments.id", ondelete="RESTRICT"), index=True
    )
    corrects_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_entries.id", ondelete="RESTRICT"), index=True
    )
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Food Safety Law art. 50: kept until at least this date, never deleted earlier.
    retain_until: Mapped[date] = mapped_column(Date, index=True)

    corrects: Mapped[LedgerEntry | None] = relationship(remote_side=[id])


class LedgerAttachment(Base):
    """A photo or voucher kept with a ledger entry (its SHA-256 is also in the payload)."""

    __tablename__ = "ledger_attachments"
    __table_args__ = (UniqueConstraint("entry_id", "file_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_entries.id", ondelete="RESTRICT"), index=True
    )
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_files.id", ondelete="RESTRICT"))


class Buyer(TimestampMixin, Base):
    """Someone a workshop sells to (a shop, a restaurant, a distributor)."""

    __tablename__ = "buyers"
    __table_args__ = (UniqueConstraint("workshop_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshops.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(200), default="")
    contact_name: Mapped[str] = mapped_column(String(50), default="")
    contact_phone: Mapped[str] = mapped_column(String(30), default="")


class Shipment(TimestampMixin, Base):
    """A sale or shipment (销售记录, FSL art. 53), with its outgoing inspection."""

    __tablename__ = "shipments"
    __table_args__ = (UniqueConstraint("workshop_id", "document_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshops.id", ondelete="RESTRICT"), index=True
    )
    buyer_id: Mapped[int] = mapped_column(ForeignKey("buyers.id", ondelete="RESTRICT"), index=True)
    document_no: Mapped[str] = mapped_column(String(40))
    shipped_on: Mapped[date] = mapped_column(Date, index=True)
    inspection_cert_no: Mapped[str] = mapped_column(String(40), default="")
    note: Mapped[str] = mapped_column(Text, default="")

    buyer: Mapped[Buyer] = relationship()
    items: Mapped[list[ShipmentItem]] = relationship(
        back_populates="shipment", order_by="ShipmentItem.id"
    )


class ShipmentItem(Base):
    """How much of one batch went out in a shipment."""

    __tablename__ = "shipment_items"
    __table_args__ = (
        UniqueConstraint("shipment_id", "batch_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(
        ForeignKey("shipments.id", ondelete="RESTRICT"), index=True
    )
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id", ondelete="RESTRICT"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit: Mapped[str] = mapped_column(String(10))

    shipment: Mapped[Shipment] = relationship(back_populates="items")
    batch: Mapped[Batch] = relationship()
