"""Drawing up sampling plans (抽检计划) and their targets: create, change, read, and add or
remove the workshops (or products) a plan means to sample. Every change is audited.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from backend.accounts.models import Role, User
from backend.accounts.permissions import require_role
from backend.audit.log import record
from backend.core.errors import Conflict, NotFound, refuse
from backend.core.i18n import gettext as _
from backend.core.time import local_today
from backend.extensions import db
from backend.plans.checks import (
    MAX_ID,
    REGULATORS_ONLY,
    STAFF,
    STAFF_ONLY,
    PlanInput,
    TargetInput,
    check_plan,
    check_target,
)
from backend.plans.models import SamplingPlan, SamplingPlanTarget
from backend.registry.models import Product, Workshop, WorkshopStatus
from backend.samples.models import Sample

# --- plans ------------------------------------------------------------------------------


def create_plan(data: PlanInput, *, by: User) -> SamplingPlan:
    """Draw up a new sampling plan (regulators only)."""
    require_role(by, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    refuse(check_plan(data), "plan_invalid")
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
    require_role(by, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    plan = get_plan(plan_id, by=by)
    refuse(check_plan(data, plan), "plan_invalid")
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
    require_role(by, *STAFF, message=_(STAFF_ONLY), slug="staff_only")
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


def plan_years(*, by: User) -> list[int]:
    """The years that have plans, and this year, newest first (for the year filter)."""
    require_role(by, *STAFF, message=_(STAFF_ONLY), slug="staff_only")
    years = set(db.session.scalars(select(SamplingPlan.year).distinct()))
    years.add(local_today().year)
    return sorted(years, reverse=True)


# --- targets ----------------------------------------------------------------------------


def add_target(plan_id: int, data: TargetInput, *, by: User) -> SamplingPlanTarget:
    """Add a workshop (or one of its products) to a plan (regulators only)."""
    require_role(by, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    plan = get_plan(plan_id, by=by)
    refuse(check_target(plan, data), "plan_invalid")
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
    require_role(by, *STAFF, message=_(STAFF_ONLY), slug="staff_only")
    target = db.session.get(SamplingPlanTarget, target_id) if 0 < target_id <= MAX_ID else None
    if target is None:
        raise NotFound(_("抽检对象不存在。"), slug="target_not_found")
    return target


def remove_target(target_id: int, *, by: User) -> SamplingPlan:
    """Take a target off its plan (regulators only), unless samples were taken for it.

    Returns the plan.
    """
    require_role(by, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
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
    require_role(by, *STAFF, message=_(STAFF_ONLY), slug="staff_only")
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
