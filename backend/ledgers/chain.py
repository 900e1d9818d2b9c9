"""The ledger: append-only evidence, hash-chained per workshop.

Each entry's hash is SHA-256 over the canonical JSON of its fields and the previous entry's
hash. Nothing here updates or deletes an entry; a correction is a new entry.
Retention follows Food Safety Law art. 50.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import make_transient_to_detached

from backend.batches.models import Batch
from backend.core.canonical import canonical_json, plain
from backend.core.errors import Conflict, NotFound, ValidationError
from backend.core.time import utcnow
from backend.extensions import db
from backend.ledgers.models import LedgerEntry, LedgerKind, RawMaterialLot, Shipment
from backend.registry.models import Workshop

RETAIN_AFTER_SHELF_LIFE = 183  # days: "at least six months" past the end of shelf life
RETAIN_WITHOUT_SHELF_LIFE = 2 * 366  # days: "two years" where there is no clear shelf life


def entry_fields(entry: LedgerEntry) -> dict:
    """The fields the hash covers, in their canonical form."""
    return {
        "workshop_id": entry.workshop_id,
        "seq": entry.seq,
        "kind": entry.kind,
        "business_date": entry.business_date,
        "occurred_at": entry.occurred_at,
        "recorded_at": entry.recorded_at,
        "recorded_by_id": entry.recorded_by_id,
        "payload": entry.payload,
        "batch_id": entry.batch_id,
        "raw_lot_id": entry.raw_lot_id,
        "shipment_id": entry.shipment_id,
        "corrects_id": entry.corrects_id,
        "retain_until": entry.retain_until,
        "prev_hash": entry.prev_hash,
    }


def compute_hash(entry: LedgerEntry) -> str:
    """SHA-256 (hex) of the entry's canonical JSON, which includes the previous hash."""
    return hashlib.sha256(canonical_json(entry_fields(entry))).hexdigest()


def retention_date(
    business_date: date,
    batch: Batch | None = None,
    raw_lot: RawMaterialLot | None = None,
) -> date:
    """The day until which the entry must be kept (FSL art. 50).

    Six months past the end of the shelf life of the batch or lot it concerns (and never
    less than six months from the record); two years where there is no clear shelf life.
    """
    expiry = batch.expires_on if batch is not None else None
    if expiry is None and raw_lot is not None:
        expiry = raw_lot.expires_on
    if expiry is None:
        return business_date + timedelta(days=RETAIN_WITHOUT_SHELF_LIFE)
    return max(expiry, business_date) + timedelta(days=RETAIN_AFTER_SHELF_LIFE)


_LOCK = (
    select(Workshop.__table__.c.id)
    .where(Workshop.__table__.c.id == bindparam("workshop_id"))
    .with_for_update()
)
_LAST = (
    select(LedgerEntry.__table__.c.seq, LedgerEntry.__table__.c.entry_hash)
    .where(LedgerEntry.__table__.c.workshop_id == bindparam("workshop_id"))
    .order_by(LedgerEntry.__table__.c.seq.desc())
    .limit(1)
)
_LOCKED = "yipin.locked_workshops"  # Session.info: (transaction, workshop ids it locked)


def _current_transaction() -> object | None:
    """The innermost transaction of the session (a savepoint's rollback drops its locks)."""
    session = db.session()
    return session.get_nested_transaction() or session.get_transaction()


def note_locked(workshop_id: int) -> None:
    """Record that the current transaction holds the workshop's row lock (taken by a
    ``SELECT ... FOR UPDATE`` of the caller's), so :func:`append_entry` does not take it
    again. Kept per transaction: a commit or rollback ends it."""
    transaction = _current_transaction()
    held = db.session.info.get(_LOCKED)
    if held is None or held[0] is not transaction:
        db.session.info[_LOCKED] = held = (transaction, set())
    held[1].add(workshop_id)


def _holds_lock(workshop_id: int) -> bool:
    held = db.session.info.get(_LOCKED)
    return (
        held is not None
        and held[0] is not None
        and held[0] is _current_transaction()
        and held[0].is_active
        and workshop_id in held[1]
    )


def _lock_workshop(workshop_id: int) -> None:
    """Serialise appends to one workshop's chain (row lock on PostgreSQL), unless this
    transaction already holds it."""
    if _holds_lock(workshop_id):
        return
    if db.session.connection().execute(_LOCK, {"workshop_id": workshop_id}).first() is None:
        raise NotFound("作坊不存在。", slug="workshop_not_found")
    note_locked(workshop_id)


