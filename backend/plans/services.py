"""Sampling plans (抽检计划) and the publication of their results (抽检信息公示).

A plan is a sampling task for a year or one quarter of it, ordered by a level of government
(its task source) and tested by one agency; its targets name the workshops, and when
wanted one product of each, that it means to sample and how many samples. Samples are
linked to a plan when they are taken (``Sample.plan_id``); a plan's progress is counted from
them with SQL aggregates.

Rules:

- Only regulators create and edit plans, add and remove targets and publish results;
  inspectors (and regulators) read. Operators see none of it.
- A plan's name is required and unique in its year; the year lies between
  :data:`EARLIEST_YEAR` and next year; the quarter is 1–4 or none (the whole year); the task
  source is a known one; the testing agency is required. Once samples are taken under a
  plan its year and task source stay as they are (the samples carry them).
- A target's workshop is on file and not cancelled; its product, when given, is one of
  that workshop's; a workshop is targeted either as a whole or product by product, and never
  twice; the planned number of samples is a whole number from 1 to :data:`MAX_PLANNED`.
  A target that samples were already taken for cannot be removed.
- Publication takes completed lab samples whose every standing result is judged; all the
  chosen samples are published, or none (see :func:`backend.samples.services.publish_sample`).

Every change is audited. Functions flush and never commit.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import aliased, selectinload

from backend.accounts.models import Role, User
from backend.audit.log import record
from backend.core.errors import Conflict, DomainError, Forbidden, NotFound, ValidationError
from backend.core.i18n import N_
from backend.core.i18n import gettext as _
from backend.core.time import SHANGHAI, local_today
from backend.extensions import db
from backend.plans.models import SamplingPlan, SamplingPlanTarget
from backend.registry.models import Product, Workshop, WorkshopStatus
from backend.samples import services as sampling
from backend.samples.models import Sample, SampleStatus, TaskSource, TestKind, TestResult, Verdict

EARLIEST_YEAR = 2000  # the registry's earliest certificates; no plan is older
MAX_PLANNED = 100  # samples of one workshop (or product) in one plan, at most
MAX_ID = 2**31 - 1
MAX_PUBLISH = 500  # samples published in one go, at most
QUARTERS = (1, 2, 3, 4)
# Who may order a plan: every task source but a workshop's own check, which its operators
# record themselves, outside any plan.
PLAN_SOURCES = tuple(s for s in TaskSource if s is not TaskSource.SELF_CHECK)


# The disclaimer every announcement carries; the same words as the public announcement
# (backend.samples.services.announcements), so both share one translation.
DISCLAIMER = sampling.DISCLAIMER

QUARTER_LABELS = {
    None: N_("全年"),
    1: N_("第一季度"),
    2: N_("第二季度"),
    3: N_("第三季度"),
    4: N_("第四季度"),
}


class Errors(dict):
    """Field → messages, filled as rules are checked."""

    def add(self, name: str, message: str) -> None:
        """Note that *name* breaks a rule."""
        self.setdefault(name, []).append(message)


def _refuse(errors: Errors) -> None:
    """Raise the ValidationError for *errors*, if there are any."""
    if errors:
        raise ValidationError(
            _("提交的信息有误，请按提示修改，未保存任何内容。"),
            slug="plan_invalid",
            errors=dict(errors),
        )


# --- who may do what --------------------------------------------------------------------


def require_regulator(user: User | None) -> None:
    """Forbidden unless *user* is a regulator (the only ones who change plans or publish)."""
    if user is None or user.role is not Role.REGULATOR:
        raise Forbidden(_("只有监管人员可以制定抽检计划和公示抽检结果。"), slug="regulator_only")


def require_reader(user: User | None) -> None:
    """Forbidden unless *user* is a regulator or an inspector (who may read plans)."""
    if user is None or user.role not in (Role.REGULATOR, Role.INSPECTOR):
        raise Forbidden(_("只有监管和检验人员可以查看抽检计划。"), slug="staff_only")


# --- inputs -----------------------------------------------------------------------------


@dataclass
class PlanInput:
    """What a regulator writes about a plan."""

    year: int | None = None
    quarter: int | None = None  # None: the whole year
    name: str = ""
    task_source: str = ""
    testing_agency: str = ""
    notes: str = ""


@dataclass
class TargetInput:
    """A workshop (and optionally one of its products) to sample, and how many times."""

    workshop_id: int | None = None
    product_id: int | None = None  # None: any product of the workshop
    planned_samples: int | None = None


def _text(
    errors: Errors,
    name: str,
    value: str,
    limit: int,
    *,
    required: bool = True,
    lines: bool = False,
) -> str:
    """Trim *value*; note it when missing, too long or holding control characters (line
    breaks are allowed when *lines*)."""
    value = (value or "").strip()
    allowed = "\r\n" if lines else ""
    if required and not value:
        errors.add(name, _("必填。"))
    elif len(value) > limit:
        errors.add(name, _("不能超过 %(limit)d 个字符。", limit=limit))
    elif any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in value):
        errors.add(name, _("不能包含制表符等控制字符。"))
    return value


def latest_year() -> int:
    """The latest year a plan may be for: next year (plans are drawn up ahead)."""
    return local_today().year + 1


def _plan_has_samples(plan_id: int) -> bool:
    """Whether any sample was taken under plan *plan_id*."""
    return (
        db.session.scalar(select(Sample.id).where(Sample.plan_id == plan_id).limit(1)) is not None
    )


def check_plan(data: PlanInput, plan: SamplingPlan | None = None) -> Errors:
    """Every rule a plan must meet; returns the errors (empty when none).

    Trims the texts of *data* in place and reads the task source into a TaskSource.
    """
    errors = Errors()
    data.name = _text(errors, "name", data.name, 100)
    data.testing_agency = _text(errors, "testing_agency", data.testing_agency, 100)
    data.notes = _text(errors, "notes", data.notes, 2000, required=False, lines=True)
    if data.year is None:
        errors.add("year", _("必填，如 %(year)d。", year=local_today().year))
    elif not EARLIEST_YEAR <= data.year <= latest_year():
        errors.add(
            "year",
            _("年度须在 %(low)d 至 %(high)d 之间。", low=EARLIEST_YEAR, high=latest_year()),
        )
    if data.quarter is not None and data.quarter not in QUARTERS:
        errors.add("quarter", _("季度须为 1 至 4，或选择全年。"))
    source = str(data.task_source or "").strip()
    if not source:
        errors.add("task_source", _("请选择任务来源。"))
    elif source == TaskSource.SELF_CHECK.value:
        errors.add("task_source", _("作坊自检由作坊自行登记，不列入抽检计划。"))
    elif source not in {s.value for s in PLAN_SOURCES}:
        errors.add("task_source", _("未知的任务来源。"))
    else:
        data.task_source = TaskSource(source)
    if data.name and "name" not in errors and "year" not in errors:
        taken = select(SamplingPlan.id).where(
            SamplingPlan.year == data.year, SamplingPlan.name == data.name
        )
        if plan is not None:
            taken = taken.where(SamplingPlan.id != plan.id)
        if db.session.scalar(taken) is not None:
            errors.add(
                "name",
                _("%(year)d 年已有名为“%(name)s”的抽检计划。", year=data.year, name=data.name),
            )
    if plan is not None and _plan_has_samples(plan.id):
        if "year" not in errors and data.year != plan.year:
            errors.add("year", _("该计划下已有样品，不能更改年度。"))
        if "task_source" not in errors and data.task_source is not plan.task_source:
            errors.add("task_source", _("该计划下已有样品，不能更改任务来源。"))
    return errors


# --- plans ------------------------------------------------------------------------------


def create_plan(data: PlanInput, *, by: User) -> SamplingPlan:
    """Draw up a new sampling plan (regulators only)."""
    require_regulator(by)
    _refuse(check_plan(data))
    plan = SamplingPlan(
        year=data.year,
        quarter=data.quarter,
        name=data.name,
        task_source=data.task_source,
        testing_agency=data.testing_agency,
        notes=data.notes,
    )
    db.session.add(plan)
    db.session.flush()
    record(
        "sampling_plan.created",
        "sampling_plan",
        plan.id,
        actor=by,
        year=plan.year,
        quarter=plan.quarter,
        name=plan.name,
        task_source=plan.task_source,
    )
    return plan


def update_plan(plan_id: int, data: PlanInput, *, by: User) -> SamplingPlan:
    """Change a plan's name, period, source, agency or notes (regulators only); audited."""
    require_regulator(by)
    plan = get_plan(plan_id, by=by)
    _refuse(check_plan(data, plan))
    changes = {}
    for name in ("year", "quarter", "name", "task_source", "testing_agency", "notes"):
        old, new = getattr(plan, name), getattr(data, name)
        if old != new:
            changes[name] = [old, new]
            setattr(plan, name, new)
    db.session.flush()
    if changes:
        record("sampling_plan.updated", "sampling_plan", plan.id, actor=by, changes=changes)
    return plan


