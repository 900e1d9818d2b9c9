"""Sampling plans: the rules of plans and targets, who may change them, progress counted by the
database on a small fixture counted by hand, and publication all or nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, func, select

from backend.audit.models import AuditLog
from backend.core.errors import Conflict, Forbidden, NotFound, ValidationError
from backend.core.time import SHANGHAI, local_today, utcnow
from backend.extensions import db as _db
from backend.plans import planning, publishing
from backend.plans.checks import PlanInput, TargetInput
from backend.plans.models import SamplingPlan, SamplingPlanTarget
from backend.plans.progress import list_plans, plan_progress
from backend.plans.publishing import PublicationFilter
from backend.registry.models import ProductCategory, WorkshopStatus
from backend.rules import standards
from backend.samples.announcements import DISCLAIMER, announcements
from backend.samples.models import Qualitative, Sample, TaskSource, TestKind, TestResult, Verdict
from backend.samples.recording import record_sample
from backend.samples.results import ResultInput, record_results
from tests.factories import (
    InspectorFactory,
    ProductFactory,
    RegulatorFactory,
    UserFactory,
    WorkshopFactory,
)


def this_year() -> int:
    """The year (Asia/Shanghai) of samples taken two hours ago."""
    return (utcnow() - timedelta(hours=2)).astimezone(SHANGHAI).year


@pytest.fixture()
def site(db):
    """Three workshops making red yeast rice wine, a cancelled one, a regulator, an inspector."""
    standards.load_categories()
    standards.load_standards()
    wine = db.session.get(ProductCategory, "huangjiu")

    class Site:
        regulator = RegulatorFactory()
        inspector = InspectorFactory()
        a = WorkshopFactory(name="四大桶红曲酒坊")
        b = WorkshopFactory(name="半里林氏酒坊")
        c = WorkshopFactory(name="坊洋老酒坊")
        gone = WorkshopFactory(name="已注销酒坊", status=WorkshopStatus.CANCELLED)
        a_red = ProductFactory(workshop=a, category=wine, name="半里红曲酒", labelled_alcohol=15)
        a_old = ProductFactory(workshop=a, category=wine, name="陈年老酒", labelled_alcohol=15)
        b_red = ProductFactory(workshop=b, category=wine, name="林氏红曲酒", labelled_alcohol=15)
        c_red = ProductFactory(workshop=c, category=wine, name="坊洋红曲酒", labelled_alcohol=15)

    return Site


def plan_input(**overrides) -> PlanInput:
    """A valid plan for this year."""
    values = {
        "year": this_year(),
        "quarter": None,
        "name": "区级食品安全监督抽检",
        "task_source": "district",
        "testing_agency": "检验联盟实验室",
        "notes": "",
    }
    values.update(overrides)
    return PlanInput(**values)


def count(db, model) -> int:
    """How many rows *model* has."""
    return db.session.scalar(select(func.count()).select_from(model))


def take(site, product, *, plan, kind=TestKind.LAB) -> Sample:
    """A sample of *product* taken two hours ago under *plan*."""
    return record_sample(
        by=site.inspector,
        kind=kind,
        product=product,
        plan=plan,
        sampled_at=utcnow() - timedelta(hours=2),
    )


def lead(value: str, **kwargs) -> ResultInput:
    """A lab reading of lead (limit 0.5 mg/kg)."""
    return ResultInput(
        item_code="lead",
        method="GB 5009.12",
        value=Decimal(value),
        tested_at=utcnow() - timedelta(hours=1),
        **kwargs,
    )


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


# --- progress ----------------------------------------------------------------------------


@pytest.fixture()
def counted(db, site):
    """A plan with three targets and samples whose figures are counted by hand below.

    - A / 半里红曲酒 (3 planned): a pass, a fail, one still collected.
    - B as a whole (2 planned): a pass, a fail corrected to a pass, a rapid positive screen.
    - A / 陈年老酒 (1 planned): nothing yet.
    - C, not a target: one pass (off target). Samples outside the plan never count.
    """
    plan = planning.create_plan(plan_input(), by=site.regulator)
    red = planning.add_target(plan.id, TargetInput(site.a.id, site.a_red.id, 3), by=site.regulator)
    whole = planning.add_target(plan.id, TargetInput(site.b.id, None, 2), by=site.regulator)
    old = planning.add_target(plan.id, TargetInput(site.a.id, site.a_old.id, 1), by=site.regulator)
    other = planning.create_plan(
        plan_input(name="市级抽检", task_source="municipal"), by=site.regulator
    )
    lab = site.inspector

    def done(sample, *values):
        """Complete *sample* with lead readings of *values*."""
        for value in values:
            record_results(sample, [lead(value)], by=lab)

    done(take(site, site.a_red, plan=plan), "0.05")
    done(take(site, site.a_red, plan=plan), "0.9")
    take(site, site.a_red, plan=plan)
    done(take(site, site.b_red, plan=plan), "0.1")
    corrected = take(site, site.b_red, plan=plan)
    wrong = record_results(corrected, [lead("5")], by=lab).results[0]
    record_results(corrected, [lead("0.05", supersedes_id=wrong.id)], by=lab)
    screen = take(site, site.b_red, plan=plan, kind=TestKind.RAPID)
    record_results(
        screen,
        [
            ResultInput(
                item_code="benzoic_acid",
                method="胶体金法",
                qualitative=Qualitative.POSITIVE,
                tested_at=utcnow() - timedelta(hours=1),
            )
        ],
        by=lab,
    )
    done(take(site, site.c_red, plan=plan), "0.05")
    done(take(site, site.a_red, plan=other), "0.9")  # another plan
    done(
        record_sample(
            by=lab,
            kind=TestKind.LAB,
            product=site.a_red,
            task_source=TaskSource.DISTRICT,
            testing_agency="检验联盟实验室",
            sampled_at=utcnow() - timedelta(hours=2),
        ),
        "0.9",
    )  # no plan
    return plan, red, whole, old


def figures(progress) -> tuple:
    """Planned, taken, completed, passed, failed."""
    return (
        progress.planned,
        progress.taken,
        progress.completed,
        progress.passed,
        progress.failed,
    )


def test_progress_per_target_and_per_plan(db, site, counted):
    plan, red, whole, old = counted
    found = plan_progress(plan, by=site.inspector)
    by_target = {r.target.id: r.progress for r in found.rows}
    assert figures(by_target[red.id]) == (3, 3, 2, 1, 1)
    assert figures(by_target[whole.id]) == (2, 3, 3, 2, 0)
    assert by_target[whole.id].unsettled == 1  # the positive screen awaits the lab
    assert by_target[whole.id].remaining == 0 and by_target[whole.id].percent == 100
    assert figures(by_target[old.id]) == (1, 0, 0, 0, 0)
    assert by_target[old.id].remaining == 1 and by_target[old.id].percent == 0
    assert figures(found.total) == (6, 7, 6, 4, 1)
    assert found.off_target == 1  # C's sample
    # met: 3 of A's 3, 2 of B's 2 (the third is beyond the plan), none of the old wine's 1
    assert (found.total.fulfilled, found.total.remaining, found.total.percent) == (5, 1, 83)
    listed = {r.plan.id: r for r in list_plans(by=site.inspector)}
    assert listed[plan.id].targets == 3
    assert figures(listed[plan.id].progress) == (6, 7, 6, 4, 1)
    assert listed[plan.id].progress.percent == 83
    other = next(r for r in listed.values() if r.plan.id != plan.id)
    assert figures(other.progress) == (0, 1, 1, 0, 1) and other.targets == 0
    assert other.progress.percent == 0


def test_progress_is_counted_by_the_database_not_per_sample(db, site, counted):
    plan = counted[0]
    statements = []

    def count_statement(*args):
        """Note each statement sent to the database."""
        statements.append(args[2])

    def queries() -> tuple[int, int]:
        """Statements sent for a plan's progress and for the plan list."""
        loaded = planning.get_plan(plan.id, by=site.inspector)  # the plan page loads it first
        engine = _db.session.get_bind()
        event.listen(engine, "before_cursor_execute", count_statement)
        try:
            statements.clear()
            plan_progress(loaded, by=site.inspector)
            progress = len(statements)
            statements.clear()
            list_plans(by=site.inspector)
            listing = len(statements)
        finally:
            event.remove(engine, "before_cursor_execute", count_statement)
        return progress, listing

    before = queries()
    for _ in range(5):
        record_results(take(site, site.b_red, plan=plan), [lead("0.1")], by=site.inspector)
    assert queries() == before
    assert before[0] <= 2 and before[1] <= 3


