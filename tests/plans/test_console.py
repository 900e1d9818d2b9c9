"""Sampling plans and publication in the console: each flow posted with its CSRF token, bad
input refused next to the field with nothing written, inspectors read but change nothing, and
published results reach the public announcement with its disclaimer."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from backend.accounts.models import Role
from backend.audit.models import AuditLog
from backend.core.time import SHANGHAI, local_today, utcnow
from backend.plans import planning
from backend.plans.checks import PlanInput, TargetInput
from backend.plans.models import SamplingPlan, SamplingPlanTarget
from backend.registry.models import ProductCategory, WorkshopStatus
from backend.rules import standards
from backend.samples.models import Sample, SampleStatus, TaskSource, TestKind
from backend.samples.recording import record_sample
from backend.samples.results import ResultInput, record_results
from tests.factories import (
    BatchFactory,
    InspectorFactory,
    ProductFactory,
    RegulatorFactory,
    WorkshopFactory,
)
from tests.support.console import logged_in, submit, text


def this_year() -> int:
    """The year (Asia/Shanghai) of samples taken two hours ago."""
    return (utcnow() - timedelta(hours=2)).astimezone(SHANGHAI).year


@pytest.fixture()
def site(db):
    """Two wine workshops with a product each, a cancelled one, and a plan for this year."""
    standards.load_categories()
    standards.load_standards()
    wine = db.session.get(ProductCategory, "huangjiu")

    class Site:
        regulator = RegulatorFactory()
        lab = InspectorFactory(display_name="实验室检验员")
        a = WorkshopFactory(name="四大桶红曲酒坊", trademark="四大桶")
        b = WorkshopFactory(name="半里林氏酒坊")
        gone = WorkshopFactory(name="已注销酒坊", status=WorkshopStatus.CANCELLED)
        a_red = ProductFactory(workshop=a, category=wine, name="半里红曲酒", labelled_alcohol=15)
        b_red = ProductFactory(workshop=b, category=wine, name="林氏红曲酒", labelled_alcohol=15)
        plan = None

    Site.plan = planning.create_plan(
        PlanInput(
            year=this_year(),
            name="区级食品安全监督抽检",
            task_source="district",
            testing_agency="检验联盟实验室",
        ),
        by=Site.regulator,
    )
    return Site


def count(db, model) -> int:
    """How many rows *model* has."""
    return db.session.scalar(select(func.count()).select_from(model))


def written(db) -> tuple[int, int, int]:
    """How many plans, targets and audit entries there are."""
    return count(db, SamplingPlan), count(db, SamplingPlanTarget), count(db, AuditLog)


def plan_form(**overrides) -> dict:
    """A valid new-plan form."""
    data = {
        "name": "第二季度专项抽检",
        "year": str(this_year()),
        "quarter": "2",
        "task_source": "special",
        "testing_agency": "半星红酒厂实验室",
        "notes": "红曲酒专项",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def take(site, product, batch=None, *, lead: str | None = "0.05") -> Sample:
    """A lab sample of *product* under the site's plan, completed with a lead reading."""
    sample = record_sample(
        by=site.lab,
        kind=TestKind.LAB,
        batch=batch,
        product=None if batch else product,
        plan=site.plan,
        sampled_at=utcnow() - timedelta(hours=2),
        sampling_place="长泰区半里乡加工区",
    )
    if lead is not None:
        record_results(
            sample,
            [
                ResultInput(
                    item_code="lead",
                    method="GB 5009.12",
                    value=Decimal(lead),
                    tested_at=utcnow() - timedelta(hours=1),
                )
            ],
            by=site.lab,
        )
    return sample


def refused_at(response, field: str, message: str) -> None:
    """The response is a 422 page with *message* right under *field*."""
    page = text(response)
    assert response.status_code == 422, page[:2000]
    assert f'id="{field}-errors"' in page, page[:3000]
    at = page.index(f'id="{field}-errors"')
    assert message in page[at : at + 600], page[at : at + 600]
    assert "未保存任何内容" in page


# --- plans --------------------------------------------------------------------------------