def get_plan(plan_id: int, *, by: User) -> SamplingPlan:
    """The plan *plan_id* with its targets, their workshops and products, or NotFound."""
    require_reader(by)
    plan = (
        db.session.scalar(
            select(SamplingPlan)
            .options(
                selectinload(SamplingPlan.targets).selectinload(SamplingPlanTarget.workshop),
                selectinload(SamplingPlan.targets).selectinload(SamplingPlanTarget.product),
            )
            .where(SamplingPlan.id == plan_id)
        )
        if 0 < plan_id <= MAX_ID
        else None
    )
    if plan is None:
        raise NotFound(_("抽检计划不存在。"), slug="plan_not_found")
    return plan


@dataclass
class Progress:
    """How far sampling has come: planned, taken, completed, passed and failed samples.

    A sample has passed when it is completed and every standing result passed; it has
    failed when a standing result failed (only a lab result fails). Completed samples that
    did neither await a judgement or a lab confirmation (``unsettled``). ``fulfilled`` counts
    the samples that meet the plan: those taken for each target, up to its planned number.
    """

    planned: int = 0
    taken: int = 0
    completed: int = 0
    passed: int = 0
    failed: int = 0
    fulfilled: int = 0

    @property
    def unsettled(self) -> int:
        """Completed samples neither passed nor failed (a positive screen, a pending item)."""
        return self.completed - self.passed - self.failed

    @property
    def remaining(self) -> int:
        """Samples still to take to meet the plan."""
        return self.planned - self.fulfilled

    @property
    def percent(self) -> int:
        """How much of the plan is met, as a whole percentage."""
        return self.fulfilled * 100 // self.planned if self.planned else 0