# --- publication --------------------------------------------------------------------------


def test_candidates_and_publication_all_or_nothing(db, site, counted):
    plan = counted[0]
    found = publishing.candidates(PublicationFilter(plan_id=plan.id), by=site.inspector)
    numbers = [c.sample.sample_no for c in found]
    # completed lab samples of the plan: A pass, A fail, B pass, B corrected, C pass
    assert len(found) == 5 and all(c.blocker == "" for c in found)
    assert {c.row["conclusion"] for c in found} == {"pass", "fail"}
    assert len(publishing.candidates(PublicationFilter(), by=site.regulator)) == 7
    assert publishing.candidates(PublicationFilter(year=this_year() - 1), by=site.regulator) == []
    collected = db.session.scalar(
        select(Sample).where(Sample.plan_id == plan.id, Sample.status == "collected")
    )
    screen = db.session.scalar(select(Sample).where(Sample.kind == TestKind.RAPID))
    chosen = [found[0].sample.id, found[1].sample.id]
    for extra, message in (
        ([collected.id], "样品检验尚未完成"),
        ([screen.id], "快检结果不予公示"),
        ([999999], "未知的样品：999999"),
        (["abc"], "未知的样品：abc"),
        ([], "请至少选择一个样品"),
        (list(range(1, 502)), "每次最多公示 500 个样品"),
    ):
        with pytest.raises(ValidationError) as refused:
            publishing.publish((chosen if extra else []) + extra, by=site.regulator)
        assert any(message in m for m in refused.value.errors["sample_ids"]), refused.value.errors
    assert (
        db.session.scalar(select(func.count(Sample.id)).where(Sample.published_at.is_not(None)))
        == 0
    )
    done = publishing.publish([str(i) for i in chosen] + [str(chosen[0])], by=site.regulator)
    assert [s.sample_no for s in done] == numbers[:2]
    assert all(s.published_at is not None for s in done)
    assert count(db, AuditLog) >= 2
    published = db.session.scalars(
        select(AuditLog.object_id).where(AuditLog.action == "sample.published")
    ).all()
    assert sorted(published) == sorted(str(i) for i in chosen)
    with pytest.raises(ValidationError) as twice:
        publishing.publish([chosen[0]], by=site.regulator)
    assert "已公示" in twice.value.errors["sample_ids"][0]
    public = publishing.published(None, by=site.inspector)
    assert sorted(r["number"] for r in public.rows) == sorted(numbers[:2])
    assert public.disclaimer == DISCLAIMER


def test_a_result_still_to_be_judged_holds_publication(db, site):
    plan = planning.create_plan(plan_input(), by=site.regulator)
    sample = take(site, site.a_red, plan=plan)
    record_results(sample, [lead("0.05")], by=site.inspector)
    pending = TestResult(
        sample_id=sample.id,
        item_code="alcohol",
        verdict=Verdict.PENDING,
        tested_at=utcnow() - timedelta(minutes=30),
    )
    db.session.add(pending)
    db.session.flush()
    db.session.expire(sample, ["results"])
    found = publishing.candidates(PublicationFilter(), by=site.regulator)
    assert "待判定" in found[0].blocker
    with pytest.raises(ValidationError) as refused:
        publishing.publish([sample.id], by=site.regulator)
    assert "待判定" in refused.value.errors["sample_ids"][0]
    assert sample.published_at is None


def test_the_disclaimer_is_the_public_announcements(db, site):
    assert DISCLAIMER == announcements()["disclaimer"]
