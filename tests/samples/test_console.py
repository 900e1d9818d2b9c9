"""Samples and results in the console: the list and its export, recording a sample and its
results, reports, the batch's hold, release and recall, and who may do what.

Every form is posted with its CSRF token (tests/support/console.py), as a browser would.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from backend.accounts.models import MemberRole, Role
from backend.audit.models import AuditLog
from backend.batches.models import BatchState, BatchStateChange
from backend.core.time import SHANGHAI, utcnow
from backend.files.models import StoredFile
from backend.samples import recording
from backend.samples.models import (
    Qualitative,
    Sample,
    SampleStatus,
    TaskSource,
    TestKind,
    TestResult,
)
from backend.samples.results import ResultInput, record_results
from backend.samples.self_checks import record_self_check
from tests.factories import (
    InspectorFactory,
    ProductFactory,
    UserFactory,
    WorkshopFactory,
    WorkshopMembershipFactory,
)
from tests.support.console import logged_in, submit, text

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture()
def site(db, wine, app, tmp_path, monkeypatch):
    """The released wine batch with its codes (and a lab sample CJ-1 with a lead result)."""
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))
    return wine


def local(dt: datetime) -> str:
    """A time as the datetime-local input sends it."""
    return dt.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


def sample_form(batch, **overrides) -> dict:
    """A valid rapid sample of *batch* by the rapid-test vehicle."""
    data = {
        "workshop_id": str(batch.workshop_id),
        "product_id": str(batch.product_id),
        "batch_no": batch.batch_no,
        "kind": "rapid",
        "task_source": "routine",
        "plan_id": "",
        "sample_no": "",
        "sampled_at": local(utcnow() - timedelta(hours=2)),
        "sampling_place": "半里加工区成品库",
        "testing_agency": "长泰区快检车",
        "station": "快检车 KJC-03",
    }
    data.update(overrides)
    return data


def new_page(batch) -> str:
    return f"/console/samples/new?workshop_id={batch.workshop_id}"


def record_sample(client, batch, **overrides) -> str:
    """Record a sample through the form; its number."""
    response = submit(client, new_page(batch), sample_form(batch, **overrides))
    assert response.status_code == 302, text(response)[:3000]
    return response.headers["Location"].rsplit("/", 1)[-1]


ROW = re.compile(r'name="rows-(\d+)-item_code" type="hidden" value="([a-z0-9_]+)"')


def rows_of(client, sample_no: str) -> dict[str, int]:
    """The results form's rows: item code → row number."""
    page = text(client.get(f"/console/samples/{sample_no}"))
    return {code: int(index) for index, code in ROW.findall(page)}


def results_form(client, sample_no: str, readings: dict, **extra) -> dict:
    """The results form as a browser posts it: every row, the given ones filled in."""
    rows = rows_of(client, sample_no)
    assert rows, "no results form on the page"
    data = {}
    for code, index in rows.items():
        reading = readings.get(code, {})
        prefix = f"rows-{index}-"
        data[prefix + "item_code"] = code
        data[prefix + "method"] = reading.get("method", "")
        data[prefix + "value"] = reading.get("value", "")
        data[prefix + "unit"] = reading.get("unit", "g/kg" if code != "lead" else "mg/kg")
        data[prefix + "qualitative"] = reading.get("qualitative", "")
        data[prefix + "device_no"] = reading.get("device_no", "")
    data["tested_at"] = extra.pop("tested_at", local(utcnow() - timedelta(minutes=30)))
    data["action_taken"] = extra.pop("action_taken", "")
    data["complete"] = extra.pop("complete", "y")
    data.update(extra)
    return data


def post_results(client, sample_no: str, readings: dict, **extra):
    page = f"/console/samples/{sample_no}"
    return submit(
        client,
        page,
        results_form(client, sample_no, readings, **extra),
        action=f"{page}/results",
    )


def counts(db) -> tuple[int, int, int, int]:
    return (
        db.session.scalar(select(func.count(Sample.id))),
        db.session.scalar(select(func.count(TestResult.id))),
        db.session.scalar(select(func.count(BatchStateChange.id))),
        db.session.scalar(select(func.count(StoredFile.id))),
    )


