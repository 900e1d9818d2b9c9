"""Ledger completeness of the zone's producing workshops over the last 7 and 30 days.

The rules of ``backend.ledgers.checklist`` expressed in SQL: a UNION ALL of every item owed
by a workshop on a day, with whether it is done, grouped by workshop and day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import (
    JSON,
    Numeric,
    String,
    and_,
    case,
    cast,
    column,
    exists,
    func,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import aliased

from backend.batches.models import AdditiveUse, Batch, BatchState, BatchStateChange
from backend.core.time import local_today
from backend.dashboard.days import Ratio, days_table, dialect
from backend.extensions import db
from backend.ledgers.models import LedgerEntry, LedgerKind, RawMaterialLot, Shipment
from backend.registry.models import HealthCertificate, Staff, Workshop, WorkshopStatus

# Workshops that produce, and so owe ledgers (as in backend.ledgers.checklist).
PRODUCING = (WorkshopStatus.ACTIVE, WorkshopStatus.UPGRADED)
LEDGER_WINDOWS = (7, 30)  # ledger completeness over the last 7 and 30 finished days


@dataclass(frozen=True)
class LedgerCompleteness:
    """A zone workshop's complete days over the last 7 and 30 finished days."""

    workshop_id: int
    name: str
    registration_no: str
    last_7: Ratio
    last_30: Ratio


def _names_staff(entry, staff):
    """SQL: a morning check *entry* lists the *staff* member, as checklist._names_staff
    reads it: a line (an object in ``payload.checks``, which must be a list) whose
    ``staff_id`` is a number equal to the staff member's id, or, for a line without a
    ``staff_id`` (missing or null), whose ``staff`` is the staff member's name."""
    if dialect() == "postgresql":
        checks = entry.payload.op("->", return_type=JSON)("checks")
        lines = func.json_array_elements(
            case((func.json_typeof(checks) == "array", checks), else_=None)
        ).table_valued(column("value", JSON), name="check_line")
        staff_id = lines.c.value.op("->", return_type=JSON)("staff_id")
        id_type = func.json_typeof(staff_id)
        as_number = case(
            (id_type == "number", cast(lines.c.value.op("->>")("staff_id"), Numeric)),
            else_=None,
        )
        name_type = func.json_typeof(lines.c.value.op("->", return_type=JSON)("staff"))
        name = lines.c.value.op("->>", return_type=String)("staff")
        listed = or_(
            as_number == staff.id,
            and_(
                or_(id_type.is_(None), id_type == "null"), name_type == "string", name == staff.name
            ),
        )
        return exists(select(1).select_from(lines).where(listed).correlate_except(lines))
    # SQLite: json_each over $.checks; each line's fields read by its full path.
    lines = func.json_each(entry.payload, "$.checks").table_valued(
        column("fullkey", String), name="check_line"
    )
    id_path = lines.c.fullkey.concat(".staff_id")
    name_path = lines.c.fullkey.concat(".staff")
    id_type = func.json_type(entry.payload, id_path)
    listed = or_(
        and_(
            id_type.in_(["integer", "real"]), func.json_extract(entry.payload, id_path) == staff.id
        ),
        and_(
            or_(id_type.is_(None), id_type == "null"),
            func.json_type(entry.payload, name_path) == "text",
            func.json_extract(entry.payload, name_path) == staff.name,
        ),
    )
    return and_(
        func.json_type(entry.payload, "$.checks") == "array",
        exists(select(1).select_from(lines).where(listed).correlate_except(lines)),
    )


class _Owed:
    """What every item's SELECT is made of: the days, the workshops, and whether a live
    ledger entry (one no correction replaces) of a kind does the item."""

    def __init__(self, days, shops):
        self.days, self.shops = days, shops
        self.entry = aliased(LedgerEntry, name="entry")
        correction = aliased(LedgerEntry, name="correction")
        self.corrected = select(correction.corrects_id).where(correction.corrects_id.is_not(None))

    def done(self, kind: LedgerKind, workshop_id, *conditions):
        """1 when a live entry of *kind* of the workshop meets *conditions*, else 0."""
        entry = self.entry
        recorded = exists().where(
            entry.workshop_id == workshop_id,
            entry.kind == kind,
            entry.id.not_in(self.corrected),
            *conditions,
        )
        return case((recorded, 1), else_=0).label("done")

    def item(self, workshop_id, flag):
        """The columns every item's SELECT gives."""
        return select(workshop_id.label("workshop_id"), self.days.c.day.label("day"), flag)


