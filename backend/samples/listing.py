"""Samples as regulators and inspectors look them up: filtered lists, one page at a time,
and the results export (one row per result that counts, formulas neutralised, audited).

A workshop's own self-checks are listed for its operators through :func:`self_checks`.
Filters come from query strings: a value that cannot be read narrows nothing and is named
in :attr:`Filtered.ignored`, so an odd link never fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased, selectinload

from backend.accounts.models import Role, User
from backend.accounts.permissions import require_role
from backend.audit.log import record
from backend.batches.models import Batch
from backend.core.errors import NotFound
from backend.core.i18n import N_
from backend.core.i18n import gettext as _
from backend.core.pages import Page, clamp_page
from backend.core.spreadsheets import render
from backend.core.time import SHANGHAI, local_today
from backend.extensions import db
from backend.registry.models import Product, Workshop
from backend.samples.announcements import TASK_SOURCE_NAMES, reading_text, standard_text
from backend.samples.confirmation import (
    CONFIRMATION_SUFFIX,
    awaiting_confirmation,
    confirmation_of,
)
from backend.samples.lookup import live_results, require_reader
from backend.samples.models import Sample, SampleStatus, TaskSource, TestKind, TestResult, Verdict

PER_PAGE = 50
EXPORT_MAX_ROWS = 50_000
NO_RESULT = "none"  # the verdict filter's value for samples without a result yet
# Who looks through every sample (a workshop's operators read only their own self-checks).
STAFF = (Role.REGULATOR, Role.INSPECTOR)
STAFF_ONLY = N_("只有监管和检验人员可以查看抽检记录。")


KIND_NAMES = {TestKind.LAB: N_("实验室检测"), TestKind.RAPID: N_("快检")}
STATUS_NAMES = {
    SampleStatus.COLLECTED: N_("已抽样"),
    SampleStatus.TESTING: N_("检测中"),
    SampleStatus.COMPLETED: N_("已完成"),
}
VERDICT_NAMES = {
    Verdict.PASS: N_("合格"),
    Verdict.FAIL: N_("不合格"),
    Verdict.POSITIVE_SCREEN: N_("快检阳性，待复检"),
    Verdict.PENDING: N_("待判定"),
}
# Worst first: what a sample's results come to in the list.
VERDICT_ORDER = (Verdict.FAIL, Verdict.POSITIVE_SCREEN, Verdict.PENDING, Verdict.PASS)
EXPORT_HEADER = (
    N_("样品编号"),
    N_("抽样日期"),
    N_("作坊"),
    N_("登记证编号"),
    N_("产品"),
    N_("批次"),
    N_("任务来源"),
    N_("检验机构"),
    N_("检测类型"),
    N_("检测项目"),
    N_("检测方法"),
    N_("检测值"),
    N_("单位"),
    N_("标准值"),
    N_("判定依据"),
    N_("限量值已核对"),
    N_("结论"),
)


@dataclass
class SampleFilter:
    """What the list is narrowed to, as typed in the query string; empty fields do not narrow."""

    workshop_id: str = ""
    kind: str = ""
    task_source: str = ""
    verdict: str = ""
    status: str = ""
    sampled_from: str = ""
    sampled_to: str = ""
    awaiting: str = ""  # "1": only samples waiting for the lab to confirm a screen
    q: str = ""  # part of a sample or batch number


@dataclass
class Filtered:
    """A filter read into values; *ignored* names the fields that could not be read."""

    workshop_id: int | None = None
    kind: TestKind | None = None
    task_source: TaskSource | None = None
    verdict: Verdict | str | None = None
    status: SampleStatus | None = None
    sampled_from: date | None = None
    sampled_to: date | None = None
    awaiting: bool = False
    q: str = ""
    ignored: list[str] = field(default_factory=list)


def workshops() -> list[Workshop]:
    """Every filed workshop, by name (for the list's filter)."""
    return list(db.session.scalars(select(Workshop).order_by(Workshop.name)).all())


def _enum(enum, text: str, name: str, ignored: list[str]):
    """*text* as a member of *enum* (None when empty or unknown, noted in *ignored*)."""
    if not text:
        return None
    try:
        return enum(text)
    except ValueError:
        ignored.append(name)
        return None


def _date(text: str, name: str, ignored: list[str]) -> date | None:
    """*text* (2024-01-31) as a date between 2000 and 2100, else None (noted)."""
    if not text:
        return None
    try:
        value = date.fromisoformat(text)
    except ValueError:
        ignored.append(name)
        return None
    if not 2000 <= value.year <= 2100:
        ignored.append(name)
        return None
    return value


def read_filter(filters: SampleFilter) -> Filtered:
    """Read the query string's filter into values; what cannot be read is left out."""
    ignored: list[str] = []
    out = Filtered(ignored=ignored)
    text = filters.workshop_id.strip()
    if text:
        if text.isascii() and text.isdigit() and len(text) < 11 and 0 < int(text) < 2**31:
            out.workshop_id = int(text)
        else:
            ignored.append("workshop_id")
    out.kind = _enum(TestKind, filters.kind.strip(), "kind", ignored)
    out.task_source = _enum(TaskSource, filters.task_source.strip(), "task_source", ignored)
    verdict = filters.verdict.strip()
    out.verdict = NO_RESULT if verdict == NO_RESULT else _enum(Verdict, verdict, "verdict", ignored)
    out.status = _enum(SampleStatus, filters.status.strip(), "status", ignored)
    out.sampled_from = _date(filters.sampled_from.strip(), "sampled_from", ignored)
    out.sampled_to = _date(filters.sampled_to.strip(), "sampled_to", ignored)
    out.awaiting = filters.awaiting.strip() in ("1", "y", "on", "true")
    out.q = filters.q.strip()[:40]
    return out


def _live_result_ids():
    """A subquery of results no newer result supersedes."""
    newer = aliased(TestResult)
    return select(TestResult.id).where(
        TestResult.id.not_in(select(newer.supersedes_id).where(newer.supersedes_id.is_not(None)))
    )


def _local_start(day: date) -> datetime:
    """Midnight of *day* in Asia/Shanghai."""
    return datetime.combine(day, time(), tzinfo=SHANGHAI)


def _query(f: Filtered):
    """Samples matching *f* (a select, not yet ordered)."""
    query = select(Sample)
    if f.workshop_id is not None:
        query = query.where(Sample.workshop_id == f.workshop_id)
    if f.kind is not None:
        query = query.where(Sample.kind == f.kind)
    if f.task_source is not None:
        query = query.where(Sample.task_source == f.task_source)
    if f.status is not None:
        query = query.where(Sample.status == f.status)
    if f.sampled_from is not None:
        query = query.where(Sample.sampled_at >= _local_start(f.sampled_from))
    if f.sampled_to is not None:
        query = query.where(Sample.sampled_at < _local_start(f.sampled_to + timedelta(days=1)))
    live = TestResult.id.in_(_live_result_ids())
    if f.verdict == NO_RESULT:
        query = query.where(Sample.id.not_in(select(TestResult.sample_id).where(live)))
    elif f.verdict is not None:
        query = query.where(
            Sample.id.in_(select(TestResult.sample_id).where(live, TestResult.verdict == f.verdict))
        )
    if f.awaiting:
        query = query.where(Sample.id.in_(sorted(awaiting_confirmation()) or [-1]))
    if f.q:
        pattern = "%" + f.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                Sample.sample_no.ilike(pattern, escape="\\"),
                Sample.batch_id.in_(
                    select(Batch.id).where(Batch.batch_no.ilike(pattern, escape="\\"))
                ),
            )
        )
    return query