@dataclass
class PlanRow:
    """A plan in the list, with its number of targets and its progress."""

    plan: SamplingPlan
    targets: int
    progress: Progress


@dataclass
class TargetRow:
    """A target of a plan and the samples taken for it."""

    target: SamplingPlanTarget
    progress: Progress


@dataclass
class PlanProgress:
    """A plan's targets with their progress, the plan's totals and the samples no target
    covers (taken under the plan for a workshop or product it does not name)."""

    plan: SamplingPlan
    rows: list[TargetRow]
    total: Progress
    off_target: int


def _sample_flags():
    """Per sample: whether a standing result failed, and whether one did not pass."""
    newer = aliased(TestResult)
    standing = TestResult.id.not_in(
        select(newer.supersedes_id).where(newer.supersedes_id.is_not(None))
    )
    return (
        select(
            TestResult.sample_id.label("sample_id"),
            func.max(case((TestResult.verdict == Verdict.FAIL, 1), else_=0)).label("failed"),
            func.max(case((TestResult.verdict != Verdict.PASS, 1), else_=0)).label("unpassed"),
        )
        .where(standing)
        .group_by(TestResult.sample_id)
        .subquery()
    )


def _counts(flags):
    """The aggregate columns counting taken, completed, passed and failed samples."""
    completed = Sample.status == SampleStatus.COMPLETED

    def total(condition):
        """How many samples meet *condition*."""
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    return (
        func.count(Sample.id),
        total(completed),
        total(and_(completed, flags.c.unpassed == 0)),
        total(and_(completed, flags.c.failed == 1)),
    )