def _morning_checks(owed: _Owed):
    """A morning check of the day listing each active staff member with a health
    certificate valid on the day."""
    days, entry = owed.days, owed.entry
    on_duty = exists().where(
        HealthCertificate.staff_id == Staff.id, HealthCertificate.valid_on(days.c.day)
    )
    return (
        owed.item(
            Staff.workshop_id,
            owed.done(
                LedgerKind.MORNING_CHECK,
                Staff.workshop_id,
                entry.business_date == days.c.day,
                _names_staff(entry, Staff),
            ),
        )
        .select_from(Staff)
        .join(owed.shops, owed.shops.c.id == Staff.workshop_id)
        .join(days, true())
        .where(Staff.active.is_(True), on_duty)
    )


def _acceptances(owed: _Owed):
    """An acceptance entry linking each raw lot purchased that day."""
    return (
        owed.item(
            RawMaterialLot.workshop_id,
            owed.done(
                LedgerKind.RAW_ACCEPTANCE,
                RawMaterialLot.workshop_id,
                owed.entry.raw_lot_id == RawMaterialLot.id,
            ),
        )
        .select_from(RawMaterialLot)
        .join(owed.shops, owed.shops.c.id == RawMaterialLot.workshop_id)
        .join(owed.days, owed.days.c.day == RawMaterialLot.purchased_on)
    )


def _open_on_day(days):
    """SQL: the batch is open on the day.

    A batch is open on a day when it entered in_production before the day ended and did
    not leave it before the day began; one without any history when it is in production
    now and was produced on or before the day (checklist.open_batches).
    """
    entered = exists().where(
        BatchStateChange.batch_id == Batch.id,
        BatchStateChange.to_state == BatchState.IN_PRODUCTION,
        BatchStateChange.changed_at < days.c.ends_at,
    )
    left_before = exists().where(
        BatchStateChange.batch_id == Batch.id,
        BatchStateChange.from_state == BatchState.IN_PRODUCTION,
        BatchStateChange.changed_at < days.c.starts_at,
    )
    no_history = ~exists().where(BatchStateChange.batch_id == Batch.id)
    return or_(
        and_(entered, ~left_before),
        and_(
            Batch.state == BatchState.IN_PRODUCTION,
            no_history,
            or_(Batch.produced_on.is_(None), Batch.produced_on <= days.c.day),
        ),
    )


def _productions(owed: _Owed, open_on_day):
    """A production entry of the day linking each batch open that day."""
    days, entry = owed.days, owed.entry
    return (
        owed.item(
            Batch.workshop_id,
            owed.done(
                LedgerKind.PRODUCTION,
                Batch.workshop_id,
                entry.business_date == days.c.day,
                entry.batch_id == Batch.id,
            ),
        )
        .select_from(Batch)
        .join(owed.shops, owed.shops.c.id == Batch.workshop_id)
        .join(days, true())
        .where(open_on_day)
    )


def _additive_uses(owed: _Owed, open_on_day):
    """An additive-use entry on or before the day linking each open batch of a product some
    batch of which used an additive."""
    days, entry = owed.days, owed.entry
    sibling = aliased(Batch, name="sibling")
    uses_additives = exists(
        select(AdditiveUse.id)
        .join(sibling, sibling.id == AdditiveUse.batch_id)
        .where(sibling.product_id == Batch.product_id)
    )
    return (
        owed.item(
            Batch.workshop_id,
            owed.done(
                LedgerKind.ADDITIVE_USE,
                Batch.workshop_id,
                entry.batch_id == Batch.id,
                entry.business_date <= days.c.day,
            ),
        )
        .select_from(Batch)
        .join(owed.shops, owed.shops.c.id == Batch.workshop_id)
        .join(days, true())
        .where(open_on_day, uses_additives)
    )


def _cleanings(owed: _Owed):
    """A cleaning entry of the day (always owed)."""
    shops = owed.shops
    return (
        owed.item(
            shops.c.id,
            owed.done(LedgerKind.CLEANING, shops.c.id, owed.entry.business_date == owed.days.c.day),
        )
        .select_from(shops)
        .join(owed.days, true())
    )


