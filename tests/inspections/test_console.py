"""Inspections and rectification in the console, through the test client as a browser would
use them (login, CSRF token from the page, forms, a real PNG photo): the list and its
filters, a new inspection, the checklist, hazards, the conclusion, rectification, review,
closing, overdue hazards, exports; bad input refused next to its field; inspectors refused."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from backend.accounts.models import Role
from backend.audit.models import AuditLog
from backend.core.time import local_today
from backend.files.models import StoredFile
from backend.inspections import conduct
from backend.inspections.checklist import ItemInput, record_items
from backend.inspections.conduct import ConcludeInput, StartInput, start_inspection
from backend.inspections.hazards import HazardInput, add_hazard
from backend.inspections.models import (
    ChecklistItem,
    Hazard,
    HazardStatus,
    Inspection,
    InspectionItem,
    InspectionOutcome,
    Rectification,
)
from backend.inspections.rectifications import RectificationInput, submit_rectification
from backend.registry.models import WorkshopStatus
from tests.factories import RegulatorFactory, WorkshopFactory
from tests.support.console import csrf_token, logged_in, submit, text

INJECTION = "=cmd|' /C calc'!A0"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
BASE = "/console/inspections"


def png(size=(24, 16)) -> bytes:
    """A real, small PNG image."""
    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 120, 60)).save(buffer, format="PNG")
    return buffer.getvalue()


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def audit_count(db) -> int:
    return count(db, AuditLog)


def field_error(page: str, field: str) -> str:
    """The error text shown right below *field* ('' when none)."""
    match = re.search(rf'<ul class="field-errors" id="{field}-errors">(.*?)</ul>', page, re.S)
    return match.group(1) if match else ""


def checklist(**overrides) -> dict:
    """The checklist form: every item compliant unless overridden (result_x / note_x / photo_x)."""
    data = {}
    for item in ChecklistItem:
        data[f"result_{item.value}"] = "compliant"
        data[f"note_{item.value}"] = ""
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture()
def uploads(app, tmp_path, monkeypatch):
    """A private UPLOAD_DIR for the test."""
    path = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(path))
    return path


@pytest.fixture()
def setting(db, uploads):
    """Two workshops in two townships, a cancelled one, and a regulator who inspected before."""
    return {
        "wine": WorkshopFactory(
            name="四大桶红曲酒坊", registration_no="XZF3506252023001", township="半里乡"
        ),
        "tofu": WorkshopFactory(
            name="枋洋豆腐坊", registration_no="XZF3506252023002", township="枋洋镇"
        ),
        "gone": WorkshopFactory(name="已注销糕点坊", status=WorkshopStatus.CANCELLED),
        "colleague": RegulatorFactory(display_name="林监管"),
    }


def inspected(workshop, by, *, days_ago=0, hazard=True, summary="限期整改") -> tuple:
    """A concluded inspection made through the service; with a sanitation hazard (deadline
    15 days after the visit) unless *hazard* is false."""
    day = local_today() - timedelta(days=days_ago)
    inspection = start_inspection(StartInput(workshop_id=workshop.id, inspected_on=day), by=by)
    findings = {item: ItemInput(result="compliant") for item in ChecklistItem}
    if hazard:
        findings[ChecklistItem.SANITATION] = ItemInput(result="non_compliant", note="地面积水")
    record_items(inspection.id, findings, by=by)
    found = None
    if hazard:
        found = add_hazard(
            inspection.id,
            HazardInput(item="sanitation", description="排水沟加盖", deadline=day + timedelta(15)),
            by=by,
        )
    outcome = "rectify" if hazard else "satisfactory"
    conduct.conclude(inspection.id, ConcludeInput(outcome=outcome, summary=summary), by=by)
    return inspection, found


# --- navigation and the list ----------------------------------------------------------------


def test_the_navigation_and_the_workshop_page_lead_here(client, setting):
    logged_in(client)
    wine = setting["wine"]
    page = text(client.get(f"/console/registry/{wine.id}"))
    assert "检查与整改" in page and "新建检查" in page
    assert f'href="{BASE}/new?workshop_id={wine.id}"' in page
    form = text(client.get(f"{BASE}/new?workshop_id={wine.id}"))
    assert f'<option selected value="{wine.id}">' in form or (f'value="{wine.id}" selected' in form)
    assert "已注销糕点坊" not in form


def test_the_list_shows_inspections_with_their_counts(client, setting):
    logged_in(client, Role.INSPECTOR)
    inspected(setting["wine"], setting["colleague"], days_ago=30)
    inspected(setting["tofu"], setting["colleague"], hazard=False, summary="")
    page = text(client.get(f"{BASE}/"))
    assert "共 2 次检查" in page
    assert "四大桶红曲酒坊" in page and "枋洋豆腐坊" in page
    assert "基本符合，限期整改" in page and "林监管" in page
    assert "1 / 1 未销号" in page and "逾期 1 项" in page and 'class="overdue"' in page
    assert "新建检查" not in page  # inspectors read only


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ("township=枋洋镇", "枋洋豆腐坊", "四大桶红曲酒坊"),
        ("outcome=rectify", "四大桶红曲酒坊", "枋洋豆腐坊"),
        ("outcome=satisfactory", "枋洋豆腐坊", "四大桶红曲酒坊"),
        ("overdue=1", "四大桶红曲酒坊", "枋洋豆腐坊"),
        ("q=2023002", "枋洋豆腐坊", "四大桶红曲酒坊"),
    ],
)
def test_the_list_filters(client, setting, query, shown, hidden):
    logged_in(client)
    inspected(setting["wine"], setting["colleague"], days_ago=30)
    inspected(setting["tofu"], setting["colleague"], hazard=False)
    page = text(client.get(f"{BASE}/?{query}"))
    assert shown in page and hidden not in page


def test_the_list_filters_by_year_and_workshop(client, setting):
    logged_in(client)
    inspection, _ = inspected(setting["wine"], setting["colleague"])
    year = inspection.inspected_on.year
    assert "四大桶红曲酒坊" in text(client.get(f"{BASE}/?year={year}"))
    assert "四大桶红曲酒坊" not in text(client.get(f"{BASE}/?year={year - 1}"))
    assert "四大桶红曲酒坊" in text(client.get(f"{BASE}/?workshop={setting['wine'].id}"))
    assert "没有符合条件" in text(client.get(f"{BASE}/?workshop={setting['tofu'].id}"))


@pytest.mark.parametrize(
    "query",
    [
        "outcome=bogus",
        "year=abc",
        "year=99999",
        "page=-1",
        "page=99999999999",
        "q=%25_%5C",
        "workshop=x",
        "overdue=yes",
    ],
)
def test_the_lists_survive_odd_query_strings(client, setting, query):
    logged_in(client)
    assert client.get(f"{BASE}/?{query}").status_code == 200
    assert client.get(f"{BASE}/hazards?{query}&status=bogus").status_code == 200


# --- the whole flow -------------------------------------------------------------------------


def test_a_regulator_inspects_and_follows_up_to_closing(client, db, setting, uploads):
    user = logged_in(client)
    wine = setting["wine"]
    # Start.
    response = submit(
        client,
        f"{BASE}/new?workshop_id={wine.id}",
        {"workshop_id": str(wine.id), "inspected_on": local_today().isoformat()},
        action=f"{BASE}/new",
    )
    assert response.status_code == 302, text(response)[:2000]
    inspection = db.session.scalar(select(Inspection).where(Inspection.workshop_id == wine.id))
    assert response.headers["Location"] == f"{BASE}/{inspection.id}/items"
    assert inspection.inspector_id == user.id and inspection.outcome is None
    # The checklist, with a real photo.
    items_page = f"{BASE}/{inspection.id}/items"
    form_page = text(client.get(items_page))
    assert 'enctype="multipart/form-data"' in form_page
    assert all(f'name="photo_{item.value}"' in form_page for item in ChecklistItem)
    assert "原料采购与进货查验" in form_page and "生活区、生产区、成品区分离" in form_page
    photo = png()
    response = submit(
        client,
        items_page,
        checklist(
            result_sanitation="non_compliant",
            note_sanitation="加工间地面有积水，排水沟未加盖",
            photo_sanitation=(io.BytesIO(photo), "积水.png"),
        ),
    )
    assert response.status_code == 302, text(response)[:3000]
    assert count(db, InspectionItem) == 7
    row = db.session.scalar(
        select(InspectionItem).where(InspectionItem.item == ChecklistItem.SANITATION)
    )
    detail = text(client.get(f"{BASE}/{inspection.id}"))
    assert "检查表已保存" in detail and "加工间地面有积水" in detail
    photo_url = f"{BASE}/photos/{row.photo_file_id}"
    assert f'src="{photo_url}"' in detail
    served = client.get(photo_url)
    assert served.status_code == 200 and served.mimetype == "image/png"
    assert served.data == photo and served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Disposition"].startswith("inline")
    served.close()
    # A hazard.
    deadline = local_today() + timedelta(days=10)
    response = submit(
        client,
        f"{BASE}/{inspection.id}/hazards/new",
        {"item": "sanitation", "description": "排水沟加盖", "deadline": deadline.isoformat()},
    )
    assert response.status_code == 302, text(response)[:3000]
    hazard = db.session.scalar(select(Hazard))
    assert hazard.deadline == deadline and hazard.status is HazardStatus.OPEN
    # The conclusion.
    response = submit(
        client,
        f"{BASE}/{inspection.id}/conclude",
        {"outcome": "rectify", "summary": "现场检查发现问题，责令限期整改。"},
    )
    assert response.status_code == 302, text(response)[:3000]
    db.session.refresh(inspection)
    assert inspection.outcome is InspectionOutcome.RECTIFY
    detail = text(client.get(f"{BASE}/{inspection.id}"))
    assert "基本符合，限期整改" in detail and "不能再修改" in detail
    assert f"{BASE}/{inspection.id}/items" not in detail
    assert client.get(f"{BASE}/{inspection.id}/items").status_code == 409
    # The tracking page lists the hazard.
    tracking = text(client.get(f"{BASE}/hazards"))
    assert "排水沟加盖" in tracking and "待整改" in tracking
    # A rectification, sent back, then another, accepted, then closed.
    after = png((30, 30))
    response = submit(
        client,
        f"{BASE}/hazards/{hazard.id}/rectify",
        {"description": "已加盖排水沟", "photo": (io.BytesIO(after), "整改后.png")},
    )
    assert response.status_code == 302, text(response)[:3000]
    first = db.session.scalar(select(Rectification))
    db.session.refresh(hazard)
    assert first.photo_file_id and hazard.status is HazardStatus.RECTIFYING
    served = client.get(f"{BASE}/photos/{first.photo_file_id}")
    assert served.data == after
    served.close()
    response = submit(
        client,
        f"{BASE}/rectifications/{first.id}/review",
        {"decision": "reject", "note": "地面仍有积水"},
    )
    assert response.status_code == 302
    db.session.refresh(hazard)
    assert hazard.status is HazardStatus.OPEN
    submit(client, f"{BASE}/hazards/{hazard.id}/rectify", {"description": "增设地漏"})
    second = db.session.scalars(select(Rectification).order_by(Rectification.id.desc())).first()
    response = submit(
        client, f"{BASE}/rectifications/{second.id}/review", {"decision": "accept", "note": ""}
    )
    assert response.status_code == 302
    assert "可以销号" in text(client.get(response.headers["Location"]))
    response = submit(client, f"{BASE}/hazards/{hazard.id}/close", {})
    assert response.status_code == 302
    db.session.refresh(hazard)
    assert hazard.status is HazardStatus.CLOSED and hazard.closed_by_id == user.id
    assert "没有待整改的隐患" in text(client.get(f"{BASE}/hazards"))
    detail = text(client.get(f"{BASE}/{inspection.id}"))
    assert "已销号" in detail and "地面仍有积水" in detail and "复查通过" in detail
    logged = set(db.session.scalars(select(AuditLog.action).where(AuditLog.actor_id == user.id)))
    assert {
        "inspection.started",
        "inspection.items_recorded",
        "hazard.added",
        "inspection.concluded",
        "rectification.submitted",
        "rectification.reviewed",
        "hazard.closed",
    } <= logged


def test_a_hazard_listed_by_mistake_is_removed_before_the_conclusion(client, db, setting):
    user = logged_in(client)
    inspection = start_inspection(
        StartInput(workshop_id=setting["wine"].id, inspected_on=local_today()), by=user
    )
    record_items(
        inspection.id,
        {
            item: ItemInput(
                result="non_compliant" if item.value == "sanitation" else "compliant", note="x"
            )
            for item in ChecklistItem
        },
        by=user,
    )
    hazard = add_hazard(
        inspection.id,
        HazardInput(item="sanitation", description="x", deadline=local_today() + timedelta(3)),
        by=user,
    )
    response = submit(
        client, f"{BASE}/{inspection.id}", {}, action=f"{BASE}/hazards/{hazard.id}/remove"
    )
    assert response.status_code == 302
    assert count(db, Hazard) == 0


def test_a_satisfactory_inspection_through_the_pages(client, db, setting):
    logged_in(client)
    inspection = start_inspection(
        StartInput(workshop_id=setting["tofu"].id, inspected_on=local_today()),
        by=setting["colleague"],
    )
    submit(client, f"{BASE}/{inspection.id}/items", checklist())
    page = text(client.get(f"{BASE}/{inspection.id}/conclude"))
    assert 'value="satisfactory" checked' in page
    response = submit(client, f"{BASE}/{inspection.id}/conclude", {"outcome": "satisfactory"})
    assert response.status_code == 302
    db.session.refresh(inspection)
    assert inspection.outcome is InspectionOutcome.SATISFACTORY


def test_seven_photos_may_exceed_the_single_upload_limit_together(client, db, setting, app):
    """Two near-limit photos pass the request's size limit and are judged one by one."""
    user = logged_in(client)
    inspection = start_inspection(
        StartInput(workshop_id=setting["wine"].id, inspected_on=local_today()), by=user
    )
    page = f"{BASE}/{inspection.id}/items"
    junk = b"\xff\xd8\xff\xe0" + b"\x00" * (5 * 1024 * 1024)  # claims JPEG, is not one
    fields = checklist(csrf_token=csrf_token(client, page))
    fields["photo_sanitation"] = FileStorage(io.BytesIO(junk), "a.jpg")
    fields["photo_processing"] = FileStorage(io.BytesIO(junk), "b.jpg")
    boundary, body = encode_multipart(fields)
    assert len(body) > app.config["MAX_CONTENT_LENGTH"]
    response = client.post(
        page, data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert response.status_code == 422
    html = text(response)
    assert "损坏" in field_error(html, "photo_sanitation")
    assert "损坏" in field_error(html, "photo_processing")
    assert count(db, InspectionItem) == 0 and count(db, StoredFile) == 0


# --- bad input: 422, the message next to the field, nothing written -------------------------


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"inspected_on": "+1"}, "inspected_on", "不能晚于今天"),
        ({"inspected_on": "-400"}, "inspected_on", "不能早于"),
        ({"inspected_on": "2024-02-30"}, "inspected_on", "不是有效的日期"),
        ({"inspected_on": ""}, "inspected_on", "必填"),
        ({"workshop_id": ""}, "workshop_id", "请选择"),
        ({"workshop_id": "999999"}, "workshop_id", "作坊不存在"),
        ({"workshop_id": "abc"}, "workshop_id", "作坊不存在"),
        ({"workshop_id": "gone"}, "workshop_id", "已注销"),
    ],
)
def test_a_new_inspection_refuses_bad_input(client, db, setting, fields, field, message):
    logged_in(client)
    data = {"workshop_id": str(setting["wine"].id), "inspected_on": local_today().isoformat()}
    for key, value in fields.items():
        if value in ("+1", "-400"):
            value = (local_today() + timedelta(days=int(value))).isoformat()
        elif value == "gone":
            value = str(setting["gone"].id)
        data[key] = value
    before = audit_count(db)
    response = submit(client, f"{BASE}/new", data)
    assert response.status_code == 422
    assert message in field_error(text(response), field)
    assert count(db, Inspection) == 0 and audit_count(db) == before