def _target_progress(plan_ids: list[int], flags) -> dict[int, tuple[int, Progress]]:
    """Per target of the plans *plan_ids*: its plan's id and its progress (one query).

    A sample counts for a target when it was taken under the target's plan from its
    workshop and, when the target names a product, of that product.
    """
    target = SamplingPlanTarget
    rows = db.session.execute(
        select(target.id, target.plan_id, target.planned_samples, *_counts(flags))
        .select_from(target)
        .outerjoin(
            Sample,
            and_(
                Sample.plan_id == target.plan_id,
                Sample.workshop_id == target.workshop_id,
                or_(target.product_id.is_(None), Sample.product_id == target.product_id),
            ),
        )
        .outerjoin(flags, flags.c.sample_id == Sample.id)
        .where(target.plan_id.in_(plan_ids))
        .group_by(target.id, target.plan_id, target.planned_samples)
    ).all()
    found = {}
    for target_id, plan_id, planned, taken, completed, passed, failed in rows:
        progress = Progress(planned, taken, int(completed), int(passed), int(failed))
        progress.fulfilled = min(taken, planned)
        found[target_id] = (plan_id, progress)
    return found


def _plan_totals(plan_ids: list[int], flags) -> dict[int, tuple[int, int, int, int]]:
    """Per plan: samples taken, completed, passed and failed under it (one query)."""
    rows = db.session.execute(
        select(Sample.plan_id, *_counts(flags))
        .select_from(Sample)
        .outerjoin(flags, flags.c.sample_id == Sample.id)
        .where(Sample.plan_id.in_(plan_ids))
        .group_by(Sample.plan_id)
    ).all()
    return {row[0]: tuple(int(n) for n in row[1:]) for row in rows}


def _plan_total(targets: list[Progress], totals: tuple[int, int, int, int]) -> Progress:
    """A plan's progress: what its targets plan and meet, what was taken under it."""
    total = Progress(sum(t.planned for t in targets), *totals)
    total.fulfilled = sum(t.fulfilled for t in targets)
    return total


def plan_progress(plan: SamplingPlan, *, by: User) -> PlanProgress:
    """Each target's progress, and the plan's, counted by the database (two queries)."""
    require_reader(by)
    flags = _sample_flags()
    per_target = _target_progress([plan.id], flags)
    rows = [
        TargetRow(t, per_target[t.id][1] if t.id in per_target else Progress(t.planned_samples))
        for t in plan.targets
    ]
    total = _plan_total(
        [r.progress for r in rows], _plan_totals([plan.id], flags).get(plan.id, (0, 0, 0, 0))
    )
    covered = sum(r.progress.taken for r in rows)  # a sample counts for one target at most
    return PlanProgress(plan, rows, total, total.taken - covered)


def list_plans(
    *, by: User, year: int | None = None, task_source: TaskSource | None = None
) -> list[PlanRow]:
    """Plans of *year* and *task_source* (None: every one), newest first, with their progress
    (three queries whatever the number of plans, targets and samples)."""
    require_reader(by)
    query = select(SamplingPlan)
    if year is not None:
        query = query.where(SamplingPlan.year == year)
    if task_source is not None:
        query = query.where(SamplingPlan.task_source == task_source)
    found = db.session.scalars(
        query.order_by(
            SamplingPlan.year.desc(),
            func.coalesce(SamplingPlan.quarter, 0),
            SamplingPlan.name,
        )
    ).all()
    if not found:
        return []
    ids = [p.id for p in found]
    flags = _sample_flags()
    targets: dict[int, list[Progress]] = {}
    for plan_id, progress in _target_progress(ids, flags).values():
        targets.setdefault(plan_id, []).append(progress)
    totals = _plan_totals(ids, flags)
    return [
        PlanRow(
            plan,
            len(targets.get(plan.id, [])),
            _plan_total(targets.get(plan.id, []), totals.get(plan.id, (0, 0, 0, 0))),
        )
        for plan in found
    ]


