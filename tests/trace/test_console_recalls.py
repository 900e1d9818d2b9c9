"""The console's trace and recall page: traces from each start, the recall report, the one-step
recall with CSRF (regulators only), and bad input shown next to the fields with 422."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from backend.accounts.models import Role
from backend.audit.models import AuditLog
from backend.batches.models import Batch, BatchState
from backend.batches.states import change_state
from backend.codes.models import UnitCode
from backend.trace import graph, recall_report
from tests.factories import BatchFactory
from tests.support.console import logged_in, submit, text
from tests.support.trace_chain import chain_fixture  # noqa: F401  (the `chain` fixture)

PAGE = "/console/recalls/"


def states(db, *batches):
    db.session.expire_all()
    return [db.session.get(Batch, b.id).state for b in batches]


def test_the_page_is_in_the_navigation_and_traces_from_a_batch(client, chain):
    logged_in(client, Role.REGULATOR)
    assert "追溯与召回" in text(client.get("/console/"))
    html = text(client.get(PAGE, query_string={"batch": "FY-20261105-01"}))
    for expected in ("FY-20261105-01", "FY-20261106-01", "岩溪镇便民超市", "长泰一中食堂"):
        assert expected in html
    assert "武安农贸市场" in html  # bought the batch sharing lot HD-1
    assert "GD-20261105-01" not in html and "糕点批发部" not in html
    assert "一键召回 2 个批次" in html


@pytest.mark.parametrize(
    ("args", "batches", "buyers"),
    [
        ({"lot": "bean_lot"}, {"FY-20261105-01", "FY-20261106-01"}, 3),
        ({"lot": "bean_lot_2"}, {"FY-20261106-01"}, 2),
        ({"supplier": "salt"}, {"FY-20261105-01"}, 2),
        ({"start": "2026-11-06", "end": "2026-11-06"}, {"FY-20261105-01", "FY-20261106-01"}, 3),
    ],
)
def test_other_starts(client, db, chain, args, batches, buyers):
    logged_in(client, Role.INSPECTOR)  # inspectors may trace
    query = {
        k: (str(getattr(chain, v).id) if k in ("lot", "supplier") else v) for k, v in args.items()
    }
    response = client.get(PAGE, query_string=query)
    assert response.status_code == 200
    html = text(response)
    for no in ("FY-20261105-01", "FY-20261106-01", "GD-20261105-01"):
        assert (no in html) == (no in batches), no
    assert f"<strong>{buyers}</strong> 个购买方" in html
    assert "一键召回" not in html  # not for inspectors


def test_code_start(client, db, chain):
    logged_in(client)
    code = db.session.scalar(select(UnitCode.code).where(UnitCode.batch_id == chain.tofu_b.id))
    html = text(client.get(PAGE, query_string={"code": code}))
    assert "FY-20261105-01" in html and "FY-20261106-01" in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"batch": "NO-SUCH"}, "没有这个批次"),
        ({"code": "not-a-code"}, None),
        ({"code": "0" * 17}, "没有这个追溯码"),
        ({"lot": "abc"}, "编号须为数字"),
        ({"lot": "99999999"}, "没有这个原料批次"),
        ({"supplier": "-1"}, "没有这个供应商"),
        ({"start": "2026-02-30", "end": "2026-03-01"}, "不是有效的日期"),
        ({"start": "31/01/2026", "end": "2026-03-01"}, "不是有效的日期"),
        ({"start": "2026-03-01", "end": "2026-02-01"}, "结束日期不能早于开始日期"),
        ({"start": "2026-03-01"}, "请填写日期"),
        ({"batch": "FY-20261105-01", "lot": "1"}, "请只选择一种追溯起点"),
        ({"batch": "x" * 41}, "批次号无效"),
    ],
)
def test_bad_input_is_shown_next_to_the_field(client, chain, query, message):
    logged_in(client)
    response = client.get(PAGE, query_string=query)
    assert response.status_code == 422
    html = text(response)
    assert "field-errors" in html or "form-errors" in html
    if message:
        assert message in html


def test_recall_report_csv_and_xlsx(client, db, chain):
    logged_in(client)
    response = client.get(PAGE + "report.csv", query_string={"batch": "FY-20261105-01"})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:4] == [
        "事件 Event",
        "日期 Date",
        "产品或原料 Product",
        "追溯批号 Traceability lot code",
    ]
    events = [(r[0].split()[0], r[3]) for r in rows[1:]]
    assert events.count(("收货", "HD-1")) == 1 and events.count(("收货", "LS-1")) == 1
    assert ("收货", "HD-2") not in events
    assert {lot for kind, lot in events if kind == "加工"} == {"FY-20261105-01", "FY-20261106-01"}
    shipping = [r for r in rows[1:] if r[0].startswith("发货")]
    assert len(shipping) == 4
    assert {r[9].split("（")[0].split()[0] for r in shipping} == {
        "岩溪镇便民超市",
        "长泰一中食堂",
        "武安农贸市场",
    }
    assert all(r[10].startswith("销售单 XS-") for r in shipping)
    dates = [r[1] for r in rows[1:]]
    assert dates == sorted(dates)

    response = client.get(PAGE + "report.xlsx", query_string={"lot": chain.bean_lot.id})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    values = list(sheet.iter_rows(values_only=True))
    assert len(values[0]) == len(recall_report.COLUMNS)
    assert all(isinstance(v[4], int | float) for v in values[1:] if v[4] is not None)
    assert any(v[4] is not None for v in values[1:])  # quantities are numbers
    assert db.session.scalar(
        select(func.count()).select_from(AuditLog).where(AuditLog.action == "trace.report")
    )
    assert client.get(PAGE + "report.pdf?batch=FY-20261105-01").status_code == 302
    assert client.get(PAGE + "report.csv?batch=NOPE").status_code == 422


def test_one_step_recall_of_every_affected_batch(client, db, chain):
    logged_in(client)
    page = PAGE + "recall?batch=FY-20261105-01"
    html = text(client.get(page))
    assert "召回全部 2 个批次" in html
    # Without a reason: 422 next to the field, nothing recalled.
    response = submit(client, page, {"reason": ""})
    assert response.status_code == 422
    assert states(db, chain.tofu_a, chain.tofu_b) == [BatchState.RELEASED] * 2
    response = submit(client, page, {"reason": "铝残留超标，共用黑豆批次 HD-1"})
    assert response.status_code == 302
    assert states(db, chain.tofu_a, chain.tofu_b, chain.other_batch) == [
        BatchState.RECALLED,
        BatchState.RECALLED,
        BatchState.RELEASED,
    ]
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "trace.recall_all"))
    assert audit.details["batches"] == ["FY-20261105-01", "FY-20261106-01"]
    # The scan page now says so.
    code = db.session.scalar(select(UnitCode.code).where(UnitCode.batch_id == chain.tofu_b.id))
    assert "召回" in text(client.get(f"/t/{code}"))
    # Again: nothing left to recall.
    assert "没有可召回的批次" in text(client.get(page))
    assert submit(client, page, {"reason": "再次"}).status_code == 422


def test_unreleased_batches_are_listed_not_recalled(client, db, chain):
    draft = BatchFactory(
        product=chain.tofu_a.product, batch_no="FY-DRAFT", produced_on=date(2026, 11, 6)
    )
    from backend.batches.models import BatchInput

    db.session.add(
        BatchInput(batch_id=draft.id, raw_lot_id=chain.bean_lot.id, quantity=1, unit="kg")
    )
    db.session.flush()
    change_state(chain.tofu_b, BatchState.HELD, reason="复检")
    logged_in(client)
    page = PAGE + "recall?batch=FY-20261105-01"
    html = text(client.get(page))
    assert "FY-DRAFT" in html and "尚未放行" in html
    assert submit(client, page, {"reason": "不合格"}).status_code == 302
    assert states(db, chain.tofu_a, chain.tofu_b, draft) == [
        BatchState.RECALLED,
        BatchState.RECALLED,
        BatchState.DRAFT,
    ]


def test_the_recall_needs_the_csrf_token(client, db, chain):
    logged_in(client)
    response = client.post(PAGE + "recall?batch=FY-20261105-01", data={"reason": "x"})
    assert response.status_code == 400
    assert states(db, chain.tofu_a) == [BatchState.RELEASED]


def test_an_inspector_is_refused_the_recall(client, db, chain):
    logged_in(client, Role.INSPECTOR)
    page = PAGE + "recall?batch=FY-20261105-01"
    assert client.get(page).status_code == 403
    # With a valid CSRF token (taken from the trace page, as a browser would): still 403.
    response = submit(client, PAGE, {"reason": "不合格"}, action=page)
    assert response.status_code == 403
    assert "您无权" in text(response) or "监管" in text(response)
    assert states(db, chain.tofu_a, chain.tofu_b) == [BatchState.RELEASED] * 2


def test_recall_all_service_refuses_inspectors(db, chain):
    from backend.core.errors import Forbidden
    from backend.trace import recalls
    from tests.factories import UserFactory

    trace = graph.affected([chain.tofu_a], "t")
    with pytest.raises(Forbidden):
        recalls.recall_all(trace, "原因", UserFactory(role=Role.INSPECTOR))


def test_anonymous_visitors_go_to_the_login(client, chain):
    response = client.get(PAGE)
    assert response.status_code in (302, 401)