@pytest.fixture()
def running(db, setting):
    """An inspection in progress of the wine workshop."""
    return start_inspection(
        StartInput(workshop_id=setting["wine"].id, inspected_on=local_today()),
        by=setting["colleague"],
    )


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"result_processing": None}, "result_processing", "请选择检查结果"),
        ({"result_processing": "bogus"}, "result_processing", "未知的检查结果"),
        ({"result_additives": "non_compliant"}, "note_additives", "写明发现的问题"),
        ({"note_staff_health": "x" * 1001}, "note_staff_health", "1000"),
        ({"photo_sanitation": "pdf"}, "photo_sanitation", "JPEG、PNG 或 WebP"),
        ({"photo_sanitation": "fake"}, "photo_sanitation", "损坏"),
    ],
)
def test_the_checklist_refuses_bad_input(client, db, running, uploads, overrides, field, message):
    logged_in(client)
    data = checklist(photo_processing=(io.BytesIO(png()), "ok.png"))
    for key, value in overrides.items():
        if value == "pdf":
            value = (io.BytesIO(PDF), "report.png")
        elif value == "fake":
            value = (io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64), "fake.png")
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    response = submit(client, f"{BASE}/{running.id}/items", data)
    assert response.status_code == 422
    page = text(response)
    assert message in field_error(page, field)
    assert "未保存任何内容" in page
    assert count(db, InspectionItem) == 0 and count(db, StoredFile) == 0
    assert not (uploads / "uploads").exists() or not any((uploads / "uploads").rglob("*.*"))


