"""What a sampling plan and its targets must meet, and who may change or read them.

A plan is a sampling task for a year or one quarter of it, ordered by a level of government
(its task source) and tested by one agency; its targets name the workshops, and when
wanted one product of each, that it means to sample and how many samples. Rules:

- Only regulators create and edit plans, add and remove targets and publish results;
  inspectors (and regulators) read. Operators see none of it.
- A plan's name is required and unique in its year; the year lies between
  :data:`EARLIEST_YEAR` and next year; the quarter is 1–4 or none (the whole year); the task
  source is a known one; the testing agency is required. Once samples are taken under a
  plan its year and task source stay as they are (the samples carry them).
- A target's workshop is on file and not cancelled; its product, when given, is one of
  that workshop's; a workshop is targeted either as a whole or product by product, and never
  twice; the planned number of samples is a whole number from 1 to :data:`MAX_PLANNED`.

The checks return every broken rule at once (:class:`Errors`), so a form shows them all.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from backend.accounts.models import Role
from backend.core import checks
from backend.core.errors import Errors
from backend.core.i18n import N_
from backend.core.i18n import gettext as _
from backend.core.time import local_today
from backend.extensions import db
from backend.plans.models import SamplingPlan
from backend.registry.models import Product, Workshop, WorkshopStatus
from backend.samples.models import Sample, TaskSource

EARLIEST_YEAR = 2000  # the registry's earliest certificates; no plan is older
MAX_PLANNED = 100  # samples of one workshop (or product) in one plan, at most
MAX_ID = 2**31 - 1
QUARTERS = (1, 2, 3, 4)
# Who may order a plan: every task source but a workshop's own check, which its operators
# record themselves, outside any plan.
PLAN_SOURCES = tuple(s for s in TaskSource if s is not TaskSource.SELF_CHECK)

QUARTER_LABELS = {
    None: N_("全年"),
    1: N_("第一季度"),
    2: N_("第二季度"),
    3: N_("第三季度"),
    4: N_("第四季度"),
}
# Only regulators change plans and publish; regulators and inspectors read them.
STAFF = (Role.REGULATOR, Role.INSPECTOR)
REGULATORS_ONLY = N_("只有监管人员可以制定抽检计划和公示抽检结果。")
STAFF_ONLY = N_("只有监管和检验人员可以查看抽检计划。")


# --- plans ------------------------------------------------------------------------------


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
    errors: Errors, name: str, value: str, limit: int, *, required: bool = True, lines=False
) -> str:
    """Trimmed, within its limit, without control characters (line breaks allowed when
    *lines*)."""
    return checks.text(
        errors,
        name,
        value,
        limit,
        required=required,
        allowed="\r\n" if lines else "",
        message=N_("不能包含制表符等控制字符。"),
    )


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
