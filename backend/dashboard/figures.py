"""The regulators' dashboard: every figure is one SQL aggregate over the district's records.

Each function below states the exact definition of its figure in its docstring and computes
it in the database (COUNT / SUM(CASE …) / GROUP BY, a join against a small table of days
for figures per day); none loops over records in Python. Days are Asia/Shanghai days:
a local day is the UTC interval [day 00:00 +08:00, next day 00:00 +08:00), given to the
database as bound values, so the same SQL runs on SQLite and PostgreSQL.

The figure functions read and never write; they check no permission themselves: pages call
:func:`overview`, which lets regulators and inspectors in and refuses everyone else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import (
    JSON,
    Date,
    Numeric,
    String,
    and_,
    case,
    cast,
    column,
    exists,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import aliased

from backend.accounts.models import Role, User
from backend.batches.models import AdditiveUse, Batch, BatchState, BatchStateChange
from backend.cameras.models import Camera
from backend.codes.models import ScanEvent
from backend.core.errors import Forbidden
from backend.core.i18n import N_
from backend.core.i18n import gettext as _
from backend.core.time import SHANGHAI, local_today
from backend.core.types import UTCDateTime
from backend.extensions import db
from backend.inspections.models import ChecklistItem, Hazard, HazardStatus, Inspection
from backend.ledgers.models import LedgerEntry, LedgerKind, RawMaterialLot, Shipment
from backend.registry.models import (
    HealthCertificate,
    Product,
    ProductCategory,
    Staff,
    Workshop,
    WorkshopStatus,
)
from backend.samples.models import Sample, SampleStatus, TestKind, TestResult, Verdict

# Workshops that produce, and so owe ledgers (as in backend.ledgers.checklist).
PRODUCING = (WorkshopStatus.ACTIVE, WorkshopStatus.UPGRADED)
EXPIRING_DAYS = 30  # registration certificates ending within this many days are flagged
LEDGER_WINDOWS = (7, 30)  # ledger completeness over the last 7 and 30 finished days
SCAN_DAYS = 30  # scans per day over the last 30 days, today included
OVERDUE_LISTED = 50  # overdue hazards listed on the page (all are counted)


# Names of the inspection checklist's items (a hazard names the item it was found under).
CHECKLIST_ITEM_NAMES = {
    ChecklistItem.RAW_MATERIALS: N_("原料采购与进货查验"),
    ChecklistItem.SANITATION: N_("环境卫生"),
    ChecklistItem.PROCESSING: N_("生产加工过程"),
    ChecklistItem.ADDITIVES: N_("食品添加剂使用"),
    ChecklistItem.STAFF_HEALTH: N_("从业人员健康管理"),
    ChecklistItem.PACKAGING_LABELING: N_("包装与标签标识"),
    ChecklistItem.AREA_SEPARATION: N_("生活区、生产区、成品区分离"),
}
HAZARD_STATUS_NAMES = {
    HazardStatus.OPEN: N_("待整改"),
    HazardStatus.RECTIFYING: N_("整改中"),
    HazardStatus.CLOSED: N_("已销号"),
}


# -- what the figures are made of ----------------------------------------------------------


@dataclass(frozen=True)
class Ratio:
    """*part* out of *whole*; ``rate`` is None when there is nothing to divide by."""

    part: int
    whole: int

    @property
    def rate(self) -> float | None:
        """part / whole, or None when whole is 0."""
        return self.part / self.whole if self.whole else None

    @property
    def percent(self) -> float | None:
        """The rate in per cent, to one decimal place (None when whole is 0)."""
        return None if self.rate is None else round(self.rate * 100, 1)


@dataclass(frozen=True)
class RegistryFigures:
    """Workshops on file (see :func:`registry_figures`)."""

    filed: int
    in_zone: int
    upgraded: int
    suspended: int
    cert_expiring: int
    by_status: dict[WorkshopStatus, int]


@dataclass(frozen=True)
class CategoryRate:
    """The qualification rate of one product category."""

    code: str
    name_zh: str
    name_en: str
    qualified: Ratio

    @property
    def failed(self) -> int:
        """Samples of the category judged unqualified."""
        return self.qualified.whole - self.qualified.part


@dataclass(frozen=True)
class Qualification:
    """This year's product qualification rate, overall and by category."""

    year: int
    overall: Ratio
    by_category: list[CategoryRate]

    @property
    def failed(self) -> int:
        """Samples judged unqualified."""
        return self.overall.whole - self.overall.part


