"""Batches: what was made from which raw lots, with which additives, and its state."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship

from backend.core.errors import Conflict
from backend.core.models import Base, CreatedMixin, TimestampMixin
from backend.core.time import utcnow
from backend.core.types import Quantity, enum_type

if TYPE_CHECKING:
    from backend.ledgers.models import RawMaterialLot
    from backend.registry.models import Product, Workshop


class BatchState(enum.StrEnum):
    """draft → in production → pending release → released; released → held → released
    or recalled."""

    DRAFT = "draft"
    IN_PRODUCTION = "in_production"
    PENDING_RELEASE = "pending_release"
    RELEASED = "released"
    HELD = "held"
    RECALLED = "recalled"


S = BatchState
# The state machine of DESIGN.md: where each state may go next.
TRANSITIONS: dict[BatchState, frozenset[BatchState]] = {
    S.DRAFT: frozenset({S.IN_PRODUCTION}),
    S.IN_PRODUCTION: frozenset({S.PENDING_RELEASE}),
    S.PENDING_RELEASE: frozenset({S.RELEASED, S.HELD}),
    S.RELEASED: frozenset({S.HELD, S.RECALLED}),
    S.HELD: frozenset({S.RELEASED, S.RECALLED}),
    S.RECALLED: frozenset(),
}
STATE_NAMES_ZH = {
    S.DRAFT: "草稿",
    S.IN_PRODUCTION: "生产中",
    S.PENDING_RELEASE: "待放行",
    S.RELEASED: "已放行",
    S.HELD: "已暂控",
    S.RECALLED: "已召回",
}


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

    def can_move_to(self, to_state: BatchState) -> bool:
        """Whether the state machine allows this batch to move to *to_state*."""
        return to_state in TRANSITIONS[self.state]

    def move_to(
        self,
        to_state: BatchState,
        *,
        by_user_id: int | None = None,
        at: datetime | None = None,
        reason: str = "",
    ) -> BatchStateChange:
        """Move to *to_state* at *at* (now by default), kept as a BatchStateChange in the
        batch's session, or raise
        Conflict when the machine forbids it. A hold or recall shows *reason* to consumers;
        a release clears it and stamps the first release time."""
        if not self.can_move_to(to_state):
            raise Conflict(
                f"批次 {self.batch_no} 当前为“{STATE_NAMES_ZH[self.state]}”，"
                f"不能变为“{STATE_NAMES_ZH[to_state]}”。",
                slug="batch_state_conflict",
            )
        at = at or utcnow()
        change = BatchStateChange(
            batch=self,
            from_state=self.state,
            to_state=to_state,
            reason=reason,
            changed_by_id=by_user_id,
            changed_at=at,
        )
        self.state = to_state
        if to_state is S.RELEASED and self.released_at is None:
            self.released_at = at
        if to_state in (S.HELD, S.RECALLED):
            self.hold_reason = reason
        elif to_state is S.RELEASED:
            self.hold_reason = ""
        session = object_session(self)
        if session is not None:  # the step is kept with the batch
            session.add(change)
        return change


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