def test_the_plan_list_with_filters_and_progress(client, db, site):
    take(site, site.a_red)
    planning.add_target(site.plan.id, TargetInput(site.a.id, None, 4), by=site.regulator)
    planning.create_plan(
        PlanInput(
            year=this_year() - 1,
            name="去年市级抽检",
            task_source="municipal",
            testing_agency="市所",
        ),
        by=site.regulator,
    )
    logged_in(client)
    page = text(client.get("/console/plans/"))
    assert "抽检计划与公示" in page  # the navigation link
    assert "区级食品安全监督抽检" in page and "去年市级抽检" in page
    assert "新建抽检计划" in page and "25%" in page  # 1 of 4 taken
    this = text(client.get(f"/console/plans/?year={this_year()}"))
    assert "区级食品安全监督抽检" in this and "去年市级抽检" not in this
    municipal = text(client.get("/console/plans/?task_source=municipal"))
    assert "去年市级抽检" in municipal and "区级食品安全监督抽检" not in municipal
    for query in ("year=abc", "year=1900", "year=99999999999999", "task_source=x", "page=-1"):
        assert client.get(f"/console/plans/?{query}").status_code == 200, query


def test_regulator_draws_up_a_plan(client, db, site):
    user = logged_in(client)
    response = submit(client, "/console/plans/new", plan_form())
    assert response.status_code == 302, text(response)[:2000]
    plan = db.session.scalar(select(SamplingPlan).where(SamplingPlan.name == "第二季度专项抽检"))
    assert (plan.year, plan.quarter, plan.task_source) == (this_year(), 2, TaskSource.SPECIAL)
    assert plan.testing_agency == "半星红酒厂实验室" and plan.notes == "红曲酒专项"
    assert response.headers["Location"] == f"/console/plans/{plan.id}"
    audit = db.session.scalar(
        select(AuditLog).where(
            AuditLog.action == "sampling_plan.created", AuditLog.object_id == str(plan.id)
        )
    )
    assert audit.actor_id == user.id
    page = text(client.get(response.headers["Location"]))
    assert "已建立抽检计划“第二季度专项抽检”" in page
    assert "第二季度" in page and "专项抽检" in page and "尚未添加抽检对象" in page


def test_a_whole_year_plan_leaves_the_quarter_empty(client, db, site):
    logged_in(client)
    response = submit(client, "/console/plans/new", plan_form(quarter=""))
    assert response.status_code == 302
    plan = db.session.scalar(select(SamplingPlan).where(SamplingPlan.name == "第二季度专项抽检"))
    assert plan.quarter is None
    assert "全年" in text(client.get(f"/console/plans/{plan.id}"))


BAD_PLANS = [
    ({"name": "区级食品安全监督抽检"}, "name", "已有名为“区级食品安全监督抽检”的抽检计划"),
    ({"name": "  "}, "name", "必填"),
    ({"name": "计" * 101}, "name", "不能超过 100 个字符"),
    ({"quarter": "5"}, "quarter", "季度须为 1 至 4"),
    ({"quarter": "Q2"}, "quarter", "季度须为 1 至 4"),
    ({"year": "1900"}, "year", "年度须在 2000"),
    ({"year": str(local_today().year + 5)}, "year", "年度须在"),
    ({"year": "abc"}, "year", "请填写整数"),
    ({"year": "2025.5"}, "year", "请填写整数"),
    ({"year": ""}, "year", "必填"),
    ({"task_source": "provincial"}, "task_source", "未知的任务来源"),
    ({"task_source": "self_check"}, "task_source", "不列入抽检计划"),
    ({"task_source": ""}, "task_source", "请选择任务来源"),
    ({"testing_agency": ""}, "testing_agency", "必填"),
]


@pytest.mark.parametrize(("overrides", "field", "message"), BAD_PLANS)
def test_bad_plans_are_refused_next_to_the_field(client, db, site, overrides, field, message):
    logged_in(client)
    before = written(db)
    response = submit(client, "/console/plans/new", plan_form(**overrides))
    refused_at(response, field, message)
    assert written(db) == before


def test_several_plan_mistakes_are_shown_at_once(client, db, site):
    logged_in(client)
    page = text(submit(client, "/console/plans/new", plan_form(year="abc", quarter="9", name="")))
    assert "请填写整数" in page and "季度须为 1 至 4" in page and "必填" in page