POSITIVE = {"benzoic_acid": {"method": "胶体金法", "qualitative": "positive", "device_no": "KJ-7"}}


def error_near(page: str, field: str, message: str) -> bool:
    """Whether *message* sits in the error list right under *field*."""
    marker = f'id="{field}-errors"'
    return marker in page and message in page[page.index(marker) : page.index(marker) + 600]


# -- the flows the issue must show -------------------------------------------------------------


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


# -- the list ----------------------------------------------------------------------------------


@pytest.fixture()
def many(db, site):
    """Besides CJ-1 (lab, district, pass): a rapid positive and an empty lab sample."""
    batch, _codes = site
    vehicle = InspectorFactory()
    rapid = recording.record_sample(
        by=vehicle,
        kind=TestKind.RAPID,
        batch=batch,
        task_source=TaskSource.ROUTINE,
        testing_agency="快检车",
        sampled_at=utcnow() - timedelta(days=3),
        sample_no="KJ-LIST-1",
    )
    record_results(
        rapid,
        [ResultInput("benzoic_acid", "胶体金法", qualitative=Qualitative.POSITIVE)],
        by=vehicle,
    )
    other = WorkshopFactory(name="枋洋豆腐坊")
    tofu = ProductFactory(workshop=other, name="坊洋黑豆腐")
    lab = recording.record_sample(
        by=vehicle,
        kind=TestKind.LAB,
        product=tofu,
        task_source=TaskSource.MUNICIPAL,
        testing_agency="漳州市检验所",
        sampled_at=utcnow() - timedelta(days=40),
        sample_no="CJ-LIST-2",
    )
    db.session.flush()
    return batch, rapid, lab, other


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ("kind=rapid", ["KJ-LIST-1"], ["CJ-1", "CJ-LIST-2"]),
        ("kind=lab", ["CJ-1", "CJ-LIST-2"], ["KJ-LIST-1"]),
        ("task_source=municipal", ["CJ-LIST-2"], ["CJ-1", "KJ-LIST-1"]),
        ("verdict=positive_screen", ["KJ-LIST-1"], ["CJ-1", "CJ-LIST-2"]),
        ("verdict=pass", ["CJ-1"], ["KJ-LIST-1", "CJ-LIST-2"]),
        ("verdict=none", ["CJ-LIST-2", "KJ-LIST-1-FJ"], ["KJ-LIST-1", "CJ-1"]),
        ("status=collected", ["CJ-LIST-2"], ["KJ-LIST-1"]),
        ("awaiting=1", ["KJ-LIST-1", "KJ-LIST-1-FJ"], ["CJ-1", "CJ-LIST-2"]),
        ("q=list-2", ["CJ-LIST-2"], ["KJ-LIST-1"]),
        ("q=LIN-2026", ["CJ-1", "KJ-LIST-1"], ["CJ-LIST-2"]),
    ],
)
def test_list_filters(client, many, query, shown, hidden):
    logged_in(client, Role.INSPECTOR)
    page = text(client.get(f"/console/samples/?{query}"))
    for number in shown:
        assert f">{number}</a>" in page, (query, number)
    for number in hidden:
        assert f">{number}</a>" not in page, (query, number)


def test_list_filters_by_workshop_and_dates(client, many):
    batch, _rapid, _lab, other = many
    logged_in(client)
    page = text(client.get(f"/console/samples/?workshop_id={other.id}"))
    assert "CJ-LIST-2" in page and "KJ-LIST-1" not in page
    start = (utcnow() - timedelta(days=10)).astimezone(SHANGHAI).date().isoformat()
    recent = text(client.get(f"/console/samples/?sampled_from={start}"))
    assert "KJ-LIST-1" in recent and "CJ-LIST-2" not in recent
    end = (utcnow() - timedelta(days=30)).astimezone(SHANGHAI).date().isoformat()
    older = text(client.get(f"/console/samples/?sampled_to={end}"))
    assert "CJ-LIST-2" in older and "KJ-LIST-1" not in older


def test_list_shows_verdicts_states_and_unverified_limits(client, many):
    logged_in(client)
    page = text(client.get("/console/samples/"))
    assert "共 4 个样品" in page  # CJ-1, KJ-LIST-1, its lab task, CJ-LIST-2
    assert "已暂控" in page and "快检阳性，待复检" in page and "限量值未经核对" in page


