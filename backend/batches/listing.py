"""Reading a workshop's raw lots and batches: lists (newest first, paginated) and one batch,
for the workshop's operators and regulators."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from backend.accounts.models import User
from backend.accounts.permissions import require_reader
from backend.batches.models import Batch, BatchInput, BatchState
from backend.batches.operations import LEFT_EPSILON, batch_by_no, quantize
from backend.core.pages import Page
from backend.core.time import local_today
from backend.extensions import db
from backend.ledgers.models import AcceptanceResult, RawMaterialLot

MAX_PER_PAGE = 100


@dataclass
class LotView:
    """A raw lot with what batches used of it and what is left."""

    lot: RawMaterialLot
    used: Decimal

    @property
    def remaining(self) -> Decimal:
        """The lot's quantity minus every batch input so far."""
        return self.lot.quantity - self.used


def _page_args(page: int, per_page: int) -> tuple[int, int]:
    """The page asked for, and at most MAX_PER_PAGE items on it."""
    return max(page, 1), min(max(per_page, 1), MAX_PER_PAGE)


def list_raw_lots(
    workshop_id: int, user: User, *, available: bool = False, page: int = 1, per_page: int = 20
) -> Page:
    """The workshop's raw lots with what is left, newest first; *available*: only usable
    ones (accepted, something left, not expired today)."""
    require_reader(user, workshop_id)
    page, per_page = _page_args(page, per_page)
    used = (
        select(BatchInput.raw_lot_id, func.sum(BatchInput.quantity).label("used"))
        .group_by(BatchInput.raw_lot_id)
        .subquery()
    )
    spent = func.coalesce(used.c.used, 0)
    query = (
        select(RawMaterialLot, spent)
        .outerjoin(used, used.c.raw_lot_id == RawMaterialLot.id)
        .where(RawMaterialLot.workshop_id == workshop_id)
    )
    if available:
        today = local_today()
        query = query.where(
            RawMaterialLot.result == AcceptanceResult.ACCEPTED,
            RawMaterialLot.quantity - spent > LEFT_EPSILON,
            (RawMaterialLot.expires_on.is_(None)) | (RawMaterialLot.expires_on >= today),
        )
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.execute(
        query.options(selectinload(RawMaterialLot.supplier))
        .order_by(RawMaterialLot.purchased_on.desc(), RawMaterialLot.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page([LotView(lot, quantize(u)) for lot, u in rows], total, page, per_page)


def list_batches(
    workshop_id: int,
    user: User,
    *,
    state: BatchState | None = None,
    page: int = 1,
    per_page: int = 20,
) -> Page:
    """The workshop's batches, newest first, with inputs and additives."""
    require_reader(user, workshop_id)
    page, per_page = _page_args(page, per_page)
    query = select(Batch).where(Batch.workshop_id == workshop_id)
    if state is not None:
        query = query.where(Batch.state == state)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    batches = db.session.scalars(
        query.options(
            selectinload(Batch.product),
            selectinload(Batch.inputs).selectinload(BatchInput.raw_lot),
            selectinload(Batch.additive_uses),
        )
        .order_by(Batch.produced_on.desc(), Batch.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page(list(batches), total, page, per_page)


def get_batch(batch_no: str, user: User) -> Batch:
    """One batch, for its workshop's operators and regulators."""
    batch = batch_by_no(batch_no)
    require_reader(user, batch.workshop_id)
    return batch