def test_regulator_edits_a_plan(client, db, site):
    logged_in(client)
    url = f"/console/plans/{site.plan.id}/edit"
    form_page = text(client.get(url))
    assert 'value="区级食品安全监督抽检"' in form_page and 'value="检验联盟实验室"' in form_page
    response = submit(client, url, plan_form(name="区级抽检（修订）", task_source="district"))
    assert response.status_code == 302
    db.session.refresh(site.plan)
    assert site.plan.name == "区级抽检（修订）" and site.plan.quarter == 2
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "sampling_plan.updated"))
    assert audit.details["changes"]["name"] == ["区级食品安全监督抽检", "区级抽检（修订）"]


def test_a_plan_with_samples_keeps_its_year_and_source(client, db, site):
    take(site, site.a_red)
    logged_in(client)
    response = submit(
        client,
        f"/console/plans/{site.plan.id}/edit",
        plan_form(name="区级食品安全监督抽检", year=str(this_year() - 1)),
    )
    refused_at(response, "year", "该计划下已有样品，不能更改年度")
    assert "不能更改任务来源" in text(response)
    db.session.refresh(site.plan)
    assert site.plan.year == this_year() and site.plan.task_source is TaskSource.DISTRICT


def test_unknown_plans_are_html_404s(client, site):
    logged_in(client)
    for path in ("/console/plans/999999", "/console/plans/999999/edit"):
        response = client.get(path)
        assert response.status_code == 404 and response.mimetype == "text/html"
        assert "抽检计划不存在" in text(response)


def test_a_form_without_its_token_writes_nothing(client, db, site):
    logged_in(client)
    before = written(db)
    response = client.post("/console/plans/new", data=plan_form())
    assert response.status_code == 400
    assert "安全令牌" in text(response)
    assert written(db) == before


# --- targets --------------------------------------------------------------------------------


def test_targets_are_added_with_their_progress_shown(client, db, site):
    logged_in(client)
    url = f"/console/plans/{site.plan.id}/targets/new"
    form_page = text(client.get(url))
    assert "四大桶红曲酒坊" in form_page and "已注销酒坊" not in form_page
    assert "四大桶红曲酒坊 · 半里红曲酒" in form_page
    response = submit(
        client, url, {"workshop_id": str(site.a.id), "product_id": "", "planned_samples": "2"}
    )
    assert response.status_code == 302, text(response)[:2000]
    response = submit(
        client,
        url,
        {"workshop_id": str(site.b.id), "product_id": str(site.b_red.id), "planned_samples": "1"},
    )
    assert response.status_code == 302
    targets = db.session.scalars(select(SamplingPlanTarget).order_by(SamplingPlanTarget.id)).all()
    assert [(t.workshop_id, t.product_id, t.planned_samples) for t in targets] == [
        (site.a.id, None, 2),
        (site.b.id, site.b_red.id, 1),
    ]
    take(site, site.a_red)
    take(site, site.a_red, lead="0.9")
    page = text(client.get(f"/console/plans/{site.plan.id}"))
    assert "已添加抽检对象" in page
    assert "整坊（不限产品）" in page and "林氏红曲酒" in page
    assert "100%" in page  # A: 2 of 2 taken
    assert "66%" in page  # the plan: 2 of 3 met, B's product still to take
    assert 'class="tag tag-danger">1<' in page  # one failed


BAD_TARGETS = [
    ({"workshop_id": "999999"}, "workshop_id", "作坊不存在"),
    ({"workshop_id": "abc"}, "workshop_id", "作坊不存在"),
    ({"workshop_id": ""}, "workshop_id", "请选择作坊"),
    ({"workshop_id": "gone"}, "workshop_id", "已注销登记"),
    ({"product_id": "b_red"}, "product_id", "不是作坊“四大桶红曲酒坊”的产品"),
    ({"product_id": "999999"}, "product_id", "产品不存在"),
    ({"planned_samples": "abc"}, "planned_samples", "请填写整数"),
    ({"planned_samples": "0"}, "planned_samples", "1 至 100 之间的整数"),
    ({"planned_samples": "-1"}, "planned_samples", "1 至 100 之间的整数"),
    ({"planned_samples": "1000"}, "planned_samples", "1 至 100 之间的整数"),
    ({"planned_samples": "2.5"}, "planned_samples", "请填写整数"),
    ({"planned_samples": ""}, "planned_samples", "请填写计划抽样数"),
]


