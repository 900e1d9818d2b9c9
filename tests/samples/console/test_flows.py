"""The flows the issue must show in the console (a rapid positive holds the batch, a lab fail
and the regulator's recall, a lab pass and release, holding by hand), and its guards.

Every form is posted with its CSRF token (tests/support/console.py), as a browser would."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from backend.accounts.models import Role
from backend.batches.models import BatchState
from backend.samples.models import Sample, TaskSource, TestKind, TestResult
from tests.samples.console.pages import (
    POSITIVE,
    counts,
    error_near,
    new_page,
    post_results,
    record_sample,
    sample_form,
)
from tests.support.console import logged_in, submit, text


def test_a_rapid_positive_holds_the_batch_and_the_scan_shows_it(client, db, site):
    batch, codes = site
    logged_in(client, Role.INSPECTOR)
    code = codes[0]
    assert client.get(f"/api/v1/scan/{code}").get_json()["alerts"] == []  # cached now
    form_page = text(client.get(new_page(batch)))
    assert batch.batch_no in form_page  # the workshop's batches are offered
    assert "作坊自检" not in form_page.split('name="task_source"')[1].split("</select>")[0]

    rapid_no = record_sample(client, batch)
    sample = db.session.scalar(select(Sample).where(Sample.sample_no == rapid_no))
    assert sample.kind is TestKind.RAPID and sample.task_source is TaskSource.ROUTINE
    assert sample.batch_id == batch.id and sample.testing_agency == "长泰区快检车"
    page = text(client.get(f"/console/samples/{rapid_no}"))
    assert f"已登记样品 {rapid_no}" in page and "尚未登记检测结果" in page

    response = post_results(client, rapid_no, POSITIVE, action_taken="已通知作坊暂停销售")
    assert response.status_code == 302, text(response)[:3000]
    db.session.expire_all()
    assert batch.state is BatchState.HELD
    result = db.session.scalar(select(TestResult).where(TestResult.sample_id == sample.id))
    assert str(result.verdict) == "positive_screen" and result.device_no == "KJ-7"
    assert result.unit == ""  # a qualitative reading carries no unit

    page = text(client.get(response.headers["Location"]))
    assert "批次已暂控" in page and f"已生成实验室复检任务 {rapid_no}-FJ" in page
    assert "快检阳性，待复检" in page and "限量值未经核对" in page
    assert f'href="/console/samples/{rapid_no}-FJ"' in page  # rapid → lab task
    task = text(client.get(f"/console/samples/{rapid_no}-FJ"))
    assert f'href="/console/samples/{rapid_no}"' in task  # lab task → rapid sample
    assert "已暂控" in task and "待实验室确认" in task

    view = client.get(f"/api/v1/scan/{code}").get_json()
    assert view["alerts"][0]["kind"] == "held" and view["batch"]["state"] == "held"
    assert rapid_no in view["alerts"][0]["reason"]
    scan_page = text(client.get(f"/t/{code}"))
    # the answer first: the status panel says 已暂控 before the name, the alert follows it
    assert scan_page.index("已暂控") < scan_page.index("半里红曲酒</h1>")
    assert "该批次产品已暂停销售" in scan_page

    listed = text(client.get("/console/samples/?awaiting=1"))
    assert rapid_no in listed and f"{rapid_no}-FJ" in listed and "CJ-1" not in listed


def test_a_lab_fail_and_the_regulators_recall_show_recalled(client, db, site):
    batch, codes = site
    code = codes[1]
    logged_in(client, Role.INSPECTOR)
    rapid_no = record_sample(client, batch)
    post_results(client, rapid_no, POSITIVE)
    failed = post_results(
        client,
        f"{rapid_no}-FJ",
        {"benzoic_acid": {"method": "GB 5009.28-2016", "value": "0.12", "unit": "g/kg"}},
    )
    assert failed.status_code == 302, text(failed)[:3000]
    page = text(client.get(failed.headers["Location"]))
    assert "不合格" in page and "监管人员应决定召回" in page
    assert "0.12" in page and "不得使用" in page and "GB 2760" in page
    assert "确认快检样品" in page  # the lab result names the screen it answers

    client.delete_cookie("session")  # a fresh session for the regulator
    logged_in(client, Role.REGULATOR)
    detail = text(client.get(f"/console/samples/{rapid_no}-FJ"))
    assert "建议召回" in detail and "/batch/recall" in detail and "/batch/release" in detail
    release = submit(
        client,
        f"/console/samples/{rapid_no}-FJ/batch/release",
        {"reason": "放行"},
    )
    assert release.status_code == 409
    assert "不能放行" in text(release)
    recall_page = f"/console/samples/{rapid_no}-FJ/batch/recall"
    recalled = submit(client, recall_page, {"reason": "实验室确认苯甲酸不合格，召回。"})
    assert recalled.status_code == 302, text(recalled)[:2000]
    db.session.expire_all()
    assert batch.state is BatchState.RECALLED
    assert "批次已召回" in text(client.get(recalled.headers["Location"]))

    view = client.get(f"/api/v1/scan/{code}").get_json()
    assert view["alerts"][0]["kind"] == "recalled"
    assert view["alerts"][0]["reason"] == "实验室确认苯甲酸不合格，召回。"
    scan_page = text(client.get(f"/t/{code}"))
    assert "已召回" in scan_page
    assert scan_page.index("已召回") < scan_page.index("半里红曲酒</h1>")
    assert "该批次产品已召回" in scan_page


def test_a_lab_pass_lets_the_regulator_release(client, db, site):
    batch, _codes = site
    logged_in(client, Role.REGULATOR)
    rapid_no = record_sample(client, batch)
    post_results(client, rapid_no, POSITIVE)
    early = submit(client, f"/console/samples/{rapid_no}/batch/release", {"reason": "放行"})
    assert early.status_code == 409 and "尚待实验室确认" in text(early)
    post_results(
        client,
        f"{rapid_no}-FJ",
        {"benzoic_acid": {"method": "GB 5009.28-2016", "value": "0", "unit": "g/kg"}},
    )
    assert "可以解除暂控" in text(client.get(f"/console/samples/{rapid_no}"))
    released = submit(
        client, f"/console/samples/{rapid_no}/batch/release", {"reason": "实验室复检合格"}
    )
    assert released.status_code == 302
    db.session.expire_all()
    assert batch.state is BatchState.RELEASED and batch.hold_reason == ""


@pytest.mark.parametrize("action", ["hold", "release", "recall"])
def test_an_inspector_may_not_hold_release_or_recall(client, db, site, action):
    batch, _codes = site
    logged_in(client, Role.INSPECTOR)
    rapid_no = record_sample(client, batch)
    post_results(client, rapid_no, POSITIVE)
    db.session.expire_all()
    state = batch.state
    page = text(client.get(f"/console/samples/{rapid_no}"))
    assert "/batch/" not in page  # no buttons for inspectors
    before = counts(db)
    url = f"/console/samples/{rapid_no}/batch/{action}"
    assert client.get(url).status_code == 403
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post(url, data={"csrf_token": token, "reason": "越权"})
    assert response.status_code == 403
    assert "text/html" in response.content_type and "此操作仅限监管人员" in text(response)
    db.session.expire_all()
    assert counts(db) == before and batch.state is state


def test_the_regulator_holds_a_released_batch_by_hand(client, db, site):
    batch, codes = site
    logged_in(client)
    page = "/console/samples/CJ-1/batch/hold"
    empty = submit(client, page, {"reason": "  "})
    assert empty.status_code == 422 and error_near(text(empty), "reason", "请填写理由")
    db.session.expire_all()
    assert batch.state is BatchState.RELEASED
    held = submit(client, page, {"reason": "群众投诉，暂控待查"})
    assert held.status_code == 302
    db.session.expire_all()
    assert batch.state is BatchState.HELD
    assert client.get(f"/api/v1/scan/{codes[0]}").get_json()["alerts"][0]["kind"] == "held"
    again = submit(client, page, {"reason": "再暂控"})
    assert again.status_code == 409 and "不能暂控" in text(again)


def test_forms_need_their_csrf_token(client, db, site):
    batch, _codes = site
    logged_in(client, Role.REGULATOR)
    before = counts(db)
    response = client.post(new_page(batch), data=sample_form(batch))
    assert response.status_code == 400 and "安全令牌" in text(response)
    recall = client.post("/console/samples/CJ-1/batch/recall", data={"reason": "x"})
    assert recall.status_code == 400
    assert counts(db) == before


def test_pages_need_a_login(client, db, site):
    for url in ("/console/samples/", "/console/samples/CJ-1", "/console/samples/export.csv"):
        response = client.get(url)
        assert response.status_code == 302 and "/console/login" in response.headers["Location"]