def plan_years(*, by: User) -> list[int]:
    """The years that have plans, and this year, newest first (for the year filter)."""
    require_reader(by)
    years = set(db.session.scalars(select(SamplingPlan.year).distinct()))
    years.add(local_today().year)
    return sorted(years, reverse=True)


# --- targets ----------------------------------------------------------------------------


def check_target(plan: SamplingPlan, data: TargetInput) -> Errors:
    """Every rule a new target of *plan* must meet; returns the errors (empty when none)."""
    errors = Errors()
    workshop = None
    if data.workshop_id is None:
        errors.add("workshop_id", _("请选择作坊。"))
    else:
        workshop = (
            db.session.get(Workshop, data.workshop_id) if 0 < data.workshop_id <= MAX_ID else None
        )
        if workshop is None:
            errors.add("workshop_id", _("作坊不存在。"))
        elif workshop.status is WorkshopStatus.CANCELLED:
            errors.add(
                "workshop_id", _("作坊“%(name)s”已注销登记，不能列入抽检计划。", name=workshop.name)
            )
    product = None
    if data.product_id is not None:
        product = (
            db.session.get(Product, data.product_id) if 0 < data.product_id <= MAX_ID else None
        )
        if product is None:
            errors.add("product_id", _("产品不存在。"))
        elif workshop is not None and product.workshop_id != workshop.id:
            errors.add(
                "product_id",
                _(
                    "“%(product)s”不是作坊“%(name)s”的产品。",
                    product=product.name,
                    name=workshop.name,
                ),
            )
    if data.planned_samples is None:
        errors.add("planned_samples", _("请填写计划抽样数。"))
    elif not 1 <= data.planned_samples <= MAX_PLANNED:
        errors.add(
            "planned_samples", _("计划抽样数须为 1 至 %(max)d 之间的整数。", max=MAX_PLANNED)
        )
    if workshop is not None and not errors:
        _check_overlap(errors, plan, workshop, product)
    return errors


def _check_overlap(errors: Errors, plan, workshop: Workshop, product: Product | None) -> None:
    """A workshop is targeted as a whole or product by product, each at most once."""
    existing = [t for t in plan.targets if t.workshop_id == workshop.id]
    if product is None:
        if any(t.product_id is None for t in existing):
            errors.add("workshop_id", _("作坊“%(name)s”已在本计划中。", name=workshop.name))
        elif existing:
            errors.add(
                "product_id",
                _(
                    "作坊“%(name)s”已按产品列入本计划；如需整坊抽检，请先移除这些产品。",
                    name=workshop.name,
                ),
            )
    elif any(t.product_id is None for t in existing):
        errors.add(
            "product_id",
            _("作坊“%(name)s”已整坊列入本计划，其所有产品均在其中。", name=workshop.name),
        )
    elif any(t.product_id == product.id for t in existing):
        errors.add("product_id", _("产品“%(product)s”已在本计划中。", product=product.name))


def add_target(plan_id: int, data: TargetInput, *, by: User) -> SamplingPlanTarget:
    """Add a workshop (or one of its products) to a plan (regulators only)."""
    require_regulator(by)
    plan = get_plan(plan_id, by=by)
    _refuse(check_target(plan, data))
    target = SamplingPlanTarget(
        plan_id=plan.id,
        workshop_id=data.workshop_id,
        product_id=data.product_id,
        planned_samples=data.planned_samples,
    )
    db.session.add(target)
    db.session.flush()
    db.session.expire(plan, ["targets"])
    record(
        "sampling_plan.target_added",
        "sampling_plan",
        plan.id,
        actor=by,
        target_id=target.id,
        workshop_id=target.workshop_id,
        product_id=target.product_id,
        planned_samples=target.planned_samples,
    )
    return target