@pytest.mark.parametrize(("overrides", "field", "message"), BAD_TARGETS)
def test_bad_targets_are_refused_next_to_the_field(client, db, site, overrides, field, message):
    logged_in(client)
    names = {"gone": site.gone.id, "b_red": site.b_red.id}
    form = {"workshop_id": str(site.a.id), "product_id": "", "planned_samples": "1"}
    form.update({k: str(names.get(v, v)) for k, v in overrides.items()})
    before = written(db)
    response = submit(client, f"/console/plans/{site.plan.id}/targets/new", form)
    refused_at(response, field, message)
    assert written(db) == before


def test_a_duplicate_target_is_refused(client, db, site):
    planning.add_target(site.plan.id, TargetInput(site.a.id, None, 1), by=site.regulator)
    logged_in(client)
    url = f"/console/plans/{site.plan.id}/targets/new"
    before = written(db)
    again = submit(client, url, {"workshop_id": str(site.a.id), "planned_samples": "2"})
    refused_at(again, "workshop_id", "已在本计划中")
    product = submit(
        client,
        url,
        {"workshop_id": str(site.a.id), "product_id": str(site.a_red.id), "planned_samples": "2"},
    )
    refused_at(product, "product_id", "已整坊列入本计划")
    assert written(db) == before


def test_removing_targets(client, db, site):
    kept = planning.add_target(site.plan.id, TargetInput(site.a.id, None, 1), by=site.regulator)
    spare = planning.add_target(site.plan.id, TargetInput(site.b.id, None, 1), by=site.regulator)
    take(site, site.a_red)
    logged_in(client)
    detail = f"/console/plans/{site.plan.id}"
    refused = submit(client, detail, action=f"/console/plans/targets/{kept.id}/remove")
    assert refused.status_code == 409
    assert "已按此对象抽取 1 个样品，不能移除" in text(refused)
    assert db.session.get(SamplingPlanTarget, kept.id) is not None
    done = submit(client, detail, action=f"/console/plans/targets/{spare.id}/remove")
    assert done.status_code == 302
    assert [t.id for t in db.session.scalars(select(SamplingPlanTarget))] == [kept.id]
    assert db.session.scalar(
        select(AuditLog).where(AuditLog.action == "sampling_plan.target_removed")
    )
    missing = submit(client, detail, action="/console/plans/targets/999999/remove")
    assert missing.status_code == 404


# --- who may do what ----------------------------------------------------------------------------


def test_an_inspector_reads_but_changes_nothing(client, db, site):
    target = planning.add_target(site.plan.id, TargetInput(site.b.id, None, 1), by=site.regulator)
    sample = take(site, site.a_red)
    logged_in(client, Role.INSPECTOR)
    listing = text(client.get("/console/plans/"))
    assert "区级食品安全监督抽检" in listing and "新建抽检计划" not in listing
    detail = text(client.get(f"/console/plans/{site.plan.id}"))
    assert "半里林氏酒坊" in detail
    assert "修改计划" not in detail and "添加抽检对象" not in detail and "移除" not in detail
    publication = text(client.get("/console/plans/publication"))
    assert sample.sample_no in publication and 'name="sample_ids"' not in publication
    assert "公示所选样品" not in publication
    assert client.get("/console/plans/publication/published").status_code == 200
    for path in (
        "/console/plans/new",
        f"/console/plans/{site.plan.id}/edit",
        f"/console/plans/{site.plan.id}/targets/new",
    ):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "只有监管人员可以制定抽检计划和公示抽检结果" in text(response)
    before = written(db)
    token_page = "/console/plans/"
    for path, data in (
        ("/console/plans/new", plan_form()),
        (f"/console/plans/{site.plan.id}/edit", plan_form(name="改名")),
        (
            f"/console/plans/{site.plan.id}/targets/new",
            {"workshop_id": str(site.a.id), "planned_samples": "1"},
        ),
        (f"/console/plans/targets/{target.id}/remove", {}),
        ("/console/plans/publication", {"sample_ids": [str(sample.id)]}),
    ):
        response = submit(client, token_page, data, action=path)
        assert response.status_code == 403, path
        assert response.mimetype == "text/html"
    assert written(db) == before
    db.session.refresh(site.plan)
    db.session.refresh(sample)
    assert site.plan.name == "区级食品安全监督抽检" and sample.published_at is None


