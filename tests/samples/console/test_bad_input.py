"""Bad samples and results are refused next to the field, and nothing is written."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.accounts.models import Role
from backend.batches.models import BatchState
from backend.core.time import utcnow
from backend.samples.models import Sample, TestKind, TestResult
from tests.factories import WorkshopFactory
from tests.samples.console.pages import (
    counts,
    error_near,
    local,
    new_page,
    post_results,
    record_sample,
    results_form,
    rows_of,
    sample_form,
)
from tests.support.console import logged_in, submit, text


def _bad_samples(batch_no):
    soon = local(utcnow() + timedelta(hours=3))
    long_ago = local(utcnow() - timedelta(days=400))
    return [
        ({"workshop_id": "abc"}, "workshop_id", "所选作坊不存在"),
        ({"workshop_id": ""}, "workshop_id", "请选择作坊"),
        ({"product_id": "x1"}, "product_id", "所选产品不存在"),
        ({"product_id": "2147483648"}, "product_id", "所选产品不存在"),
        ({"product_id": "9" * 5000}, "product_id", "所选产品不存在"),
        ({"workshop_id": "²"}, "workshop_id", "所选作坊不存在"),
        ({"kind": "microscope"}, "kind", "请选择检测类型"),
        ({"task_source": "rumour"}, "task_source", "所选任务来源无效"),
        ({"task_source": ""}, "task_source", "请填写任务来源"),
        ({"task_source": "self_check"}, "task_source", "由作坊自己登记"),
        ({"plan_id": "777777"}, "plan_id", "所选抽检计划不存在"),
        ({"batch_no": "NO-SUCH-BATCH"}, "batch_no", "批次 NO-SUCH-BATCH 不存在"),
        ({"sampled_at": "yesterday-ish"}, "sampled_at", "不是有效的时间"),
        ({"sampled_at": soon}, "sampled_at", "时间不能晚于现在"),
        ({"sampled_at": long_ago}, "sampled_at", "时间不能早于一年前"),
        ({"sample_no": "坏编号"}, "sample_no", "样品编号须为"),
        ({"sample_no": "CJ-1"}, "sample_no", "样品编号 CJ-1 已被使用"),
        ({"sample_no": "KJ-9-FJ"}, "sample_no", "留给复检样品"),
        ({"testing_agency": " "}, "testing_agency", "请填写检验机构"),
        ({"testing_agency": "检" * 101}, "testing_agency", "内容过长"),
        ({"sampling_place": "地" * 201}, "sampling_place", "内容过长"),
        ({"station": "车" * 101}, "station", "内容过长"),
    ]


@pytest.mark.parametrize("case", range(22))
def test_bad_samples_are_refused_next_to_the_field(client, db, site, case):
    batch, _codes = site
    overrides, field, message = _bad_samples(batch.batch_no)[case]
    logged_in(client, Role.INSPECTOR)
    before = counts(db)
    response = submit(client, new_page(batch), sample_form(batch, **overrides))
    assert response.status_code == 422, text(response)[:2000]
    page = text(response)
    assert error_near(page, field, message), page[:5000]
    assert "未保存任何内容" in page
    assert counts(db) == before


def test_a_product_of_another_workshop_is_refused(client, db, site):
    batch, _codes = site
    other = WorkshopFactory()
    logged_in(client)
    response = submit(
        client, new_page(batch), sample_form(batch, workshop_id=str(other.id), batch_no="")
    )
    assert response.status_code == 422
    assert error_near(text(response), "product_id", "不是所选作坊的产品")


def test_a_sample_of_a_product_without_a_batch(client, db, site):
    batch, _codes = site
    logged_in(client)
    number = record_sample(client, batch, batch_no="", kind="lab", task_source="district")
    sample = db.session.scalar(select(Sample).where(Sample.sample_no == number))
    assert sample.batch_id is None and sample.kind is TestKind.LAB
    assert number.startswith("CJ")
    assert "未关联批次" in text(client.get(f"/console/samples/{number}"))


def _bad_results(sampled):
    before_sampling = local(sampled - timedelta(hours=1))
    return [
        ({"lead": {"method": "GB 5009.12", "value": "abc"}}, {}, "rows-{lead}-value", "须为数字"),
        ({"lead": {"method": "GB 5009.12", "value": "NaN"}}, {}, "rows-{lead}-value", "须为数字"),
        ({"lead": {"method": "GB 5009.12", "value": "-1"}}, {}, "rows-{lead}-value", "不能为负"),
        ({"lead": {"value": "0.1"}}, {}, "rows-{lead}-method", "请填写检测方法"),
        (
            {"lead": {"method": "GB 5009.12", "value": "0.1", "unit": "%vol"}},
            {},
            "rows-{lead}-unit",
            "单位 %vol 与标准限量的单位 mg/kg 不符",
        ),
        (
            {"lead": {"method": "GB 5009.12", "value": "0.1"}},
            {"tested_at": before_sampling},
            "tested_at",
            "检测时间不能早于抽样时间",
        ),
        (
            {"lead": {"method": "GB 5009.12", "value": "0.1"}},
            {"tested_at": "someday"},
            "tested_at",
            "不是有效的时间",
        ),
        ({"lead": {"method": "法" * 101, "value": "0.1"}}, {}, "rows-{lead}-method", "内容过长"),
        (
            {"lead": {"method": "GB 5009.12", "value": "0.1", "device_no": "D" * 51}},
            {},
            "rows-{lead}-device_no",
            "内容过长",
        ),
        (
            {"benzoic_acid": {"method": "胶体金法", "qualitative": "maybe"}},
            {},
            "rows-{benzoic_acid}-qualitative",
            "只能是阴性或阳性",
        ),
    ]


@pytest.mark.parametrize("case", range(10))
def test_bad_results_are_refused_next_to_the_field(client, db, site, case):
    batch, _codes = site
    logged_in(client, Role.INSPECTOR)
    number = record_sample(client, batch, kind="rapid")
    sample = db.session.scalar(select(Sample).where(Sample.sample_no == number))
    readings, extra, field, message = _bad_results(sample.sampled_at)[case]
    rows = rows_of(client, number)
    field = field.format(**{code: index for code, index in rows.items()})
    before = counts(db)
    response = post_results(client, number, readings, **extra)
    assert response.status_code == 422, text(response)[:2000]
    page = text(response)
    assert error_near(page, field, message), page[page.find("results") :][:6000]
    assert "未保存任何内容" in page
    db.session.expire_all()
    assert counts(db) == before and batch.state is BatchState.RELEASED


def test_an_empty_results_form_is_refused(client, db, site):
    batch, _codes = site
    logged_in(client)
    before = counts(db)
    response = post_results(client, "CJ-1", {})
    assert response.status_code == 422 and "请至少填写一个检测项目" in text(response)
    assert counts(db) == before


def test_a_forged_row_number_is_refused(client, db, site):
    logged_in(client, Role.INSPECTOR)
    before = counts(db)
    data = results_form(client, "CJ-1", {})
    data["rows-" + "9" * 5000 + "-method"] = "x"
    response = submit(client, "/console/samples/CJ-1", data, action="/console/samples/CJ-1/results")
    assert response.status_code == 422 and "格式不对" in text(response)
    assert counts(db) == before


def test_typing_a_result_again_corrects_it(client, db, site):
    logged_in(client, Role.INSPECTOR)
    page = text(client.get("/console/samples/CJ-1"))
    assert "填写即更正" in page and "限量值未经核对" in page
    response = post_results(
        client,
        "CJ-1",
        {"lead": {"method": "GB 5009.12-2023", "value": "0.08", "unit": "mg/kg"}},
        action_taken="原记录抄写错误",
    )
    assert response.status_code == 302, text(response)[:2000]
    results = db.session.scalars(
        select(TestResult).join(Sample).where(Sample.sample_no == "CJ-1").order_by(TestResult.id)
    ).all()
    assert len(results) == 2 and results[1].supersedes_id == results[0].id
    assert "已被更正" in text(client.get("/console/samples/CJ-1"))