def test_an_oversized_photo_is_refused_next_to_its_field(client, db, running, app, monkeypatch):
    logged_in(client)
    photo = png((200, 200))
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", len(photo) - 1)
    response = submit(
        client,
        f"{BASE}/{running.id}/items",
        checklist(photo_area_separation=(io.BytesIO(photo), "big.png")),
    )
    assert response.status_code == 422
    assert "文件过大" in field_error(text(response), "photo_area_separation")
    assert count(db, InspectionItem) == 0 and count(db, StoredFile) == 0


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"item": "processing"}, "item", "不符合"),
        ({"item": "bogus"}, "item", "未知的检查项目"),
        ({"item": ""}, "item", "请选择"),
        ({"description": ""}, "description", "必填"),
        ({"deadline": "+0"}, "deadline", "晚于检查日期"),
        ({"deadline": "+91"}, "deadline", "最长"),
        ({"deadline": "tomorrow"}, "deadline", "不是有效的日期"),
    ],
)
def test_a_hazard_refuses_bad_input(client, db, running, fields, field, message):
    user = logged_in(client)
    findings = {item: ItemInput(result="compliant") for item in ChecklistItem}
    findings[ChecklistItem.SANITATION] = ItemInput(result="non_compliant", note="积水")
    record_items(running.id, findings, by=user)
    data = {
        "item": "sanitation",
        "description": "排水沟加盖",
        "deadline": (local_today() + timedelta(days=7)).isoformat(),
    }
    for key, value in fields.items():
        if value.startswith("+"):
            value = (local_today() + timedelta(days=int(value))).isoformat()
        data[key] = value
    response = submit(client, f"{BASE}/{running.id}/hazards/new", data)
    assert response.status_code == 422
    assert message in field_error(text(response), field)
    assert count(db, Hazard) == 0