def _loaded(query):
    """*query* with what a list row shows loaded up front, newest sample first."""
    return query.options(
        selectinload(Sample.workshop),
        selectinload(Sample.product).selectinload(Product.category),
        selectinload(Sample.batch),
        selectinload(Sample.results).selectinload(TestResult.standard_limit),
    ).order_by(Sample.sampled_at.desc(), Sample.id.desc())


def search_samples(f: Filtered, *, by: User, page: int = 1, per_page: int = PER_PAGE) -> Page:
    """One page of samples matching *f*, newest first."""
    require_role(by, *STAFF, message=_(STAFF_ONLY), slug="staff_only")
    query = _query(f)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    page = clamp_page(page, total, per_page)
    items = db.session.scalars(_loaded(query).limit(per_page).offset((page - 1) * per_page)).all()
    return Page(list(items), total, page, per_page)


def summary(sample: Sample) -> Verdict | None:
    """The worst verdict among the sample's live results (None: no result yet)."""
    verdicts = {r.verdict for r in live_results(sample)}
    return next((v for v in VERDICT_ORDER if v in verdicts), None)


def has_unverified_limit(sample: Sample) -> bool:
    """Whether a live result of *sample* was judged against a limit nobody has checked yet."""
    return any(
        r.standard_limit is not None and not r.standard_limit.verified for r in live_results(sample)
    )