@dataclass(frozen=True)
class LedgerCompleteness:
    """A zone workshop's complete days over the last 7 and 30 finished days."""

    workshop_id: int
    name: str
    registration_no: str
    last_7: Ratio
    last_30: Ratio


@dataclass(frozen=True)
class OverdueHazard:
    """A hazard whose rectification deadline has passed and that is not closed."""

    id: int
    workshop_id: int
    workshop_name: str
    item: ChecklistItem
    description: str
    deadline: date
    status: HazardStatus
    days_overdue: int

    @property
    def item_name(self) -> str:
        """The checklist item's Chinese name (a msgid)."""
        return CHECKLIST_ITEM_NAMES.get(self.item, str(self.item))


@dataclass(frozen=True)
class Overdue:
    """Overdue rectifications: how many, and the first of them by deadline."""

    count: int
    hazards: list[OverdueHazard]


@dataclass(frozen=True)
class Cameras:
    """Cameras of the workshops on file: online now, enabled, all."""

    online: int
    enabled: int
    total: int

    @property
    def online_ratio(self) -> Ratio:
        """Online cameras out of enabled ones."""
        return Ratio(self.online, self.enabled)


@dataclass(frozen=True)
class ScanDay:
    """Scans recorded on one local day."""

    day: date
    scans: int


@dataclass
class Dashboard:
    """Every figure of the dashboard, as of *today* (a local date)."""

    today: date
    registry: RegistryFigures
    coverage: Ratio
    qualification: Qualification
    ledgers: list[LedgerCompleteness]
    overdue: Overdue
    cameras: Cameras
    scans: list[ScanDay] = field(default_factory=list)

    @property
    def year(self) -> int:
        """The year the yearly figures cover."""
        return self.today.year

    @property
    def ledger_until(self) -> date:
        """The last day ledger completeness covers (yesterday: today is not over)."""
        return self.today - timedelta(days=1)

    @property
    def scans_total(self) -> int:
        """Scans over the days shown."""
        return sum(day.scans for day in self.scans)