def _sales(owed: _Owed):
    """A sale entry linking each shipment of the day."""
    return (
        owed.item(
            Shipment.workshop_id,
            owed.done(LedgerKind.SALE, Shipment.workshop_id, owed.entry.shipment_id == Shipment.id),
        )
        .select_from(Shipment)
        .join(owed.shops, owed.shops.c.id == Shipment.workshop_id)
        .join(owed.days, owed.days.c.day == Shipment.shipped_on)
    )


def _ledger_items(days, shops):
    """Every item owed by a producing zone workshop on each day, with whether it is done:
    rows of (workshop_id, day, done) where done is 1 or 0. The rules of
    ``backend.ledgers.checklist`` (see :func:`ledger_days`), one SELECT per ledger."""
    owed = _Owed(days, shops)
    open_on_day = _open_on_day(days)
    return union_all(
        _morning_checks(owed),
        _acceptances(owed),
        _productions(owed, open_on_day),
        _additive_uses(owed, open_on_day),
        _cleanings(owed),
        _sales(owed),
    ).subquery("owed")


def _zone_producers():
    """Zone workshops that produce now (active or upgraded): they owe ledgers."""
    return (
        select(Workshop.id)
        .where(Workshop.zone_id.is_not(None), Workshop.status.in_(PRODUCING))
        .cte("shops")
    )


def _complete_days(first: date, last: date):
    """One row per producing zone workshop and local day from *first* to *last*:
    workshop_id, day, complete (1 when every item owed that day is done, else 0)."""
    days = days_table(first, last)
    owed = _ledger_items(days, _zone_producers())
    return (
        select(
            owed.c.workshop_id,
            owed.c.day,
            func.min(owed.c.done).label("complete"),
        )
        .group_by(owed.c.workshop_id, owed.c.day)
        .subquery("workshop_days")
    )


def ledger_days(first: date, last: date) -> list[tuple[int, date, bool]]:
    """(workshop_id, day, complete) for every producing zone workshop and day from *first*
    to *last*, by workshop and day: the SQL form of ``checklist.today(...).complete``.

    A day is complete when every item ``backend.ledgers.checklist`` owes that day is
    done (an item is done by an entry that no correction replaces):

    - a morning check of the day listing each active staff member with a health certificate
      valid on the day (by ``staff_id``, else by name);
    - an acceptance entry linking each raw lot purchased that day;
    - a production entry of the day linking each batch open that day;
    - an additive-use entry on or before the day linking each open batch of a product some
      batch of which used an additive;
    - a cleaning entry of the day (always owed, so every such day has at least one item);
    - a sale entry linking each shipment of the day.

    Like the checklist, it takes the workshop's status of today for every day.
    """
    complete = _complete_days(first, last)
    rows = db.session.execute(
        select(complete.c.workshop_id, complete.c.day, complete.c.complete).order_by(
            complete.c.workshop_id, complete.c.day
        )
    ).all()
    return [(workshop_id, day, bool(flag)) for workshop_id, day, flag in rows]


def ledger_completeness(today: date | None = None) -> list[LedgerCompleteness]:
    """Ledger completeness of each zone workshop over the last 7 and 30 days.

    Workshops: those in a centralized processing zone that produce (status active or
    upgraded); a filed, suspended or cancelled workshop owes no ledgers (its checklist is
    empty) and is not listed. Days: the 30 (and 7) **finished** local days before *today*,
    i.e. from *today* − 30 (− 7) to yesterday; today is left out because it is not over.
    ``part``: the days that were complete (see :func:`ledger_days` for what a day owes);
    ``whole``: the days of the window (30 or 7), the same for every workshop. One query:
    GROUP BY workshop over GROUP BY workshop and day over a UNION ALL of what is owed.
    """
    today = today or local_today()
    short, long = LEDGER_WINDOWS
    last = today - timedelta(days=1)
    complete = _complete_days(today - timedelta(days=long), last)
    recent = today - timedelta(days=short)
    rows = db.session.execute(
        select(
            Workshop.id,
            Workshop.name,
            Workshop.registration_no,
            func.sum(case((complete.c.day >= recent, complete.c.complete), else_=0)),
            func.sum(complete.c.complete),
        )
        .join(complete, complete.c.workshop_id == Workshop.id)
        .group_by(Workshop.id, Workshop.name, Workshop.registration_no)
        .order_by(Workshop.registration_no)
    ).all()
    return [
        LedgerCompleteness(
            workshop_id=wid,
            name=name,
            registration_no=number,
            last_7=Ratio(int(week or 0), short),
            last_30=Ratio(int(month or 0), long),
        )
        for wid, name, number, week, month in rows
    ]