def test_the_conclusion_refuses_what_the_findings_contradict(client, db, setting):
    logged_in(client)
    inspection, _ = (None, None)
    inspection = start_inspection(
        StartInput(workshop_id=setting["wine"].id, inspected_on=local_today()),
        by=setting["colleague"],
    )
    page = f"{BASE}/{inspection.id}/conclude"
    response = submit(client, page, {"outcome": "satisfactory"})
    assert response.status_code == 422
    assert "全部 7 个项目" in field_error(text(response), "outcome")
    findings = {item: ItemInput(result="compliant") for item in ChecklistItem}
    findings[ChecklistItem.ADDITIVES] = ItemInput(result="non_compliant", note="未专柜存放")
    record_items(inspection.id, findings, by=setting["colleague"])
    response = submit(client, page, {"outcome": "satisfactory"})
    assert response.status_code == 422
    assert "不能为“符合”" in field_error(text(response), "outcome")
    response = submit(client, page, {"outcome": "rectify", "summary": "整改"})
    assert "至少登记一项隐患" in field_error(text(response), "outcome")
    response = submit(client, page, {"outcome": "unsatisfactory", "summary": ""})
    assert response.status_code == 422
    assert "必填" in field_error(text(response), "summary")
    response = submit(client, page, {})
    assert "请选择检查结论" in field_error(text(response), "outcome")
    db.session.refresh(inspection)
    assert inspection.outcome is None


