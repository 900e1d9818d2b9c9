"""How far each plan has come: the list of plans and one plan's targets, counted by the
database with SQL aggregates (a sample is linked to its plan when it is taken).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import aliased

from backend.accounts.models import User
from backend.accounts.permissions import require_role
from backend.core.i18n import gettext as _
from backend.extensions import db
from backend.plans.checks import STAFF, STAFF_ONLY
from backend.plans.models import SamplingPlan, SamplingPlanTarget
from backend.samples.models import Sample, SampleStatus, TaskSource, TestResult, Verdict


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
    require_role(by, *STAFF, message=_(STAFF_ONLY), slug="staff_only")
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
    require_role(by, *STAFF, message=_(STAFF_ONLY), slug="staff_only")
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