def append_entry(
    *,
    workshop_id: int,
    kind: LedgerKind,
    payload: dict,
    occurred_at: datetime,
    business_date: date | None = None,
    recorded_by_id: int | None = None,
    batch: Batch | None = None,
    raw_lot: RawMaterialLot | None = None,
    shipment: Shipment | None = None,
    corrects: LedgerEntry | None = None,
    idempotency_key: str | None = None,
    recorded_at: datetime | None = None,
) -> LedgerEntry:
    """Append one entry to the workshop's chain (inserted at once, like a flush)."""
    _lock_workshop(workshop_id)
    if corrects is not None and corrects.workshop_id != workshop_id:
        raise ValidationError("只能更正本作坊的台账记录。", slug="correction_other_workshop")
    for linked in (batch, raw_lot, shipment):
        if linked is not None and linked.workshop_id != workshop_id:
            raise ValidationError("台账只能关联本作坊的记录。", slug="ledger_link_other_workshop")
    if idempotency_key is not None:
        existing = db.session.scalar(
            select(LedgerEntry).where(
                LedgerEntry.workshop_id == workshop_id,
                LedgerEntry.idempotency_key == idempotency_key,
            )
        )
        if existing is not None:
            if existing.kind != kind or existing.payload != plain(payload):
                raise Conflict("该幂等键已用于另一条记录。", slug="idempotency_key_reused")
            return existing
    # under the lock; Core statements run on the session's connection (no ORM execution)
    last = db.session.connection().execute(_LAST, {"workshop_id": workshop_id}).first()
    occurred_at = occurred_at.replace(microsecond=0)
    business_date = business_date or occurred_at.date()
    entry = LedgerEntry(
        workshop_id=workshop_id,
        seq=(last.seq + 1) if last else 1,
        kind=kind,
        business_date=business_date,
        occurred_at=occurred_at,
        recorded_at=(recorded_at or utcnow()).replace(microsecond=0),
        recorded_by_id=recorded_by_id,
        payload=plain(payload),
        batch_id=batch.id if batch is not None else None,
        raw_lot_id=raw_lot.id if raw_lot is not None else None,
        shipment_id=shipment.id if shipment is not None else None,
        corrects_id=corrects.id if corrects is not None else None,
        idempotency_key=idempotency_key,
        prev_hash=last.entry_hash if last else None,
        retain_until=retention_date(business_date, batch, raw_lot),
    )
    entry.entry_hash = compute_hash(entry)
    return _insert(entry)


_INSERT = insert(LedgerEntry.__table__).returning(LedgerEntry.__table__.c.id)
_COLUMNS = tuple(c.key for c in LedgerEntry.__table__.c if c.key != "id")


def _insert(entry: LedgerEntry) -> LedgerEntry:
    """INSERT the new entry as one Core statement and keep it in the session as loaded.

    What a flush would do, without the unit of work: the entry's columns are all set here,
    so the instance joins the identity map as persistent and clean (nothing to flush
    again, nothing to load back). Pending objects are flushed first, as before.
    """
    session = db.session()
    session.flush()
    values = {key: getattr(entry, key) for key in _COLUMNS}
    entry.id = session.connection().execute(_INSERT, values).scalar_one()
    make_transient_to_detached(entry)
    session.add(entry)
    return entry


@dataclass(frozen=True)
class ChainResult:
    """The outcome of verifying one workshop's chain."""

    registration_no: str
    entries: int
    ok: bool
    broken_at_seq: int | None = None
    reason: str = ""
    workshop_id: int | None = None
    broken_entry_id: int | None = None

    def describe(self) -> str:
        """One line for the command line, naming the workshop and the first broken entry."""
        if self.ok:
            return f"{self.registration_no}: {self.entries} entries, chain intact"
        return (
            f"{self.registration_no} (workshop id {self.workshop_id}): BROKEN at entry "
            f"{self.broken_at_seq} (entry id {self.broken_entry_id}): {self.reason}"
        )


def verify_chain(workshop: Workshop) -> ChainResult:
    """Recompute one workshop's chain from the first entry."""
    entries = db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.workshop_id == workshop.id).order_by(LedgerEntry.seq)
    )
    prev_hash, count = None, 0
    for expected_seq, entry in enumerate(entries, start=1):
        count += 1
        problem = None
        if entry.seq != expected_seq:
            problem = f"sequence gap (expected {expected_seq})"
        elif entry.prev_hash != prev_hash:
            problem = "previous-hash link does not match"
        elif compute_hash(entry) != entry.entry_hash:
            problem = "content does not match its hash"
        if problem:
            return ChainResult(
                workshop.registration_no, count, False, entry.seq, problem, workshop.id, entry.id
            )
        prev_hash = entry.entry_hash
    return ChainResult(workshop.registration_no, count, True, workshop_id=workshop.id)


def verify_chains(registration_no: str | None = None) -> list[ChainResult]:
    """Verify one workshop's chain, or every chain that has entries.

    The workshop is named by its registration number or, failing that, its numeric id.
    """
    query = select(Workshop).order_by(Workshop.registration_no)
    if registration_no:
        named = Workshop.registration_no == registration_no
        if registration_no.isascii() and registration_no.isdigit() and len(registration_no) < 19:
            by_id = db.session.scalar(select(Workshop.id).where(named)) is None
            named = Workshop.id == int(registration_no) if by_id else named
        query = query.where(named)
    else:
        having = select(LedgerEntry.workshop_id).group_by(LedgerEntry.workshop_id)
        query = query.where(Workshop.id.in_(having))
    workshops = db.session.scalars(query).all()
    if registration_no and not workshops:
        raise NotFound(f"没有登记证编号为 {registration_no} 的作坊。", slug="workshop_not_found")
    return [verify_chain(w) for w in workshops]
