"""Sampling plans and their targets: the rules, who may change them, and the audit trail."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.audit.models import AuditLog
from backend.core.errors import Conflict, Forbidden, NotFound, ValidationError
from backend.core.time import local_today
from backend.plans import planning, publishing
from backend.plans.checks import TargetInput
from backend.plans.models import SamplingPlan, SamplingPlanTarget
from backend.plans.progress import list_plans
from backend.samples.models import TaskSource
from tests.factories import (
    UserFactory,
)
from tests.plans.builders import count, plan_input, take, this_year

# --- plans ------------------------------------------------------------------------------


def test_a_regulator_draws_up_a_plan_and_it_is_audited(db, site):
    plan = planning.create_plan(plan_input(quarter=2, name="  第二季度抽检  "), by=site.regulator)
    assert (plan.year, plan.quarter, plan.name) == (this_year(), 2, "第二季度抽检")
    assert plan.task_source is TaskSource.DISTRICT
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "sampling_plan.created"))
    assert entry.actor_id == site.regulator.id and entry.object_id == str(plan.id)
    planning.update_plan(plan.id, plan_input(quarter=None, name="全年抽检"), by=site.regulator)
    assert plan.quarter is None and plan.name == "全年抽检"
    change = db.session.scalar(select(AuditLog).where(AuditLog.action == "sampling_plan.updated"))
    assert change.details["changes"]["name"] == ["第二季度抽检", "全年抽检"]
    assert change.details["changes"]["quarter"] == [2, None]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": ""}, "name", "必填"),
        ({"name": "计" * 101}, "name", "不能超过 100 个字符"),
        ({"name": "抽\t检"}, "name", "控制字符"),
        ({"year": None}, "year", "必填"),
        ({"year": 1900}, "year", "年度须在 2000"),
        ({"year": local_today().year + 2}, "year", "年度须在"),
        ({"quarter": 5}, "quarter", "季度须为 1 至 4"),
        ({"quarter": 0}, "quarter", "季度须为 1 至 4"),
        ({"task_source": ""}, "task_source", "请选择任务来源"),
        ({"task_source": "provincial"}, "task_source", "未知的任务来源"),
        ({"task_source": "self_check"}, "task_source", "不列入抽检计划"),
        ({"testing_agency": "  "}, "testing_agency", "必填"),
        ({"notes": "备" * 2001}, "notes", "不能超过 2000 个字符"),
    ],
)
def test_bad_plans_are_refused_by_field(db, site, overrides, field, message):
    with pytest.raises(ValidationError) as refused:
        planning.create_plan(plan_input(**overrides), by=site.regulator)
    assert field in refused.value.errors
    assert any(message in m for m in refused.value.errors[field])
    assert count(db, SamplingPlan) == 0 and count(db, AuditLog) == 0


def test_names_are_unique_within_a_year_only(db, site):
    first = planning.create_plan(plan_input(), by=site.regulator)
    with pytest.raises(ValidationError) as taken:
        planning.create_plan(plan_input(name=" 区级食品安全监督抽检"), by=site.regulator)
    assert "已有名为“区级食品安全监督抽检”" in taken.value.errors["name"][0]
    other_year = planning.create_plan(plan_input(year=this_year() - 1), by=site.regulator)
    assert other_year.id != first.id
    # an edit may keep its own name, but not take another plan's in that plan's year
    planning.update_plan(first.id, plan_input(notes="按区局文件执行"), by=site.regulator)
    with pytest.raises(ValidationError):
        planning.update_plan(first.id, plan_input(year=this_year() - 1), by=site.regulator)


def test_notes_may_hold_line_breaks(db, site):
    plan = planning.create_plan(plan_input(notes="第一行\r\n第二行"), by=site.regulator)
    assert "\n" in plan.notes


def test_year_and_source_stay_once_samples_are_taken(db, site):
    plan = planning.create_plan(plan_input(), by=site.regulator)
    take(site, site.a_red, plan=plan)
    with pytest.raises(ValidationError) as refused:
        planning.update_plan(
            plan.id,
            plan_input(year=this_year() - 1, task_source="municipal"),
            by=site.regulator,
        )
    assert "不能更改年度" in refused.value.errors["year"][0]
    assert "不能更改任务来源" in refused.value.errors["task_source"][0]
    planning.update_plan(plan.id, plan_input(testing_agency="半星红酒厂实验室"), by=site.regulator)
    assert plan.testing_agency == "半星红酒厂实验室"


def test_only_regulators_change_plans_and_operators_read_nothing(db, site):
    plan = planning.create_plan(plan_input(), by=site.regulator)
    operator = UserFactory()
    for user in (site.inspector, operator, None):
        with pytest.raises(Forbidden):
            planning.create_plan(plan_input(name="另一个"), by=user)
        with pytest.raises(Forbidden):
            planning.update_plan(plan.id, plan_input(name="改名"), by=user)
        with pytest.raises(Forbidden):
            planning.add_target(plan.id, TargetInput(site.a.id, None, 1), by=user)
        with pytest.raises(Forbidden):
            publishing.publish([1], by=user)
    for user in (operator, None):
        with pytest.raises(Forbidden):
            list_plans(by=user)
        with pytest.raises(Forbidden):
            planning.get_plan(plan.id, by=user)
    assert [r.plan.id for r in list_plans(by=site.inspector)] == [plan.id]
    assert plan.name == "区级食品安全监督抽检" and count(db, SamplingPlanTarget) == 0


def test_unknown_plans_and_targets_are_not_found(db, site):
    for plan_id in (0, 999999, 2**40):
        with pytest.raises(NotFound):
            planning.get_plan(plan_id, by=site.regulator)
    with pytest.raises(NotFound):
        planning.remove_target(999999, by=site.regulator)


def test_plans_are_listed_by_year_and_source(db, site):
    district = planning.create_plan(plan_input(), by=site.regulator)
    municipal = planning.create_plan(
        plan_input(name="市级抽检", task_source="municipal", quarter=3), by=site.regulator
    )
    last_year = planning.create_plan(plan_input(year=this_year() - 1), by=site.regulator)
    everything = [r.plan.id for r in list_plans(by=site.regulator)]
    assert everything == [district.id, municipal.id, last_year.id]  # newest year, whole year first
    assert [r.plan.id for r in list_plans(by=site.regulator, year=this_year() - 1)] == [
        last_year.id
    ]
    assert [r.plan.id for r in list_plans(by=site.regulator, task_source=TaskSource.MUNICIPAL)] == [
        municipal.id
    ]
    assert (
        planning.plan_years(by=site.inspector)[:2]
        == sorted({this_year(), this_year() - 1, local_today().year}, reverse=True)[:2]
    )


# --- targets ----------------------------------------------------------------------------


def test_targets_are_added_and_removed_with_an_audit_trail(db, site):
    plan = planning.create_plan(plan_input(), by=site.regulator)
    whole = planning.add_target(plan.id, TargetInput(site.b.id, None, 2), by=site.regulator)
    one = planning.add_target(plan.id, TargetInput(site.a.id, site.a_red.id, 3), by=site.regulator)
    planning.add_target(plan.id, TargetInput(site.a.id, site.a_old.id, 1), by=site.regulator)
    db.session.refresh(plan)
    assert [(t.workshop_id, t.product_id, t.planned_samples) for t in plan.targets] == [
        (site.b.id, None, 2),
        (site.a.id, site.a_red.id, 3),
        (site.a.id, site.a_old.id, 1),
    ]
    assert whole.id and one.id
    planning.remove_target(one.id, by=site.regulator)
    assert count(db, SamplingPlanTarget) == 2
    actions = db.session.scalars(
        select(AuditLog.action).where(AuditLog.object_type == "sampling_plan").order_by(AuditLog.id)
    ).all()
    assert actions == ["sampling_plan.created"] + ["sampling_plan.target_added"] * 3 + [
        "sampling_plan.target_removed"
    ]


@pytest.mark.parametrize(
    ("make", "field", "message"),
    [
        (lambda s: TargetInput(None, None, 1), "workshop_id", "请选择作坊"),
        (lambda s: TargetInput(999999, None, 1), "workshop_id", "作坊不存在"),
        (lambda s: TargetInput(-1, None, 1), "workshop_id", "作坊不存在"),
        (lambda s: TargetInput(s.gone.id, None, 1), "workshop_id", "已注销登记"),
        (lambda s: TargetInput(s.a.id, 999999, 1), "product_id", "产品不存在"),
        (
            lambda s: TargetInput(s.a.id, s.b_red.id, 1),
            "product_id",
            "不是作坊“四大桶红曲酒坊”的产品",
        ),
        (lambda s: TargetInput(s.a.id, None, None), "planned_samples", "请填写计划抽样数"),
        (lambda s: TargetInput(s.a.id, None, 0), "planned_samples", "1 至 100 之间的整数"),
        (lambda s: TargetInput(s.a.id, None, -2), "planned_samples", "1 至 100 之间的整数"),
        (lambda s: TargetInput(s.a.id, None, 101), "planned_samples", "1 至 100 之间的整数"),
    ],
)
def test_bad_targets_are_refused_by_field(db, site, make, field, message):
    plan = planning.create_plan(plan_input(), by=site.regulator)
    with pytest.raises(ValidationError) as refused:
        planning.add_target(plan.id, make(site), by=site.regulator)
    assert any(message in m for m in refused.value.errors[field]), refused.value.errors
    assert count(db, SamplingPlanTarget) == 0


def test_a_workshop_is_targeted_whole_or_by_product_and_never_twice(db, site):
    plan = planning.create_plan(plan_input(), by=site.regulator)
    planning.add_target(plan.id, TargetInput(site.b.id, None, 2), by=site.regulator)
    planning.add_target(plan.id, TargetInput(site.a.id, site.a_red.id, 1), by=site.regulator)
    refusals = [
        (TargetInput(site.b.id, None, 1), "workshop_id", "已在本计划中"),
        (TargetInput(site.b.id, site.b_red.id, 1), "product_id", "已整坊列入本计划"),
        (TargetInput(site.a.id, site.a_red.id, 1), "product_id", "产品“半里红曲酒”已在本计划中"),
        (TargetInput(site.a.id, None, 1), "product_id", "已按产品列入本计划"),
    ]
    for data, field, message in refusals:
        with pytest.raises(ValidationError) as refused:
            planning.add_target(plan.id, data, by=site.regulator)
        assert message in refused.value.errors[field][0]
    assert count(db, SamplingPlanTarget) == 2
    # the same workshop in another plan is fine
    other = planning.create_plan(
        plan_input(name="专项抽检", task_source="special"), by=site.regulator
    )
    planning.add_target(other.id, TargetInput(site.b.id, None, 1), by=site.regulator)


def test_a_target_with_samples_is_not_removed(db, site):
    plan = planning.create_plan(plan_input(), by=site.regulator)
    target = planning.add_target(
        plan.id, TargetInput(site.a.id, site.a_red.id, 2), by=site.regulator
    )
    spare = planning.add_target(
        plan.id, TargetInput(site.a.id, site.a_old.id, 2), by=site.regulator
    )
    take(site, site.a_red, plan=plan)
    with pytest.raises(Conflict) as refused:
        planning.remove_target(target.id, by=site.regulator)
    assert "已按此对象抽取 1 个样品，不能移除" in refused.value.message
    planning.remove_target(spare.id, by=site.regulator)  # nothing taken for the other product
    assert [t.id for t in db.session.scalars(select(SamplingPlanTarget))] == [target.id]


def test_target_choices_leave_out_cancelled_workshops(db, site):
    choices = planning.target_choices(by=site.inspector)
    names = [w.name for w in choices.workshops]
    assert "已注销酒坊" not in names and "四大桶红曲酒坊" in names
    assert {p.id for p in choices.products} == {
        site.a_red.id,
        site.a_old.id,
        site.b_red.id,
        site.c_red.id,
    }
