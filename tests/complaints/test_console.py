"""Complaints in the console: the list and its filters, a complaint with what it is about,
assigning, answering and closing it, bad input next to the field, and what inspectors may
not do.

Every form is posted with its CSRF token (tests/support/console.py), as a browser would.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from backend.accounts.models import Role
from backend.audit.models import AuditLog
from backend.codes.codegen import generate_code
from backend.codes.models import UnitCode
from backend.complaints import services as complaints
from backend.complaints.models import ComplaintChannel, ComplaintStatus
from backend.complaints.services import ComplaintInput
from backend.core.time import SHANGHAI, local_today
from tests.factories import BatchFactory, CodeIssuanceFactory
from tests.support.console import console_user, logged_in, submit, text


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture()
def setting(db):
    """A batch with a code, a complaint about the code and one about another workshop."""
    batch = BatchFactory(batch_no="B20260501")
    batch.workshop.name = "四大桶红曲酒坊"
    other = BatchFactory(batch_no="B20260502")
    other.workshop.name = "内坊豆腐坊"
    issuance = CodeIssuanceFactory(batch=batch, count=1)
    code = UnitCode(code=generate_code(), batch_id=batch.id, issuance_id=issuance.id, serial=1)
    db.session.add(code)
    db.session.flush()
    about_code = complaints.file_complaint(
        ComplaintInput(
            content="瓶盖封口有松动，请核实。",
            code=code.code,
            contact_name="李女士",
            contact_phone="13959612345",
        ),
        channel=ComplaintChannel.SCAN_PAGE,
    )
    about_tofu = complaints.file_complaint(
        ComplaintInput(content="买到的黑豆腐有酸味。", workshop_id=other.workshop_id)
    )
    about_code.created_at = datetime.now(SHANGHAI) - timedelta(days=5)
    db.session.flush()
    return {
        "batch": batch,
        "code": code,
        "workshop": batch.workshop,
        "other_workshop": other.workshop,
        "about_code": about_code,
        "about_tofu": about_tofu,
    }


def page_of(complaint) -> str:
    return f"/console/complaints/{complaint.id}"


# --- the list -------------------------------------------------------------------------------


def test_the_list_is_newest_first_with_a_badge_for_new_ones(client, setting):
    logged_in(client, Role.INSPECTOR)
    page = text(client.get("/console/complaints/"))
    assert "共 2 件" in page
    assert page.index("买到的黑豆腐有酸味") < page.index("瓶盖封口有松动")
    assert setting["about_code"].reference in page
    assert "待处理" in page and "未指派" in page
    assert 'title="2 件待处理"' in page  # the navigation's badge


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ("status=new", "瓶盖封口", None),
        ("status=closed", None, "瓶盖封口"),
        ("status=bogus", None, "瓶盖封口"),
        ("workshop_id={other}", "黑豆腐", "瓶盖封口"),
        ("workshop_id=abc", None, "黑豆腐"),
        ("date_from={today}", "黑豆腐", "瓶盖封口"),
        ("date_to={four_days_ago}", "瓶盖封口", "黑豆腐"),
        ("date_from=soon", "黑豆腐", None),
        ("mine=1", None, "黑豆腐"),
    ],
)
def test_list_filters(client, setting, query, shown, hidden):
    logged_in(client)
    query = query.format(
        other=setting["other_workshop"].id,
        today=local_today().isoformat(),
        four_days_ago=(local_today() - timedelta(days=4)).isoformat(),
    )
    response = client.get(f"/console/complaints/?{query}")
    assert response.status_code == 200
    page = text(response)
    if shown:
        assert shown in page
    if hidden:
        assert hidden not in page
    if "soon" in query:
        assert "不是有效的日期，已忽略" in page


def test_assigned_to_me(client, db, setting):
    inspector = logged_in(client, Role.INSPECTOR)
    regulator = console_user(Role.REGULATOR)
    complaints.assign(setting["about_tofu"].id, inspector.id, by=regulator)
    page = text(client.get("/console/complaints/?mine=1"))
    assert "黑豆腐" in page and "瓶盖封口" not in page


def test_the_workshop_page_links_to_its_complaints(client, setting):
    logged_in(client)
    workshop = setting["workshop"]
    page = text(client.get(f"/console/registry/{workshop.id}"))
    assert f"/console/complaints/?workshop_id={workshop.id}" in page


# --- a complaint -----------------------------------------------------------------------------


def test_a_complaint_shows_its_code_batch_and_workshop(client, setting):
    logged_in(client)
    page = text(client.get(page_of(setting["about_code"])))
    assert setting["code"].code in page and "B20260501" in page and "四大桶红曲酒坊" in page
    assert "13959612345" in page and "扫码页面" in page
    assert "指派处理人" in page and "答复投诉人" in page and "办结投诉" in page


def test_an_unknown_complaint_is_an_html_404(client, setting):
    logged_in(client)
    response = client.get("/console/complaints/999999")
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "投诉不存在" in text(response)


def test_assign_respond_and_close(client, db, setting):
    regulator = logged_in(client)
    inspector = console_user(Role.INSPECTOR, display_name="陈检验")
    complaint = setting["about_code"]
    url = page_of(complaint)
    response = submit(client, url, {"assigned_to": str(inspector.id)}, action=f"{url}/assign")
    assert response.status_code == 302, text(response)[:3000]
    db.session.refresh(complaint)
    assert complaint.assigned_to_id == inspector.id
    assert "陈检验" in text(client.get(url))
    response = submit(client, url, {"reply": "已到作坊核查封口设备。"}, action=f"{url}/respond")
    assert response.status_code == 302
    db.session.refresh(complaint)
    assert complaint.status is ComplaintStatus.HANDLING and complaint.replied_at
    response = submit(client, url, {}, action=f"{url}/close")
    assert response.status_code == 302
    db.session.refresh(complaint)
    assert complaint.status is ComplaintStatus.CLOSED
    assert complaint.handled_by_id == regulator.id and complaint.closed_at
    page = text(client.get(url))
    assert "已办结" in page and "不能重新打开" in page
    assert f"{url}/respond" not in page and f"{url}/close" not in page
    # no reopening: answering or closing again is refused and changes nothing
    for action, data in (("respond", {"reply": "再答复"}), ("close", {})):
        response = submit(client, url, data, action=f"{url}/{action}")
        assert response.status_code == 422
        assert "该投诉已办结" in text(response)
    db.session.refresh(complaint)
    assert complaint.reply == "已到作坊核查封口设备。"


@pytest.mark.parametrize(
    ("who", "message"),
    [
        ("unknown", "处理人不存在"),
        ("operator", "只能指派给监管人员或检验人员"),
        ("retired", "已停用"),
        ("empty", "请选择处理人"),
        ("text", "处理人不存在"),
    ],
)
def test_bad_assignments_are_refused_next_to_the_field(client, db, setting, who, message):
    logged_in(client)
    user_id = {
        "unknown": "999999",
        "operator": str(console_user(Role.OPERATOR).id),
        "retired": str(console_user(Role.INSPECTOR, active=False).id),
        "empty": "",
        "text": "abc",
    }[who]
    complaint = setting["about_code"]
    url = page_of(complaint)
    audits = count(db, AuditLog)
    response = submit(client, url, {"assigned_to": user_id}, action=f"{url}/assign")
    assert response.status_code == 422
    page = text(response)
    errors_at = page.index('id="assigned_to-errors"')
    assert message in page[errors_at : errors_at + 300]
    assert "未保存任何内容" in page
    db.session.refresh(complaint)
    assert complaint.assigned_to_id is None
    assert count(db, AuditLog) == audits


def test_an_empty_answer_and_closing_without_one_are_refused(client, db, setting):
    logged_in(client)
    complaint = setting["about_code"]
    url = page_of(complaint)
    response = submit(client, url, {"reply": "   "}, action=f"{url}/respond")
    assert response.status_code == 422
    page = text(response)
    assert "必填" in page[page.index('id="reply-errors"') :][:300]
    response = submit(client, url, {}, action=f"{url}/close")
    assert response.status_code == 422
    page = text(response)
    assert "尚未答复投诉人，不能办结" in page[page.index('id="reply-errors"') :][:300]
    db.session.refresh(complaint)
    assert complaint.status is ComplaintStatus.NEW and complaint.closed_at is None
    assert complaint.reply == ""


def test_a_form_without_its_token_is_refused(client, db, setting):
    logged_in(client)
    complaint = setting["about_code"]
    response = client.post(f"{page_of(complaint)}/respond", data={"reply": "没有令牌"})
    assert response.status_code == 400
    db.session.refresh(complaint)
    assert complaint.reply == ""


# --- inspectors -----------------------------------------------------------------------------


def test_inspectors_cannot_assign_or_close_and_answer_only_their_own(client, db, setting):
    inspector = logged_in(client, Role.INSPECTOR)
    regulator = console_user(Role.REGULATOR)
    complaint = setting["about_code"]
    url = page_of(complaint)
    page = text(client.get(url))
    assert "139****2345" in page and "13959612345" not in page
    assert f"{url}/assign" not in page and f"{url}/close" not in page
    assert f"{url}/respond" not in page
    audits = count(db, AuditLog)
    for action, data in (
        ("assign", {"assigned_to": str(inspector.id)}),
        ("close", {}),
        ("respond", {"reply": "我来答复"}),
    ):
        response = submit(client, url, data, action=f"{url}/{action}")
        assert response.status_code == 403, action
    db.session.refresh(complaint)
    assert complaint.assigned_to_id is None and complaint.reply == ""
    assert complaint.status is ComplaintStatus.NEW
    assert count(db, AuditLog) == audits
    # once it is assigned to them they see the number and may answer, but still not close
    complaints.assign(complaint.id, inspector.id, by=regulator)
    db.session.flush()
    page = text(client.get(url))
    assert "13959612345" in page and f"{url}/respond" in page and f"{url}/close" not in page
    response = submit(client, url, {"reply": "已抽样送检。"}, action=f"{url}/respond")
    assert response.status_code == 302
    db.session.refresh(complaint)
    assert complaint.reply == "已抽样送检。" and complaint.status is ComplaintStatus.HANDLING
    assert submit(client, url, {}, action=f"{url}/close").status_code == 403
    db.session.refresh(complaint)
    assert complaint.status is ComplaintStatus.HANDLING


def test_complaints_need_a_console_login(client, setting):
    response = client.get("/console/complaints/")
    assert response.status_code in (302, 401)
    assert "瓶盖封口" not in text(response)