@dataclass
class ConfirmationLinks:
    """How a sample stands in the rapid → lab confirmation: the lab task a rapid sample
    opened, the rapid sample a lab task confirms, and the screen each lab result answers."""

    task: Sample | None = None
    screened: Sample | None = None
    answers: dict[int, Sample] = field(default_factory=dict)  # lab result id → rapid sample


def confirmation_links(sample: Sample) -> ConfirmationLinks:
    """The samples *sample* is linked to by lab confirmation, both ways."""
    links = ConfirmationLinks()
    if sample.kind is TestKind.RAPID:
        links.task = db.session.scalar(
            select(Sample).where(Sample.sample_no == f"{sample.sample_no}{CONFIRMATION_SUFFIX}")
        )
        return links
    links.screened = confirmation_of(sample)
    for result in sample.results:
        if result.confirms_id is not None:
            screen = db.session.get(TestResult, result.confirms_id)
            if screen is not None:
                links.answers[result.id] = screen.sample
    return links


def _export_rows(f: Filtered) -> list[list]:
    """The header and one row per live result of the samples matching *f*."""
    rows: list[list] = [[_(name) for name in EXPORT_HEADER]]
    for sample in db.session.scalars(_loaded(_query(f))).all():
        for result in live_results(sample):
            if isinstance(f.verdict, Verdict) and result.verdict is not f.verdict:
                continue
            limit = result.standard_limit
            rows.append(
                [
                    sample.sample_no,
                    sample.sampled_at.astimezone(SHANGHAI).date(),
                    sample.workshop.name,
                    sample.workshop.registration_no,
                    sample.product.name,
                    sample.batch.batch_no if sample.batch else "",
                    _(TASK_SOURCE_NAMES[sample.task_source]),
                    sample.testing_agency,
                    _(KIND_NAMES[sample.kind]),
                    limit.item_name_zh if limit else result.item_code,
                    result.method,
                    reading_text(result) if result.value is None else _number(result),
                    result.unit,
                    standard_text(limit) if limit else "",
                    " ".join(filter(None, [limit.standard, limit.clause])) if limit else "",
                    (_("是") if limit.verified else _("否（未经核对）")) if limit else "",
                    _(VERDICT_NAMES[result.verdict]),
                ]
            )
            if len(rows) > EXPORT_MAX_ROWS:
                return rows
    return rows


def _number(result: TestResult) -> str:
    """A measured value as text, without trailing zeros."""
    return format(result.value.normalize(), "f")


def export_results(f: Filtered, fmt: str, *, by: User) -> tuple[bytes, str]:
    """The results of the filtered samples as (CSV or XLSX bytes, file name); audited."""
    require_role(by, *STAFF, message=_(STAFF_ONLY), slug="staff_only")
    rows = _export_rows(f)
    data = render(rows, fmt, _("检测结果"))
    record(
        "results.exported",
        "samples",
        "-",
        actor=by,
        rows=len(rows) - 1,
        format=fmt,
        filters={k: str(v) for k, v in vars(f).items() if v and k != "ignored"},
    )
    return data, f"results-{local_today():%Y%m%d}.{fmt}"


def self_checks(workshop_id: int, *, by: User, page: int = 1, per_page: int = 20) -> Page:
    """A workshop's own self-checks, newest first: for its operators, inspectors, regulators."""
    require_reader(by, workshop_id)
    if db.session.get(Workshop, workshop_id) is None:
        raise NotFound(_("作坊不存在。"), slug="workshop_not_found")
    query = select(Sample).where(
        Sample.workshop_id == workshop_id, Sample.task_source == TaskSource.SELF_CHECK
    )
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    items = db.session.scalars(_loaded(query).limit(per_page).offset((page - 1) * per_page)).all()
    return Page(list(items), total, page, per_page)