def get_target(target_id: int, *, by: User) -> SamplingPlanTarget:
    """The target *target_id*, or NotFound."""
    require_reader(by)
    target = db.session.get(SamplingPlanTarget, target_id) if 0 < target_id <= MAX_ID else None
    if target is None:
        raise NotFound(_("抽检对象不存在。"), slug="target_not_found")
    return target


def remove_target(target_id: int, *, by: User) -> SamplingPlan:
    """Take a target off its plan (regulators only), unless samples were taken for it.

    Returns the plan.
    """
    require_regulator(by)
    target = get_target(target_id, by=by)
    taken = select(func.count(Sample.id)).where(
        Sample.plan_id == target.plan_id, Sample.workshop_id == target.workshop_id
    )
    if target.product_id is not None:
        taken = taken.where(Sample.product_id == target.product_id)
    count = db.session.scalar(taken) or 0
    if count:
        raise Conflict(
            _("已按此对象抽取 %(count)d 个样品，不能移除；可修改计划备注说明情况。", count=count),
            slug="target_has_samples",
        )
    plan = target.plan
    details = {
        "target_id": target.id,
        "workshop_id": target.workshop_id,
        "product_id": target.product_id,
        "planned_samples": target.planned_samples,
    }
    db.session.delete(target)
    db.session.flush()
    db.session.expire(plan, ["targets"])
    record("sampling_plan.target_removed", "sampling_plan", plan.id, actor=by, **details)
    return plan


@dataclass
class TargetChoices:
    """What the target form offers: workshops on file and their products."""

    workshops: list[Workshop]
    products: list[Product]


def target_choices(*, by: User) -> TargetChoices:
    """Workshops that are not cancelled, by name, and their active products."""
    require_reader(by)
    workshops = db.session.scalars(
        select(Workshop)
        .where(Workshop.status != WorkshopStatus.CANCELLED)
        .order_by(Workshop.name, Workshop.id)
    ).all()
    products = db.session.scalars(
        select(Product)
        .join(Workshop, Product.workshop_id == Workshop.id)
        .where(Workshop.status != WorkshopStatus.CANCELLED, Product.active.is_(True))
        .options(selectinload(Product.workshop))
        .order_by(Workshop.name, Workshop.id, Product.name, Product.id)
    ).all()
    return TargetChoices(list(workshops), list(products))


# --- publication ------------------------------------------------------------------------


@dataclass
class Candidate:
    """A completed lab sample not yet published, what stands in its way (if anything), and
    its row as the announcement would show it."""

    sample: Sample
    row: dict
    blocker: str = ""


@dataclass
class PublicationFilter:
    """Which candidates to list; None does not narrow."""

    plan_id: int | None = None
    year: int | None = None


def _announcement_options():
    """What announcement rows read, loaded up front."""
    return (
        selectinload(Sample.workshop),
        selectinload(Sample.product).selectinload(Product.category),
        selectinload(Sample.product).selectinload(Product.brand),
        selectinload(Sample.batch),
        selectinload(Sample.results).selectinload(TestResult.standard_limit),
    )


def _year_bounds(year: int) -> tuple[datetime, datetime]:
    """The start of *year* and of the next, in Asia/Shanghai."""
    start = datetime(year, 1, 1, tzinfo=SHANGHAI)
    return start, start.replace(year=year + 1)