# --- publication ------------------------------------------------------------------------------


def test_publishing_reaches_the_public_announcement(client, db, site):
    batch = BatchFactory(product=site.a_red, batch_no="SDT-20250601-01")
    good = take(site, site.a_red, batch)
    bad = take(site, site.b_red, lead="0.9")
    waiting = take(site, site.a_red, lead=None)  # not tested yet: not listed
    logged_in(client)
    page = text(client.get("/console/plans/publication"))
    assert good.sample_no in page and bad.sample_no in page and waiting.sample_no not in page
    assert "待公示 2 个" in page
    # the preview: the announcement's columns and its disclaimer
    for column in (
        "标称生产者名称及地址",
        "被抽样单位名称及地址",
        "不合格项目 ‖ 检验结果 ‖ 标准值",
    ):
        assert column in page
    assert "本公示的检验结果仅对所抽检样品的批次和检验项目负责" in page
    assert "铅（以Pb计） ‖ 0.9 mg/kg ‖ ≤0.5 mg/kg" in page
    assert "SDT-20250601-01" in page and "四大桶" in page
    by_plan = text(client.get(f"/console/plans/publication?plan={site.plan.id}"))
    assert good.sample_no in by_plan
    assert "待公示 0 个" in text(client.get(f"/console/plans/publication?plan={site.plan.id + 1}"))
    assert "待公示 0 个" in text(client.get(f"/console/plans/publication?year={this_year() - 1}"))
    assert client.get("/console/plans/publication?plan=abc&year=x").status_code == 200

    response = submit(
        client,
        "/console/plans/publication",
        {"sample_ids": [str(good.id), str(bad.id)]},
    )
    assert response.status_code == 302, text(response)[:2000]
    db.session.refresh(good)
    db.session.refresh(bad)
    assert good.published_at is not None and bad.published_at is not None
    published = text(client.get(response.headers["Location"]))
    assert "已公示 2 个样品的抽检结果" in published
    assert (
        good.sample_no in published
        and "本公示的检验结果仅对所抽检样品的批次和检验项目负责" in published
    )
    assert "待公示 0 个" in text(client.get("/console/plans/publication"))

    public = client.get("/api/v1/announcements").get_json()
    assert "仅对所抽检样品的批次和检验项目负责" in public["disclaimer"]
    rows = {row["number"]: row for row in public["rows"]}
    assert set(rows) == {good.sample_no, bad.sample_no}
    # Lead's limit (GB 2762-2022) is not yet verified: no public verdict either way.
    assert rows[bad.sample_no]["conclusion"] == "pending"
    assert rows[good.sample_no]["batch_no"] == "SDT-20250601-01"
    assert rows[good.sample_no]["task_source"]["name"] == "区级监督抽检"
    assert (
        db.session.scalar(
            select(func.count(AuditLog.id)).where(AuditLog.action == "sample.published")
        )
        == 2
    )


def test_publication_is_refused_for_unfinished_samples_and_nothing_is_published(client, db, site):
    good = take(site, site.a_red)
    waiting = take(site, site.a_red, lead=None)
    testing = take(site, site.b_red, lead=None)
    testing.status = SampleStatus.TESTING
    db.session.flush()
    logged_in(client)
    url = "/console/plans/publication"
    for chosen, message in (
        ([good.id, waiting.id], f"{waiting.sample_no}：样品检验尚未完成，不能公示"),
        ([testing.id], "样品检验尚未完成，不能公示"),
        ([good.id, 999999], "未知的样品：999999"),
        (["abc"], "未知的样品：abc"),
        ([], "请至少选择一个样品"),
    ):
        response = submit(client, url, {"sample_ids": [str(i) for i in chosen]})
        refused_at(response, "sample_ids", message)
        assert good.sample_no in text(response)  # the list is shown again
    published = select(func.count(Sample.id)).where(Sample.published_at.is_not(None))
    assert db.session.scalar(published) == 0
    assert client.get("/api/v1/announcements").get_json()["rows"] == []