def test_rectification_review_and_closing_refuse_bad_input(client, db, setting):
    logged_in(client)
    _, hazard = inspected(setting["wine"], setting["colleague"])
    page = f"{BASE}/hazards/{hazard.id}/rectify"
    response = submit(client, page, {"description": "  "})
    assert response.status_code == 422
    assert "必填" in field_error(text(response), "description")
    response = submit(client, page, {"description": "ok", "photo": (io.BytesIO(PDF), "report.pdf")})
    assert response.status_code == 422
    assert "JPEG、PNG 或 WebP" in field_error(text(response), "photo")
    assert count(db, Rectification) == 0 and count(db, StoredFile) == 0
    # Closing before an accepted rectification.
    response = submit(client, f"{BASE}/hazards/{hazard.id}/close", {})
    assert response.status_code == 422
    assert "通过复查后才能销号" in text(response)
    rectification = submit_rectification(
        hazard.id, RectificationInput(description="ok"), by=setting["colleague"]
    )
    review = f"{BASE}/rectifications/{rectification.id}/review"
    response = submit(client, review, {"decision": "reject", "note": ""})
    assert response.status_code == 422
    assert "原因" in field_error(text(response), "note")
    response = submit(client, review, {"note": "x"})
    assert "请选择复查结果" in field_error(text(response), "decision")
    db.session.refresh(rectification)
    assert rectification.accepted is None
    db.session.refresh(hazard)
    assert hazard.status is HazardStatus.RECTIFYING


