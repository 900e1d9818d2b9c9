"""Freshness of cached scan views: one mechanism, ORM events, so no other feature calls the
scan package.

After every flush, the rows it added, changed or deleted are held against what the
consumer view shows (backend/scan/story.py) and the views of the batches that show them are
dropped at once, and again after the commit (so a copy rebuilt in between from the old rows
does not outlive the change):

- the batch itself (its state, hold reason, dates, process), its raw material inputs, its
  additive uses and its ledger entries;
- its samples and their test results (the tests and the verdict);
- the workshop's inspections (the last one) and cameras (which are live; a probe that only
  notes a live camera's last sighting changes nothing shown);
- the workshop, the product, the raw lots and their suppliers; a zone, brand or product
  category drops every batch's view;
- a unit code voided (its cached identity), also by a bulk UPDATE of unit codes.
"""

from __future__ import annotations

from flask import has_app_context
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.sql.dml import Update

from backend.batches.models import AdditiveUse, Batch, BatchInput
from backend.cameras.models import Camera
from backend.codes.models import CodeStatus, UnitCode
from backend.inspections.models import Inspection
from backend.ledgers.models import LedgerEntry, RawMaterialLot
from backend.registry.models import Brand, Product, ProductCategory, Supplier, Workshop, Zone
from backend.samples.models import Sample, TestResult
from backend.scan.caching import ALL, PENDING, PENDING_CODES, forget, forget_codes, forget_pending

SHARED = (Zone, Brand, ProductCategory)  # shown by every batch's view
OF_BATCH = (BatchInput, AdditiveUse, LedgerEntry, Sample)  # rows with a batch_id
OF_WORKSHOP = (Inspection, Camera)  # rows shown by every batch of their workshop
SHOWN_ONCE_REFERRED = (*SHARED, Batch, Workshop, Product, RawMaterialLot, Supplier)
UNSHOWN = {Camera: frozenset({"last_seen_at", "publisher_id", "updated_at"})}


def _changed(obj) -> bool:
    """Whether a flushed *obj* changed something the view shows."""
    ignored = UNSHOWN.get(type(obj))
    if ignored is None:
        return True
    state = inspect(obj)
    return any(attr.history.has_changes() for attr in state.attrs if attr.key not in ignored)


class Touched:
    """The ids of the rows a flush touched, by what they reach."""

    def __init__(self):
        self.batches: set[int] = set()
        self.workshops: set[int] = set()
        self.products: set[int] = set()
        self.lots: set[int] = set()
        self.suppliers: set[int] = set()
        self.samples: set[int] = set()
        self.shared = False

    def note(self, obj, *, added: bool = False) -> None:
        """Note one added, changed or deleted row (an added one that only rows made after
        it can show, such as a new brand or batch, is shown by no cached view yet)."""
        if added and isinstance(obj, SHOWN_ONCE_REFERRED):
            return
        if isinstance(obj, SHARED):
            self.shared = True
        elif isinstance(obj, Batch):
            self.batches.add(obj.id)
        elif isinstance(obj, OF_BATCH):
            if obj.batch_id is not None:
                self.batches.add(obj.batch_id)
        elif isinstance(obj, TestResult):
            self.samples.add(obj.sample_id)
        elif isinstance(obj, OF_WORKSHOP):
            self.workshops.add(obj.workshop_id)
        elif isinstance(obj, Workshop):
            self.workshops.add(obj.id)
        elif isinstance(obj, Product):
            self.products.add(obj.id)
        elif isinstance(obj, RawMaterialLot):
            self.lots.add(obj.id)
        elif isinstance(obj, Supplier):
            self.suppliers.add(obj.id)

    def batch_ids(self, connection) -> set[int]:
        """The batches whose view shows a touched row (ALL for a shared one)."""
        if self.shared:
            return {ALL}
        found = set(self.batches)
        if self.samples:
            found |= _ids(connection, Sample.batch_id, Sample.id.in_(self.samples))
        if self.workshops:
            found |= _ids(connection, Batch.id, Batch.workshop_id.in_(self.workshops))
        if self.products:
            found |= _ids(connection, Batch.id, Batch.product_id.in_(self.products))
        lots = set(self.lots)
        if self.suppliers:
            lots |= _ids(
                connection, RawMaterialLot.id, RawMaterialLot.supplier_id.in_(self.suppliers)
            )
        if lots:
            found |= _ids(connection, BatchInput.batch_id, BatchInput.raw_lot_id.in_(lots))
        found.discard(None)
        return found


def _ids(connection, column, condition) -> set[int]:
    """The values of *column* where *condition* holds."""
    return set(connection.scalars(select(column).where(condition)))


def _voided(session: Session) -> list[str]:
    """The codes this flush voided."""
    return [
        obj.code
        for obj in session.dirty
        if isinstance(obj, UnitCode)
        and obj.status is CodeStatus.VOIDED
        and inspect(obj).attrs.status.history.has_changes()
    ]


def after_flush(session: Session, flush_context) -> None:
    """Drop the views that show rows this flush added, changed or deleted (and remember
    them for after the commit)."""
    if not has_app_context():
        return
    touched = Touched()
    for obj in session.new:
        touched.note(obj, added=True)
    for obj in session.dirty:
        if session.is_modified(obj, include_collections=False) and _changed(obj):
            touched.note(obj)
    for obj in session.deleted:
        touched.note(obj)
    batch_ids = touched.batch_ids(session.connection())
    if batch_ids:
        forget(batch_ids)
        session.info.setdefault(PENDING, set()).update(batch_ids)
    codes = _voided(session)
    if codes:
        forget_codes(codes)


def before_bulk_update(state: ORMExecuteState) -> None:
    """An ORM UPDATE of unit codes' status (voiding a range): forget the codes it reaches,
    read before it runs."""
    statement = state.statement
    if not (state.is_update and isinstance(statement, Update) and has_app_context()):
        return
    if getattr(statement.table, "name", None) != UnitCode.__tablename__:
        return
    values = getattr(statement, "_values", None) or {}
    if not any(getattr(key, "key", key) == "status" for key in values):
        return
    query = select(UnitCode.code).where(UnitCode.status == CodeStatus.ACTIVE)
    if statement.whereclause is not None:
        query = query.where(statement.whereclause)
    forget_codes(list(state.session.scalars(query, state.parameters)))


def after_commit(session: Session) -> None:
    """Drop again, once the change is visible to everyone."""
    if has_app_context():
        forget_pending(session)
    else:
        session.info.pop(PENDING, None)
        session.info.pop(PENDING_CODES, None)


def after_soft_rollback(session: Session, previous_transaction) -> None:
    """A rolled-back change needs no second drop."""
    if not session.in_transaction():
        session.info.pop(PENDING, None)
        session.info.pop(PENDING_CODES, None)


LISTENERS = {
    "after_flush": after_flush,
    "do_orm_execute": before_bulk_update,
    "after_commit": after_commit,
    "after_soft_rollback": after_soft_rollback,
}


def watch() -> None:
    """Listen to every session's flushes, bulk updates and commits (once per process)."""
    for name, listener in LISTENERS.items():
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)