@pytest.mark.parametrize(
    "query",
    [
        "kind=bogus",
        "workshop_id=abc",
        "workshop_id=99999999999999",
        "workshop_id=%C2%B2",
        f"workshop_id={'9' * 5000}",
        "page=%C2%B2",
        "sampled_from=2024-13-45",
        "sampled_to=1900-01-01",
        "verdict=maybe",
        "page=-1",
        "page=99999999999",
        "q=%25_%5C",
        "status=lost&task_source=nobody",
    ],
)
def test_list_survives_odd_query_strings(client, many, query):
    logged_in(client)
    response = client.get(f"/console/samples/?{query}")
    assert response.status_code == 200
    if "page" not in query and "q=" not in query:
        assert "已忽略" in text(response)


def test_navigation_and_the_workshop_page_link_here(client, db, site):
    batch, _codes = site
    logged_in(client)
    home = text(client.get("/console/samples/"))
    assert 'href="/console/samples/"' in home and "抽检与检测" in home
    workshop_page = text(client.get(f"/console/registry/{batch.workshop_id}"))
    assert f"/console/samples/?workshop_id={batch.workshop_id}" in workshop_page


# -- bad input ---------------------------------------------------------------------------------


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


# -- reports -----------------------------------------------------------------------------------


def upload(client, sample_no: str, content: bytes, name: str = "report.pdf"):
    page = f"/console/samples/{sample_no}"
    return submit(
        client,
        page,
        {"file": (io.BytesIO(content), name)},
        action=f"{page}/report",
        content_type="multipart/form-data",
    )


def test_a_report_is_attached_and_downloaded(client, db, site):
    logged_in(client, Role.INSPECTOR)
    response = upload(client, "CJ-1", PDF, "检验报告 CJ-1.pdf")
    assert response.status_code == 302, text(response)[:2000]
    page = text(client.get("/console/samples/CJ-1"))
    assert "已上传检验报告" in page and "/console/samples/CJ-1/report" in page
    with client.get("/console/samples/CJ-1/report") as download:
        assert download.status_code == 200 and download.data == PDF
        assert download.mimetype == "application/pdf"
        assert "attachment" in download.headers["Content-Disposition"]
        assert "no-store" in download.headers["Cache-Control"]
    client.delete_cookie("session")
    anonymous = client.get("/console/samples/CJ-1/report")
    assert anonymous.status_code == 302 and "/console/login" in anonymous.headers["Location"]


def test_a_missing_report_is_a_404_page(client, db, site):
    logged_in(client)
    response = client.get("/console/samples/CJ-1/report")
    assert response.status_code == 404 and "尚无检验报告" in text(response)


@pytest.mark.parametrize(
    ("content", "limit", "message"),
    [
        (b"GIF89a not a pdf", None, "检验报告须为 PDF 文件"),
        (b"", None, "检验报告须为 PDF 文件"),
        (PDF + b"0" * 4096, 1024, "文件过大"),  # over the service's limit
        (PDF + b"0" * 300_000, "content", "文件过大"),  # cut off before it is read
    ],
)
def test_bad_reports_are_refused_next_to_the_field(
    client, db, site, app, monkeypatch, content, limit, message
):
    if limit == "content":
        monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 100_000)
    elif limit:
        monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", limit)
    logged_in(client, Role.INSPECTOR)
    before = counts(db)
    response = upload(client, "CJ-1", content)
    assert response.status_code == 422, text(response)[:2000]
    assert error_near(text(response), "file", message)
    db.session.expire_all()
    assert counts(db) == before
    assert (
        db.session.scalar(select(Sample.report_file_id).where(Sample.sample_no == "CJ-1")) is None
    )


def test_no_file_chosen_is_refused(client, db, site):
    logged_in(client)
    page = "/console/samples/CJ-1"
    response = submit(client, page, {}, action=f"{page}/report")
    assert response.status_code == 422 and error_near(text(response), "file", "请选择要上传")


# -- the export --------------------------------------------------------------------------------