def test_a_concluded_inspection_cannot_be_changed(client, db, setting):
    logged_in(client)
    inspection, hazard = inspected(setting["wine"], setting["colleague"])
    before = audit_count(db)
    token = csrf_token(client, f"{BASE}/")
    for url, data in (
        (f"{BASE}/{inspection.id}/items", checklist()),
        (f"{BASE}/{inspection.id}/hazards/new", {"item": "sanitation"}),
        (f"{BASE}/{inspection.id}/conclude", {"outcome": "rectify"}),
        (f"{BASE}/hazards/{hazard.id}/remove", {}),
    ):
        response = client.post(url, data={**data, "csrf_token": token})
        assert response.status_code == 409, url
        assert "<html" in text(response)
    assert audit_count(db) == before and count(db, Hazard) == 1


def test_a_form_without_its_token_is_refused(client, db, setting):
    logged_in(client)
    response = client.post(
        f"{BASE}/new",
        data={"workshop_id": str(setting["wine"].id), "inspected_on": local_today().isoformat()},
    )
    assert response.status_code == 400
    assert count(db, Inspection) == 0


# --- overdue --------------------------------------------------------------------------------


def test_overdue_hazards_come_first_and_stand_out(client, setting):
    logged_in(client, Role.INSPECTOR)
    inspected(setting["tofu"], setting["colleague"])  # deadline in 15 days
    inspected(setting["wine"], setting["colleague"], days_ago=27)  # 12 days overdue
    page = text(client.get(f"{BASE}/hazards"))
    assert "未销号隐患 2 项" in page
    assert page.index("四大桶红曲酒坊") < page.index("枋洋豆腐坊")
    assert '<tr class="overdue">' in page
    assert "已逾期 12 天" in page and "剩 15 天" in page
    only = text(client.get(f"{BASE}/hazards?overdue=1"))
    assert "四大桶红曲酒坊" in only and "枋洋豆腐坊" not in only
    assert "逾期 1" in text(client.get(f"{BASE}/"))  # the list's link to the tracking page