def blocker(sample: Sample) -> str:
    """Why *sample* cannot be published now ("" when it can)."""
    if sample.kind is not TestKind.LAB:
        return _("快检结果不予公示，只公示实验室检验结果。")
    if sample.status is not SampleStatus.COMPLETED or not sample.results:
        return _("样品检验尚未完成，不能公示。")
    if sample.published_at is not None:
        return _("该样品已公示。")
    if any(r.verdict is Verdict.PENDING for r in sampling.live_results(sample)):
        return _("尚有检验项目的结果待判定，不能公示。")
    return ""


def candidates(filters: PublicationFilter, *, by: User) -> list[Candidate]:
    """Completed lab samples not yet published (of a plan, of a year), oldest first, each
    with its announcement row and what would refuse it."""
    require_reader(by)
    query = select(Sample).where(
        Sample.kind == TestKind.LAB,
        Sample.status == SampleStatus.COMPLETED,
        Sample.published_at.is_(None),
    )
    if filters.plan_id is not None:
        query = query.where(Sample.plan_id == filters.plan_id)
    if filters.year is not None:
        start, end = _year_bounds(filters.year)
        query = query.where(Sample.sampled_at >= start, Sample.sampled_at < end)
    found = db.session.scalars(
        query.options(*_announcement_options()).order_by(Sample.sampled_at, Sample.sample_no)
    ).all()
    return [Candidate(s, sampling.announcement_row(s, public=False), blocker(s)) for s in found]


def _sample_ids(values) -> tuple[list[int], list[str]]:
    """The chosen ids as numbers (once each), and the values that are not ids."""
    ids, bad = [], []
    for value in values:
        text = str(value).strip()
        if text.isdigit() and 0 < int(text) <= MAX_ID:
            if int(text) not in ids:
                ids.append(int(text))
        else:
            bad.append(text[:20])
    return ids, bad


def publish(sample_ids, *, by: User) -> list[Sample]:
    """Publish the chosen samples in the sampling announcement (regulators only).

    All of them or none: any unknown id, or any sample that may not be published (a rapid
    sample, one not completed, one with a result still to be judged, one already
    published) refuses the lot, each reason under ``sample_ids``.
    """
    require_regulator(by)
    ids, bad = _sample_ids(sample_ids)
    errors = Errors()
    if not ids and not bad:
        errors.add("sample_ids", _("请至少选择一个样品。"))
    if len(ids) + len(bad) > MAX_PUBLISH:
        errors.add("sample_ids", _("每次最多公示 %(max)d 个样品。", max=MAX_PUBLISH))
        _refuse(errors)
    for value in bad:
        errors.add("sample_ids", _("未知的样品：%(id)s。", id=value))
    samples = (
        db.session.scalars(
            select(Sample).where(Sample.id.in_(ids)).options(*_announcement_options())
        ).all()
        if ids
        else []
    )
    known = {s.id: s for s in samples}
    for missing in (i for i in ids if i not in known):
        errors.add("sample_ids", _("未知的样品：%(id)s。", id=missing))
    ordered = [known[i] for i in ids if i in known]
    for sample in ordered:
        reason = blocker(sample)
        if reason:
            errors.add("sample_ids", f"{sample.sample_no}：{reason}")
    _refuse(errors)
    for sample in ordered:
        try:
            sampling.publish_sample(sample, by)
        except DomainError as exc:  # a rule of publish_sample this module does not know yet
            raise ValidationError(
                exc.message,
                slug="plan_invalid",
                errors={"sample_ids": [f"{sample.sample_no}：{exc.message}"]},
            ) from None
        record(
            "sample.published",
            "sample",
            sample.id,
            actor=by,
            sample_no=sample.sample_no,
            plan_id=sample.plan_id,
        )
    return ordered


@dataclass
class Published:
    """The announcement as the public reads it: rows and the disclaimer."""

    year: int | None
    rows: list[dict] = field(default_factory=list)
    disclaimer: str = ""


def published(year: int | None, *, by: User) -> Published:
    """What the public announcement shows for *year* (every year when None)."""
    require_reader(by)
    found = sampling.announcements(year)
    return Published(year, found["rows"], found["disclaimer"])