def test_export_one_row_per_live_result_with_formulas_neutralised(client, db, many):
    batch, rapid, _lab, _other = many
    vehicle = InspectorFactory()
    evil = recording.record_sample(
        by=vehicle,
        kind=TestKind.LAB,
        batch=batch,
        task_source=TaskSource.DISTRICT,
        testing_agency='=HYPERLINK("http://evil.example","点我")',
        sampled_at=utcnow() - timedelta(hours=5),
        sample_no="CJ-EVIL",
    )
    first = record_results(
        evil,
        [ResultInput("lead", "@SUM(A1:A9)", value=Decimal("0.2"), unit="mg/kg")],
        by=vehicle,
        complete=False,
    ).results[0]
    record_results(
        evil,
        [
            ResultInput(
                "lead", "+GB 5009.12", value=Decimal("0.3"), unit="mg/kg", supersedes_id=first.id
            )
        ],
        by=vehicle,
    )
    user = logged_in(client, Role.INSPECTOR)
    response = client.get("/console/samples/export.csv?q=EVIL")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["样品编号", "抽样日期", "作坊"] and "限量值已核对" in rows[0]
    assert len(rows) == 2  # the superseded reading is left out
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["样品编号"] == "CJ-EVIL" and row["批次"] == batch.batch_no
    assert row["检验机构"].startswith("'=HYPERLINK")
    assert row["检测方法"] == "'+GB 5009.12" and row["检测值"] == "0.3"
    assert row["单位"] == "mg/kg" and row["标准值"] == "≤0.5 mg/kg"
    assert row["判定依据"] == "GB 2762-2022 表1 酒类 黄酒"
    assert row["限量值已核对"] == "否（未经核对）"
    assert row["结论"] == "合格" and row["检测类型"] == "实验室检测"
    assert row["任务来源"] == "区级监督抽检"
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "results.exported"))
    assert audit.actor_id == user.id and audit.details["rows"] == 1
    assert audit.details["format"] == "csv"

    xlsx = client.get("/console/samples/export.xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    values = [[c.value for c in r] for r in sheet.iter_rows()]
    header = values[0]
    agency = header.index("检验机构")
    evil_rows = [r for r in values[1:] if r[0] == "CJ-EVIL"]
    assert evil_rows[0][agency].startswith("'=HYPERLINK")
    numbers = {r[0] for r in values[1:]}
    assert numbers == {"CJ-1", "KJ-LIST-1", "CJ-EVIL"}  # samples without results add no row
    sheet_date = evil_rows[0][header.index("抽样日期")]
    assert isinstance(sheet_date, datetime)  # a date cell, not text


def test_export_follows_the_filters(client, db, many):
    logged_in(client)
    rows = list(
        csv.reader(
            io.StringIO(
                client.get("/console/samples/export.csv?verdict=positive_screen").data.decode(
                    "utf-8-sig"
                )
            )
        )
    )
    assert [r[0] for r in rows[1:]] == ["KJ-LIST-1"]


# -- self-checks in the console ------------------------------------------------------------------


def test_self_checks_are_read_but_not_written_in_the_console(client, db, site):
    batch, _codes = site
    owner = UserFactory()
    WorkshopMembershipFactory(user=owner, workshop_id=batch.workshop_id, role=MemberRole.OWNER)
    recorded = record_self_check(
        batch.workshop_id,
        batch.batch_no,
        by=owner,
        sampled_at=utcnow() - timedelta(hours=1),
        items=[ResultInput("benzoic_acid", "试纸法", qualitative=Qualitative.NEGATIVE)],
    )
    number = recorded.sample.sample_no
    logged_in(client)
    page = text(client.get(f"/console/samples/{number}"))
    assert "作坊自检" in page and "只能查看" in page
    assert 'name="rows-0-item_code"' not in page and 'enctype="multipart/form-data"' not in page
    listed = text(client.get("/console/samples/?task_source=self_check"))
    assert number in listed and "CJ-1" not in listed
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    before = counts(db)
    response = client.post(
        f"/console/samples/{number}/results",
        data={"csrf_token": token, "rows-0-item_code": "benzoic_acid", "rows-0-method": "m"},
    )
    assert response.status_code == 403
    assert counts(db) == before
    assert db.session.get(Sample, recorded.sample.id).status is SampleStatus.COMPLETED