# --- exports --------------------------------------------------------------------------------


def test_the_csv_export_neutralises_formulas(client, db, setting):
    user = logged_in(client)
    inspected(setting["wine"], setting["colleague"], days_ago=20, summary=INJECTION)
    response = client.get(f"{BASE}/export.csv?township=半里乡")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "inspections-" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0] == [
        "检查日期",
        "作坊名称",
        "登记证编号",
        "乡镇",
        "检查人员",
        "检查结论",
        "不符合项目",
        "隐患总数",
        "未销号隐患",
        "逾期未整改",
        "检查情况",
    ]
    assert len(rows) == 2
    assert rows[1][1:7] == [
        "四大桶红曲酒坊",
        "XZF3506252023001",
        "半里乡",
        "林监管",
        "基本符合，限期整改",
        "环境卫生",
    ]
    assert rows[1][7:10] == ["1", "1", "1"]
    assert rows[1][10] == "'" + INJECTION
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "inspections.exported"))
    assert entry.actor_id == user.id and entry.details["format"] == "csv"


def test_the_xlsx_export_keeps_dates_and_texts(client, setting):
    logged_in(client, Role.INSPECTOR)
    inspection, _ = inspected(setting["wine"], setting["colleague"], summary=INJECTION)
    response = client.get(f"{BASE}/export.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "检查日期"
    assert rows[1][0].date() == inspection.inspected_on
    assert rows[1][10] == "'" + INJECTION
    assert sheet.cell(row=2, column=11).data_type == "s"


# --- who may act ----------------------------------------------------------------------------


def test_an_inspector_reads_everything(client, setting, uploads):
    colleague = setting["colleague"]
    inspection = start_inspection(
        StartInput(workshop_id=setting["wine"].id, inspected_on=local_today()), by=colleague
    )
    from backend.inspections.photos import Upload

    findings = {item: ItemInput(result="compliant") for item in ChecklistItem}
    findings[ChecklistItem.SANITATION] = ItemInput(
        result="compliant", photo=Upload(io.BytesIO(png()), "a.png")
    )
    record_items(inspection.id, findings, by=colleague)
    photo_id = inspection.items[1].photo_file_id
    logged_in(client, Role.INSPECTOR)
    for url in (
        f"{BASE}/",
        f"{BASE}/hazards",
        f"{BASE}/{inspection.id}",
        f"{BASE}/photos/{photo_id}",
        f"{BASE}/export.csv",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        response.close()
    assert "填写检查表" not in text(client.get(f"{BASE}/{inspection.id}"))


def test_an_inspector_gets_403_on_every_write_and_nothing_changes(client, db, setting):
    colleague = setting["colleague"]
    running = start_inspection(
        StartInput(workshop_id=setting["tofu"].id, inspected_on=local_today()), by=colleague
    )
    findings = {item: ItemInput(result="compliant") for item in ChecklistItem}
    findings[ChecklistItem.SANITATION] = ItemInput(result="non_compliant", note="积水")
    record_items(running.id, findings, by=colleague)
    draft_hazard = add_hazard(
        running.id,
        HazardInput(item="sanitation", description="x", deadline=local_today() + timedelta(5)),
        by=colleague,
    )
    done, hazard = inspected(setting["wine"], colleague)
    rectification = submit_rectification(
        hazard.id, RectificationInput(description="ok"), by=colleague
    )
    logged_in(client, Role.INSPECTOR)
    token = csrf_token(client, f"{BASE}/")
    counts = [count(db, m) for m in (Inspection, InspectionItem, Hazard, Rectification)]
    before = audit_count(db)
    writes = [
        (f"{BASE}/new", {"workshop_id": str(setting["wine"].id)}),
        (f"{BASE}/{running.id}/items", checklist()),
        (f"{BASE}/{running.id}/hazards/new", {"item": "sanitation", "description": "x"}),
        (f"{BASE}/hazards/{draft_hazard.id}/remove", {}),
        (f"{BASE}/{running.id}/conclude", {"outcome": "rectify", "summary": "x"}),
        (f"{BASE}/hazards/{hazard.id}/rectify", {"description": "x"}),
        (f"{BASE}/rectifications/{rectification.id}/review", {"decision": "accept"}),
        (f"{BASE}/hazards/{hazard.id}/close", {}),
    ]
    for url, data in writes:
        if not url.endswith("/remove"):
            got = client.get(url)
            assert got.status_code == 403, url
            assert "<html" in text(got) and "只有监管人员" in text(got)
        posted = client.post(url, data={**data, "csrf_token": token})
        assert posted.status_code == 403, url
    assert [count(db, m) for m in (Inspection, InspectionItem, Hazard, Rectification)] == counts
    assert audit_count(db) == before
    db.session.refresh(rectification)
    assert rectification.accepted is None and done.outcome is InspectionOutcome.RECTIFY


# --- unknown ids ----------------------------------------------------------------------------


def test_unknown_ids_are_html_404s(client, setting):
    logged_in(client)
    token = csrf_token(client, f"{BASE}/")
    for url in (
        f"{BASE}/999999",
        f"{BASE}/999999/items",
        f"{BASE}/999999/hazards/new",
        f"{BASE}/999999/conclude",
        f"{BASE}/hazards/999999/rectify",
        f"{BASE}/rectifications/999999/review",
        f"{BASE}/hazards/999999/close",
        f"{BASE}/photos/999999",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.mimetype == "text/html" and "<html" in text(response)
    response = client.post(f"{BASE}/hazards/999999/remove", data={"csrf_token": token})
    assert response.status_code == 404


# --- the demo data --------------------------------------------------------------------------


def test_the_demo_seed_reads_and_follows_up_in_the_console(client, db, runner, uploads):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    logged_in(client)
    assert client.get(f"{BASE}/").status_code == 200
    tracking = client.get(f"{BASE}/hazards")
    assert tracking.status_code == 200
    for inspection in db.session.scalars(select(Inspection).limit(30)):
        assert client.get(f"{BASE}/{inspection.id}").status_code == 200
    response = client.get(f"{BASE}/export.xlsx")
    assert response.status_code == 200
    # A seeded hazard still open is followed up through the pages.
    hazard = db.session.scalar(
        select(Hazard).where(Hazard.status != HazardStatus.CLOSED).order_by(Hazard.id)
    )
    assert hazard is not None
    assert "已逾期" in text(tracking) or hazard.deadline >= local_today()
    response = submit(client, f"{BASE}/hazards/{hazard.id}/rectify", {"description": "已整改"})
    assert response.status_code == 302, text(response)[:2000]
