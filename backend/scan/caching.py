"""Cache keys of the scan path, and forgetting them when what they show changes.

Services call :func:`forget_batch` where a batch's own story changes (state, results,
ledgers, cameras). What the view shows of *other* rows — the workshop, the product, its
brand, category and zone, the raw lots and their suppliers — is watched here instead: when
a flush changes or deletes one of them, the views of the batches that show it are dropped at
once and again after the commit (so a view rebuilt in between from the old rows does not
outlive the change).

Without Redis every worker keeps its own copies, so each forget also raises the batch's row
in `scan_generations` (batch 0: every batch) *in the writer's transaction*: the change and
its stamp commit together, and the next scan in any worker reads the stamp in its one query
and rebuilds a copy built under an older one (backend/scan/view.py).
"""

from __future__ import annotations

import logging

from flask import current_app, has_app_context
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from backend.core.cache import cache
from backend.extensions import db

log = logging.getLogger(__name__)

PENDING = "yipin_forget_batches"
PENDING_CODES = "yipin_forget_codes"
ALL = -1  # "every batch" (a zone, brand or category changed)
# Generations (Redis counters) that workers' own copies are checked against on every scan
# (backend/scan/fastpath.py): raised with every forget, at the flush and after the commit.
CODES_GENERATION = "yipin:gen:codes"
ALL_GENERATION = "yipin:gen:batches"
EPOCH = "yipin:gen:epoch"  # qualifies every generation (see backend/scan/fastpath.py)


def batch_generation(batch_id: int) -> str:
    """Key of a batch's generation."""
    return f"yipin:gen:batch:{batch_id}"


def code_key(code: str) -> str:
    """Key of a code's identity."""
    return f"code:{code}"


def batch_key(batch_id: int) -> str:
    """Key of a batch's consumer view."""
    return f"batchview:{batch_id}"


def page_key(batch_id: int, locale: str) -> str:
    """Key of the rendered batch part of the scan page, in one language."""
    return f"batchpage:{batch_id}:{locale}"


def _raise_generation(*keys: str) -> None:
    """Raise generations in Redis (nothing to do without it: copies expire by time)."""
    client = getattr(cache(), "client", None)
    if client is None:
        return
    from redis import RedisError

    try:
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.incr(key)
        pipe.execute()
    except RedisError as exc:
        log.error("could not raise %s; workers' copies stale until expiry: %s", keys, exc)


def forget_codes(codes: list[str]) -> None:
    """Drop cached code identities (after voiding; again after the commit)."""
    if codes:
        cache().delete(*(code_key(c) for c in codes))
        _raise_generation(CODES_GENERATION)
        db.session.info.setdefault(PENDING_CODES, set()).update(codes)


def stamp_batches(batch_ids: set[int]) -> None:
    """Without Redis: raise the database generations of *batch_ids* (0: every batch) in the
    current transaction, so every worker's copies built before it commits are stale."""
    if getattr(cache(), "client", None) is not None or not batch_ids:
        return
    from backend.codes.models import ScanGeneration

    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = ScanGeneration.__table__
    statement = insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.batch_id], set_={"value": table.c.value + 1}
    )
    connection.execute(statement, [{"batch_id": b, "value": 1} for b in sorted(batch_ids)])


def forget_batch(batch_id: int, *, stamp: bool = True) -> None:
    """Drop a batch's cached view (after a state change, a new result, a camera event)."""
    pages = [page_key(batch_id, locale) for locale in current_app.config["LANGUAGES"]]
    cache().delete(batch_key(batch_id), *pages)
    _raise_generation(batch_generation(batch_id))
    if stamp:
        stamp_batches({batch_id})


def forget_all_batches(*, stamp: bool = True) -> None:
    """Drop every cached batch view (after a change that many batches show)."""
    store = cache()
    client = getattr(store, "client", None)
    if client is None:
        store.clear()  # in-process: the code identities go too, and are rebuilt on demand
        if stamp:
            stamp_batches({0})
        return
    _raise_generation(ALL_GENERATION)
    from redis import RedisError

    try:
        keys = list(client.scan_iter(store.prefix + "batch*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
    except RedisError:
        pass  # logged by the cache on the next failure; the views expire by their TTL


def _affected_batches(session: Session, objects) -> set[int]:
    """Ids of batches whose consumer view shows one of *objects* (ALL for shared rows)."""
    from backend.batches.models import Batch, BatchInput
    from backend.ledgers.models import RawMaterialLot
    from backend.registry.models import Brand, Product, ProductCategory, Supplier, Workshop, Zone

    workshops, products, lots, suppliers = set(), set(), set(), set()
    for obj in objects:
        if isinstance(obj, (Zone, Brand, ProductCategory)):
            return {ALL}
        if isinstance(obj, Workshop):
            workshops.add(obj.id)
        elif isinstance(obj, Product):
            products.add(obj.id)
        elif isinstance(obj, RawMaterialLot):
            lots.add(obj.id)
        elif isinstance(obj, Supplier):
            suppliers.add(obj.id)
    if not (workshops or products or lots or suppliers):
        return set()
    connection = session.connection()
    found: set[int] = set()
    if workshops:
        found |= set(connection.scalars(select(Batch.id).where(Batch.workshop_id.in_(workshops))))
    if products:
        found |= set(connection.scalars(select(Batch.id).where(Batch.product_id.in_(products))))
    if suppliers:
        lots |= set(
            connection.scalars(
                select(RawMaterialLot.id).where(RawMaterialLot.supplier_id.in_(suppliers))
            )
        )
    if lots:
        found |= set(
            connection.scalars(select(BatchInput.batch_id).where(BatchInput.raw_lot_id.in_(lots)))
        )
    return found


def _forget(batch_ids: set[int], *, stamp: bool = True) -> None:
    """Drop the views of *batch_ids* (and stamp them, unless the change has committed)."""
    if ALL in batch_ids:
        forget_all_batches(stamp=stamp)
    else:
        for batch_id in batch_ids:
            forget_batch(batch_id, stamp=False)
        if stamp:
            stamp_batches(batch_ids)


@event.listens_for(Session, "after_flush")
def _forget_after_flush(session: Session, flush_context) -> None:
    """Drop the views that show rows this flush changed or deleted (and remember them)."""
    if not has_app_context():
        return
    changed = [o for o in session.dirty if session.is_modified(o, include_collections=False)]
    batch_ids = _affected_batches(session, [*changed, *session.deleted])
    if batch_ids:
        _forget(batch_ids)
        session.info.setdefault(PENDING, set()).update(batch_ids)


@event.listens_for(Session, "after_commit")
def _forget_after_commit(session: Session) -> None:
    """Drop them again once the change is visible to everyone."""
    batch_ids = session.info.pop(PENDING, None)
    codes = session.info.pop(PENDING_CODES, None)
    if has_app_context():
        if batch_ids:
            _forget(batch_ids, stamp=False)  # stamped in the transaction that committed
        if codes:
            cache().delete(*(code_key(c) for c in codes))
            _raise_generation(CODES_GENERATION)


@event.listens_for(Session, "after_soft_rollback")
def _forget_nothing(session: Session, previous_transaction) -> None:
    """A rolled-back change needs no second drop."""
    if not session.in_transaction():
        session.info.pop(PENDING, None)
        session.info.pop(PENDING_CODES, None)