# -- helpers -------------------------------------------------------------------------------


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The local *day* as the aware interval [start, end)."""
    start = datetime.combine(day, time.min, tzinfo=SHANGHAI)
    return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=SHANGHAI)


def days_table(first: date, last: date, name: str = "days"):
    """The local days from *first* to *last* as a small table (CTE) of bound values:
    ``day`` (DATE), ``starts_at`` and ``ends_at`` (the day's UTC bounds).

    Built as SELECT … UNION ALL SELECT … so that it reads the same on SQLite and PostgreSQL.
    """
    rows = []
    day = first
    # SQLite keeps dates as text, and CAST(… AS DATE) would make a number of it.
    typed = _dialect() != "sqlite"
    while day <= last:
        start, end = day_bounds(day)
        rows.append(
            select(
                (cast(literal(day, Date), Date) if typed else literal(day, Date)).label("day"),
                literal(start, UTCDateTime()).label("starts_at"),
                literal(end, UTCDateTime()).label("ends_at"),
            )
        )
        day += timedelta(days=1)
    if not rows:
        raise ValueError("empty range of days")
    query = rows[0] if len(rows) == 1 else union_all(*rows)
    return query.cte(name)


def _dialect() -> str:
    """The name of the database's dialect (sqlite or postgresql)."""
    return db.session.get_bind().dialect.name


# -- registry ------------------------------------------------------------------------------


def registry_figures(today: date | None = None) -> RegistryFigures:
    """Workshops on file, by one GROUP BY status query.

    - ``filed``: workshops whose status is not cancelled (filed, active, suspended, upgraded);
    - ``in_zone``: of those, the ones in a centralized processing zone (``zone_id`` set);
    - ``upgraded``: status upgraded (grown into an enterprise with a production licence);
    - ``suspended``: status suspended (ordered to stop and rectify);
    - ``cert_expiring``: not cancelled, not upgraded, not long-term, and the registration
      certificate's ``cert_valid_until`` is on or before *today* + 30 days (ended or ending);
    - ``by_status``: workshops of each status, cancelled included (0 for a status without).
    """
    today = today or local_today()
    expiring = and_(
        Workshop.status != WorkshopStatus.UPGRADED,
        Workshop.cert_long_term.is_(False),
        Workshop.cert_valid_until <= today + timedelta(days=EXPIRING_DAYS),
    )
    rows = db.session.execute(
        select(
            Workshop.status,
            func.count(Workshop.id),
            func.sum(case((Workshop.zone_id.is_not(None), 1), else_=0)),
            func.sum(case((expiring, 1), else_=0)),
        ).group_by(Workshop.status)
    ).all()
    by_status = {status: 0 for status in WorkshopStatus}
    in_zone = expiring_count = 0
    for status, count, zoned, ending in rows:  # one row per status, at most five
        by_status[status] = count
        if status is not WorkshopStatus.CANCELLED:
            in_zone += zoned or 0
            expiring_count += ending or 0
    return RegistryFigures(
        filed=sum(n for s, n in by_status.items() if s is not WorkshopStatus.CANCELLED),
        in_zone=in_zone,
        upgraded=by_status[WorkshopStatus.UPGRADED],
        suspended=by_status[WorkshopStatus.SUSPENDED],
        cert_expiring=expiring_count,
        by_status=by_status,
    )


# -- inspections ---------------------------------------------------------------------------


def inspection_coverage(year: int) -> Ratio:
    """This year's inspection coverage.

    ``whole``: workshops on file, i.e. whose status is not cancelled (filed, active,
    suspended or upgraded: every workshop the bureau supervises). ``part``: those of them
    with at least one inspection whose ``inspected_on`` falls in *year* (1 January to
    31 December; ``inspected_on`` is already a local date). Several inspections of one
    workshop count once. One query: COUNT and SUM(CASE WHEN EXISTS …).
    """
    inspected = (
        exists()
        .where(
            Inspection.workshop_id == Workshop.id,
            Inspection.inspected_on >= date(year, 1, 1),
            Inspection.inspected_on <= date(year, 12, 31),
        )
        .correlate(Workshop)
    )
    whole, part = db.session.execute(
        select(func.count(Workshop.id), func.sum(case((inspected, 1), else_=0))).where(
            Workshop.status != WorkshopStatus.CANCELLED
        )
    ).one()
    return Ratio(int(part or 0), int(whole or 0))


# -- samples -------------------------------------------------------------------------------


def _judged_samples(year: int):
    """One row per lab sample of *year* with a final verdict: sample_id, category_code,
    results (its live results), failed (how many of them fail). A subquery."""
    start = datetime(year, 1, 1, tzinfo=SHANGHAI)
    end = datetime(year + 1, 1, 1, tzinfo=SHANGHAI)
    newer = aliased(TestResult, name="newer")
    superseded = select(newer.supersedes_id).where(newer.supersedes_id.is_not(None))
    passed = func.sum(case((TestResult.verdict == Verdict.PASS, 1), else_=0))
    failed = func.sum(case((TestResult.verdict == Verdict.FAIL, 1), else_=0))
    return (
        select(
            Sample.id.label("sample_id"),
            Product.category_code.label("category_code"),
            func.count(TestResult.id).label("results"),
            failed.label("failed"),
        )
        .join(Product, Product.id == Sample.product_id)
        .join(TestResult, TestResult.sample_id == Sample.id)
        .where(
            Sample.kind == TestKind.LAB,
            Sample.status == SampleStatus.COMPLETED,
            Sample.sampled_at >= start,
            Sample.sampled_at < end,
            TestResult.id.not_in(superseded),
        )
        .group_by(Sample.id, Product.category_code)
        .having(passed + failed == func.count(TestResult.id))
        .subquery("judged")
    )


def qualification_rate(year: int) -> Qualification:
    """This year's product qualification rate, overall and by product category.

    A sample counts when it is a **lab** sample (rapid screens are left out: they only
    screen), sampled in *year* (its ``sampled_at`` in Asia/Shanghai), **completed**, and
    has a **final verdict**: at least one live result and every live result pass or fail
    (none pending). Live results are those no correction supersedes (a result named by
    another's ``supersedes_id`` no longer counts, as in ``quality.sampling``). Every task
    source counts (municipal, district, special, alliance, self-check) and so do the
    lab-confirmation samples of rapid screens.

    ``whole``: such samples; ``part``: those whose live results **all pass**. By category:
    the same, grouped by the sampled product's category. Two GROUP BY queries over one
    GROUP BY sample subquery.
    """
    judged = _judged_samples(year)
    qualified = func.sum(case((judged.c.failed == 0, 1), else_=0))
    whole, part = db.session.execute(select(func.count(judged.c.sample_id), qualified)).one()
    rows = db.session.execute(
        select(
            ProductCategory.code,
            ProductCategory.name_zh,
            ProductCategory.name_en,
            func.count(judged.c.sample_id),
            qualified,
        )
        .join(ProductCategory, ProductCategory.code == judged.c.category_code)
        .group_by(ProductCategory.code, ProductCategory.name_zh, ProductCategory.name_en)
        .order_by(ProductCategory.code)
    ).all()
    return Qualification(
        year=year,
        overall=Ratio(int(part or 0), int(whole or 0)),
        by_category=[
            CategoryRate(code, zh, en, Ratio(int(ok or 0), int(n))) for code, zh, en, n, ok in rows
        ],
    )


# -- ledgers -------------------------------------------------------------------------------


def _names_staff(entry, staff):
    """SQL: a morning check *entry* lists the *staff* member, as checklist._names_staff
    reads it: a line (an object in ``payload.checks``, which must be a list) whose
    ``staff_id`` is a number equal to the staff member's id, or, for a line without a
    ``staff_id`` (missing or null), whose ``staff`` is the staff member's name."""
    if _dialect() == "postgresql":
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


def _ledger_items(days, shops):
    """Every item owed by a producing zone workshop on each day, with whether it is done:
    rows of (workshop_id, day, done) where done is 1 or 0. The rules of
    ``backend.ledgers.checklist`` (see :func:`ledger_days`), one SELECT per ledger."""
    K = LedgerKind
    entry = aliased(LedgerEntry, name="entry")
    correction = aliased(LedgerEntry, name="correction")
    corrected = select(correction.corrects_id).where(correction.corrects_id.is_not(None))

    def done(kind: LedgerKind, workshop_id, *conditions):
        """1 when a live entry of *kind* of the workshop meets *conditions*, else 0."""
        recorded = exists().where(
            entry.workshop_id == workshop_id,
            entry.kind == kind,
            entry.id.not_in(corrected),
            *conditions,
        )
        return case((recorded, 1), else_=0).label("done")

    def item(workshop_id, flag):
        """The columns every item's SELECT gives."""
        return select(workshop_id.label("workshop_id"), days.c.day.label("day"), flag)

    on_duty = exists().where(
        HealthCertificate.staff_id == Staff.id,
        HealthCertificate.issued_on <= days.c.day,
        HealthCertificate.expires_on >= days.c.day,
    )
    morning_checks = (
        item(
            Staff.workshop_id,
            done(
                K.MORNING_CHECK,
                Staff.workshop_id,
                entry.business_date == days.c.day,
                _names_staff(entry, Staff),
            ),
        )
        .select_from(Staff)
        .join(shops, shops.c.id == Staff.workshop_id)
        .join(days, true())
        .where(Staff.active.is_(True), on_duty)
    )
    acceptances = (
        item(
            RawMaterialLot.workshop_id,
            done(
                K.RAW_ACCEPTANCE, RawMaterialLot.workshop_id, entry.raw_lot_id == RawMaterialLot.id
            ),
        )
        .select_from(RawMaterialLot)
        .join(shops, shops.c.id == RawMaterialLot.workshop_id)
        .join(days, days.c.day == RawMaterialLot.purchased_on)
    )
    # A batch is open on a day when it entered in_production before the day ended and did
    # not leave it before the day began; one without any history when it is in production
    # now and was produced on or before the day (checklist.open_batches).
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
    open_on_day = or_(
        and_(entered, ~left_before),
        and_(
            Batch.state == BatchState.IN_PRODUCTION,
            no_history,
            or_(Batch.produced_on.is_(None), Batch.produced_on <= days.c.day),
        ),
    )
    productions = (
        item(
            Batch.workshop_id,
            done(
                K.PRODUCTION,
                Batch.workshop_id,
                entry.business_date == days.c.day,
                entry.batch_id == Batch.id,
            ),
        )
        .select_from(Batch)
        .join(shops, shops.c.id == Batch.workshop_id)
        .join(days, true())
        .where(open_on_day)
    )
    sibling = aliased(Batch, name="sibling")
    uses_additives = exists(
        select(AdditiveUse.id)
        .join(sibling, sibling.id == AdditiveUse.batch_id)
        .where(sibling.product_id == Batch.product_id)
    )
    additive_uses = (
        item(
            Batch.workshop_id,
            done(
                K.ADDITIVE_USE,
                Batch.workshop_id,
                entry.batch_id == Batch.id,
                entry.business_date <= days.c.day,
            ),
        )
        .select_from(Batch)
        .join(shops, shops.c.id == Batch.workshop_id)
        .join(days, true())
        .where(open_on_day, uses_additives)
    )
    cleanings = (
        item(shops.c.id, done(K.CLEANING, shops.c.id, entry.business_date == days.c.day))
        .select_from(shops)
        .join(days, true())
    )
    sales = (
        item(
            Shipment.workshop_id,
            done(K.SALE, Shipment.workshop_id, entry.shipment_id == Shipment.id),
        )
        .select_from(Shipment)
        .join(shops, shops.c.id == Shipment.workshop_id)
        .join(days, days.c.day == Shipment.shipped_on)
    )
    return union_all(
        morning_checks, acceptances, productions, additive_uses, cleanings, sales
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


# -- hazards, cameras, scans ---------------------------------------------------------------


def overdue_rectifications(today: date | None = None, limit: int = OVERDUE_LISTED) -> Overdue:
    """Overdue rectifications: hazards whose status is not closed (open or rectifying) and
    whose ``deadline`` is before *today* (a hazard due today is not overdue yet).

    ``count`` is a COUNT over all of them; ``hazards`` lists the first *limit* by deadline
    (oldest first), with their workshop and the days past the deadline.
    """
    today = today or local_today()
    overdue = and_(Hazard.status != HazardStatus.CLOSED, Hazard.deadline < today)
    count = db.session.scalar(select(func.count(Hazard.id)).where(overdue)) or 0
    rows = db.session.execute(
        select(
            Hazard.id,
            Hazard.workshop_id,
            Workshop.name,
            Hazard.item,
            Hazard.description,
            Hazard.deadline,
            Hazard.status,
        )
        .join(Workshop, Workshop.id == Hazard.workshop_id)
        .where(overdue)
        .order_by(Hazard.deadline, Hazard.id)
        .limit(limit)
    ).all()
    return Overdue(
        count=count,
        hazards=[OverdueHazard(*row, days_overdue=(today - row.deadline).days) for row in rows],
    )


def cameras_online() -> Cameras:
    """Cameras of workshops on file (not cancelled): ``total``, ``enabled`` (switched on
    by their workshop or the bureau) and ``online`` now: enabled and ``is_live`` (the
    streaming server reported the stream published and not yet ended). One query."""
    total, enabled, online = db.session.execute(
        select(
            func.count(Camera.id),
            func.sum(case((Camera.enabled.is_(True), 1), else_=0)),
            func.sum(case((and_(Camera.enabled.is_(True), Camera.is_live.is_(True)), 1), else_=0)),
        )
        .join(Workshop, Workshop.id == Camera.workshop_id)
        .where(Workshop.status != WorkshopStatus.CANCELLED)
    ).one()
    return Cameras(online=int(online or 0), enabled=int(enabled or 0), total=int(total or 0))


def scans_per_day(today: date | None = None, days: int = SCAN_DAYS) -> list[ScanDay]:
    """Scans per local day over the last *days* days, today included, oldest first.

    A scan belongs to the Asia/Shanghai day of its ``scanned_at`` (stored in UTC: 23:30 in
    Beijing is 15:30 UTC the same day, 00:30 is 16:30 UTC the day before). Days without
    scans give 0. Scan events the recorder has not flushed yet are not counted. One query:
    the days LEFT JOIN scan_events on the day's UTC bounds, GROUP BY day.
    """
    today = today or local_today()
    table = days_table(today - timedelta(days=days - 1), today, "scan_days")
    rows = db.session.execute(
        select(table.c.day, func.count(ScanEvent.id))
        .select_from(table)
        .outerjoin(
            ScanEvent,
            and_(ScanEvent.scanned_at >= table.c.starts_at, ScanEvent.scanned_at < table.c.ends_at),
        )
        .group_by(table.c.day)
        .order_by(table.c.day)
    ).all()
    return [ScanDay(day=day, scans=count) for day, count in rows]


# -- the page ------------------------------------------------------------------------------


def require_viewer(user: User | None) -> None:
    """Forbidden unless *user* is a regulator or an inspector."""
    if user is None or user.role not in (Role.REGULATOR, Role.INSPECTOR):
        raise Forbidden(_("只有监管和检验人员可以查看监管总览。"), slug="staff_only")


def overview(*, by: User, today: date | None = None) -> Dashboard:
    """Every figure of the dashboard as of *today* (local), for a regulator or inspector."""
    require_viewer(by)
    today = today or local_today()
    return Dashboard(
        today=today,
        registry=registry_figures(today),
        coverage=inspection_coverage(today.year),
        qualification=qualification_rate(today.year),
        ledgers=ledger_completeness(today),
        overdue=overdue_rectifications(today),
        cameras=cameras_online(),
        scans=scans_per_day(today),
    )
