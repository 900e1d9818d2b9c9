"""Today's checklist: which ledger entries a workshop owes on one local (Asia/Shanghai) day.

The definition is deliberately simple, one rule per ledger (due → done when):

- morning_check: each staff member *on duty* (active, with a health certificate valid on
  the day: issued on or before it, expiring on or after it) → a morning check of the day
  names them (by ``staff_id``, else by name).
- raw_acceptance: each raw material lot received (``purchased_on``) that day → an
  acceptance entry links the lot.
- production: each batch *open* (in production at some moment of the day) → a production
  entry of the day links it.
- additive_use: each open batch of a product that uses additives (some batch of the
  product, this one included, has an additive use) → an additive-use entry links the batch,
  on or before the day.
- cleaning: once a day → a cleaning entry of the day.
- sale: each shipment of the day (``shipped_on``) → a sale entry links the shipment.

Only workshops that produce (status active or upgraded) owe anything; a filed, suspended or
cancelled workshop's list is empty and so complete. An entry that a later correction
replaces no longer counts; its correction does. Nothing here writes.

:func:`today_for` is the checklist for the workshop's people (and regulators).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta

from flask_babel import gettext as _
from sqlalchemy import and_, exists, or_, select

from backend.accounts.models import User
from backend.accounts.permissions import require_reader
from backend.batches.models import AdditiveUse, Batch, BatchState, BatchStateChange
from backend.core.errors import ValidationError
from backend.core.i18n import N_
from backend.core.time import SHANGHAI, local_today
from backend.extensions import db
from backend.ledgers.models import LedgerEntry, LedgerKind, RawMaterialLot, Shipment
from backend.registry.models import HealthCertificate, Staff, Workshop, WorkshopStatus

K = LedgerKind
PRODUCING = (WorkshopStatus.ACTIVE, WorkshopStatus.UPGRADED)


# Chinese names of the items (msgids: the API translates them).
KIND_NAMES = {
    LedgerKind.MORNING_CHECK: N_("晨检"),
    LedgerKind.RAW_ACCEPTANCE: N_("进货查验"),
    LedgerKind.PRODUCTION: N_("生产记录"),
    LedgerKind.ADDITIVE_USE: N_("添加剂使用"),
    LedgerKind.CLEANING: N_("清洗消毒"),
    LedgerKind.OUTGOING_INSPECTION: N_("出厂检验"),
    LedgerKind.SALE: N_("销售记录"),
}


@dataclass(frozen=True)
class ChecklistItem:
    """One thing due: ``kind`` (a LedgerKind value), ``subject`` (staff name, lot no, batch no,
    document no; empty for the daily cleaning), ``done`` and the ``entry_id`` that did it.

    ``subject_id`` is the id of the staff member, lot, batch or shipment. Items read as
    attributes or as keys (``item.done`` or ``item["done"]``).
    """

    kind: str
    subject: str
    done: bool
    entry_id: int | None = None
    subject_id: int | None = None

    def __getitem__(self, key: str):
        return getattr(self, key)


@dataclass(frozen=True)
class Checklist:
    """What a workshop owes on ``day``: every item, and the ``missing`` ones."""

    workshop_id: int
    day: date
    items: list[ChecklistItem] = field(default_factory=list)

    @property
    def missing(self) -> list[ChecklistItem]:
        """The items not done yet."""
        return [item for item in self.items if not item.done]

    @property
    def complete(self) -> bool:
        """Whether everything due is done (an empty list is complete)."""
        return not self.missing

    def to_dict(self) -> dict:
        """Plain data, e.g. for a reminder's log."""
        return {
            "workshop_id": self.workshop_id,
            "day": self.day.isoformat(),
            "complete": self.complete,
            "items": [asdict(item) for item in self.items],
            "missing": [asdict(item) for item in self.missing],
        }


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The local day as [start, end) aware datetimes."""
    start = datetime.combine(day, time.min, tzinfo=SHANGHAI)
    return start, start + timedelta(days=1)


def staff_on_duty(workshop_id: int, day: date) -> list[Staff]:
    """Active staff with a health certificate valid on *day*."""
    valid = exists().where(HealthCertificate.staff_id == Staff.id, HealthCertificate.valid_on(day))
    return list(
        db.session.scalars(
            select(Staff)
            .where(Staff.workshop_id == workshop_id, Staff.active.is_(True), valid)
            .order_by(Staff.id)
        )
    )


def open_batches(workshop_id: int, day: date) -> list[Batch]:
    """Batches in production at some moment of the local *day*.

    From the state history: entered ``in_production`` before the day ended and did not leave
    it before the day began. A batch in production without any history (made by hand) counts
    when it was produced on or before the day.
    """
    start, end = day_bounds(day)
    # The machine enters in_production once (from draft) and leaves it once.
    entered = exists().where(
        BatchStateChange.batch_id == Batch.id,
        BatchStateChange.to_state == BatchState.IN_PRODUCTION,
        BatchStateChange.changed_at < end,
    )
    left_before = exists().where(
        BatchStateChange.batch_id == Batch.id,
        BatchStateChange.from_state == BatchState.IN_PRODUCTION,
        BatchStateChange.changed_at < start,
    )
    no_history = ~exists().where(BatchStateChange.batch_id == Batch.id)
    query = select(Batch).where(
        Batch.workshop_id == workshop_id,
        or_(
            and_(entered, ~left_before),
            and_(
                Batch.state == BatchState.IN_PRODUCTION,
                no_history,
                or_(Batch.produced_on.is_(None), Batch.produced_on <= day),
            ),
        ),
    )
    return list(db.session.scalars(query.order_by(Batch.id)))


def _entries(workshop_id: int, kinds: list[LedgerKind], *conditions) -> list[LedgerEntry]:
    """Entries of the workshop that no later correction replaces, oldest first."""
    corrected = select(LedgerEntry.corrects_id).where(
        LedgerEntry.workshop_id == workshop_id, LedgerEntry.corrects_id.is_not(None)
    )
    return list(
        db.session.scalars(
            select(LedgerEntry)
            .where(
                LedgerEntry.workshop_id == workshop_id,
                LedgerEntry.kind.in_(kinds),
                LedgerEntry.id.not_in(corrected),
                *conditions,
            )
            .order_by(LedgerEntry.seq)
        )
    )


def _first(entries: list[LedgerEntry], test) -> int | None:
    """The id of the first entry passing *test*."""
    return next((e.id for e in entries if test(e)), None)


def _owed(kind: LedgerKind, owed: list, entries: list[LedgerEntry], matches, label: str) -> list:
    """One item of *kind* for each thing in *owed* (named by its *label* attribute), done by
    the first of *entries* that *matches* it."""
    items = []
    for thing in owed:
        entry_id = _first(entries, lambda e, t=thing: matches(e, t))
        name = getattr(thing, label)
        items.append(ChecklistItem(kind.value, name, entry_id is not None, entry_id, thing.id))
    return items


def _of_batch(entry: LedgerEntry, batch: Batch) -> bool:
    """Whether *entry* was written for *batch*."""
    return entry.batch_id == batch.id


def _names_staff(entry: LedgerEntry, person: Staff) -> bool:
    """Whether a morning check lists *person* (by staff_id, else by name)."""
    for check in (entry.payload or {}).get("checks") or []:
        if not isinstance(check, dict):
            continue
        if check.get("staff_id") is not None:
            if check["staff_id"] == person.id:
                return True
        elif check.get("staff") == person.name:
            return True
    return False


def _morning_items(workshop_id: int, day: date, on_the_day: list[LedgerEntry]) -> list:
    """A morning check of the day for each staff member on duty."""
    checks = [e for e in on_the_day if e.kind is K.MORNING_CHECK]
    return _owed(K.MORNING_CHECK, staff_on_duty(workshop_id, day), checks, _names_staff, "name")


def _acceptance_items(workshop_id: int, day: date) -> list[ChecklistItem]:
    """An acceptance entry for each raw lot received on the day."""
    lots = db.session.scalars(
        select(RawMaterialLot)
        .where(RawMaterialLot.workshop_id == workshop_id, RawMaterialLot.purchased_on == day)
        .order_by(RawMaterialLot.id)
    ).all()
    if not lots:
        return []
    accepted = _entries(
        workshop_id, [K.RAW_ACCEPTANCE], LedgerEntry.raw_lot_id.in_([lot.id for lot in lots])
    )
    return _owed(K.RAW_ACCEPTANCE, lots, accepted, lambda e, lot: e.raw_lot_id == lot.id, "lot_no")


def _production_items(batches: list[Batch], on_the_day: list[LedgerEntry]) -> list:
    """A production entry of the day for each open batch."""
    productions = [e for e in on_the_day if e.kind is K.PRODUCTION]
    return _owed(K.PRODUCTION, batches, productions, _of_batch, "batch_no")


def _additive_items(workshop_id: int, day: date, batches: list[Batch]) -> list:
    """An additive-use entry (on or before the day) for each open batch of a product that
    uses additives."""
    if not batches:
        return []
    product_ids = {b.product_id for b in batches}
    with_additives = set(
        db.session.scalars(
            select(Batch.product_id)
            .join(AdditiveUse, AdditiveUse.batch_id == Batch.id)
            .where(Batch.product_id.in_(product_ids))
            .distinct()
        )
    )
    needing = [b for b in batches if b.product_id in with_additives]
    if not needing:
        return []
    uses = _entries(
        workshop_id,
        [K.ADDITIVE_USE],
        LedgerEntry.batch_id.in_([b.id for b in needing]),
        LedgerEntry.business_date <= day,
    )
    return _owed(K.ADDITIVE_USE, needing, uses, _of_batch, "batch_no")


def _sale_items(workshop_id: int, day: date) -> list[ChecklistItem]:
    """A sale entry for each shipment of the day."""
    shipments = db.session.scalars(
        select(Shipment)
        .where(Shipment.workshop_id == workshop_id, Shipment.shipped_on == day)
        .order_by(Shipment.id)
    ).all()
    if not shipments:
        return []
    sales = _entries(workshop_id, [K.SALE], LedgerEntry.shipment_id.in_([s.id for s in shipments]))
    return _owed(K.SALE, shipments, sales, lambda e, s: e.shipment_id == s.id, "document_no")


def today(workshop_id: int, day: date) -> Checklist:
    """What is due for the workshop on the local *day*, and what is already done."""
    workshop = db.session.get(Workshop, workshop_id)
    if workshop is None or workshop.status not in PRODUCING:
        return Checklist(workshop_id, day, [])
    on_the_day = _entries(
        workshop_id,
        [K.MORNING_CHECK, K.PRODUCTION, K.CLEANING],
        LedgerEntry.business_date == day,
    )
    items = _morning_items(workshop_id, day, on_the_day)
    items += _acceptance_items(workshop_id, day)
    batches = open_batches(workshop_id, day)
    items += _production_items(batches, on_the_day)
    items += _additive_items(workshop_id, day, batches)
    entry_id = _first(on_the_day, lambda e: e.kind is K.CLEANING)
    items.append(ChecklistItem(K.CLEANING.value, "", entry_id is not None, entry_id))
    items += _sale_items(workshop_id, day)
    return Checklist(workshop_id, day, items)


def today_for(workshop_id: int, user: User, day: date | None = None) -> Checklist:
    """The checklist of a local day (today by default) for the workshop's people."""
    require_reader(user, workshop_id)
    today_ = local_today()
    day = day or today_
    if day > today_:
        raise ValidationError(
            _("日期不能晚于今天。"), slug="date_in_future", errors={"date": ["after today"]}
        )
    return today(workshop_id, day)
