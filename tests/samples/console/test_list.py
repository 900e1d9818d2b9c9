"""The samples list: its filters, verdicts and states, odd query strings, and the export."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from backend.accounts.models import Role
from backend.audit.models import AuditLog
from backend.core.time import SHANGHAI, utcnow
from backend.samples import recording
from backend.samples.models import TaskSource, TestKind
from backend.samples.results import ResultInput, record_results
from tests.factories import InspectorFactory
from tests.support.console import logged_in, text


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
