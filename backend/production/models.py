"""Production tables: raw lots, batches, inputs, additives, the ledger, buyers and shipments."""

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
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.models import Base, CreatedMixin, TimestampMixin
from backend.core.types import enum_type

if TYPE_CHECKING:
    from backend.registry.models import Product, Supplier, Workshop

Quantity = Numeric(14, 3)


class BatchState(enum.StrEnum):
    """draft → in production → pending release → released; released → held → released
    or recalled."""

    DRAFT = "draft"
    IN_PRODUCTION = "in_production"
    PENDING_RELEASE = "pending_release"
    RELEASED = "released"
    HELD = "held"
    RECALLED = "recalled"


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


class Batch(TimestampMixin, Base):
    """A production batch (批次) of one product; unit codes belong to it."""

    __tablename__ = "batches"
    __table_args__ = (
        CheckConstraint("planned_quantity IS NULL OR planned_quantity > 0", name="qty_positive"),
        CheckConstraint("expires_on IS NULL OR expires_on >= produced_on", name="expiry_order"),
        Index("ix_batches_workshop_produced", "workshop_id", "produced_on"),
        # The recall report by production date range (district-wide, not per workshop).
        Index("ix_batches_produced_on", "produced_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_no: Mapped[str] = mapped_column(String(40), unique=True)
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshops.id", ondelete="RESTRICT"), index=True
    )
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="RESTRICT"), index=True
    )
    state: Mapped[BatchState] = mapped_column(
        enum_type(BatchState), default=BatchState.DRAFT, index=True
    )
    produced_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    planned_quantity: Mapped[Decimal | None] = mapped_column(Quantity)
    unit: Mapped[str] = mapped_column(String(10), default="件")
    process_notes: Mapped[str] = mapped_column(Text, default="")
    # Banner shown to consumers while the batch is held or recalled.
    hold_reason: Mapped[str] = mapped_column(Text, default="")
    released_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))

    product: Mapped[Product] = relationship()
    workshop: Mapped[Workshop] = relationship()
    inputs: Mapped[list[BatchInput]] = relationship(
        back_populates="batch", order_by="BatchInput.id"
    )
    additive_uses: Mapped[list[AdditiveUse]] = relationship(
        back_populates="batch", order_by="AdditiveUse.id"
    )
    state_changes: Mapped[list[BatchStateChange]] = relationship(
        back_populates="batch", order_by="BatchStateChange.id"
    )


class BatchStateChange(CreatedMixin, Base):
    """One step of a batch through its state machine, with who and why."""

    __tablename__ = "batch_state_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id", ondelete="RESTRICT"), index=True)
    from_state: Mapped[BatchState | None] = mapped_column(enum_type(BatchState, "from_state"))
    to_state: Mapped[BatchState] = mapped_column(enum_type(BatchState, "to_state"))
    reason: Mapped[str] = mapped_column(Text, default="")
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    changed_at: Mapped[datetime]

    batch: Mapped[Batch] = relationship(back_populates="state_changes")


class BatchInput(Base):
    """A raw lot that went into a batch, and how much of it (the trace graph's edge)."""

    __tablename__ = "batch_inputs"
    __table_args__ = (
        UniqueConstraint("batch_id", "raw_lot_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id", ondelete="RESTRICT"), index=True)
    raw_lot_id: Mapped[int] = mapped_column(
        ForeignKey("raw_material_lots.id", ondelete="RESTRICT"), index=True
    )
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit: Mapped[str] = mapped_column(String(10))

    batch: Mapped[Batch] = relationship(back_populates="inputs")
    raw_lot: Mapped[RawMaterialLot] = relationship()


class AdditiveUse(Base):
    """A food additive used in a batch (name, amount, purpose), optionally from a lot."""

    __tablename__ = "additive_uses"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id", ondelete="RESTRICT"), index=True)
    raw_lot_id: Mapped[int | None] = mapped_column(
        ForeignKey("raw_material_lots.id", ondelete="RESTRICT"), index=True
    )
    additive_name: Mapped[str] = mapped_column(String(100))
    # The standards table's item code (e.g. benzoic_acid) when the additive is one it rules.
    additive_code: Mapped[str | None] = mapped_column(String(40))
    purpose: Mapped[str] = mapped_column(String(100), default="")
    amount: Mapped[Decimal] = mapped_column(Quantity)
    unit: Mapped[str] = mapped_column(String(10))

    batch: Mapped[Batch] = relationship(back_populates="additive_uses")
    raw_lot: Mapped[RawMaterialLot | None] = relationship()


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
