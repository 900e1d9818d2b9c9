"""Handling a complaint: assigning, answering, closing (never reopening)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.audit.models import AuditLog
from backend.complaints import services as complaints
from backend.complaints.models import ComplaintStatus
from backend.core.errors import NotFound, ValidationError
from tests.complaints.helpers import (
    filed,
)

# --- handling ------------------------------------------------------------------------------------


def test_assign_respond_close(db, world):
    complaint = filed(world)
    complaints.assign(complaint.id, world["inspector"].id, by=world["regulator"])
    assert complaint.assigned_to_id == world["inspector"].id and complaint.assigned_at
    assert complaint.status is ComplaintStatus.NEW
    complaints.respond(complaint.id, "已到作坊核查封口设备。", by=world["inspector"])
    assert complaint.status is ComplaintStatus.HANDLING and complaint.replied_at
    complaints.respond(complaint.id, "已核查，封口机已调整。", by=world["regulator"])
    assert complaint.reply == "已核查，封口机已调整。"
    complaints.close(complaint.id, by=world["regulator"])
    assert complaint.status is ComplaintStatus.CLOSED and complaint.closed_at
    assert complaint.handled_by_id == world["regulator"].id
    actions = db.session.scalars(
        select(AuditLog.action)
        .where(AuditLog.object_type == "complaint", AuditLog.object_id == str(complaint.id))
        .order_by(AuditLog.id)
    ).all()
    assert actions == [
        "complaint.filed",
        "complaint.assigned",
        "complaint.replied",
        "complaint.replied",
        "complaint.closed",
    ]


@pytest.mark.parametrize(
    ("who", "message"),
    [
        ("unknown", "处理人不存在"),
        ("operator", "只能指派给监管人员或检验人员"),
        ("retired", "已停用"),
        ("nobody", "请选择处理人"),
        ("not_a_number", "处理人不存在"),
    ],
)
def test_assigning_to_someone_who_cannot_handle_it_is_refused(db, world, who, message):
    complaint = filed(world)
    user_id = {
        "unknown": 999999,
        "operator": world["operator"].id,
        "retired": world["retired"].id,
        "nobody": None,
        "not_a_number": -1,
    }[who]
    with pytest.raises(ValidationError) as caught:
        complaints.assign(complaint.id, user_id, by=world["regulator"])
    assert any(message in text for text in caught.value.errors["assigned_to"])
    assert complaint.assigned_to_id is None


def test_answers_need_text_and_closing_needs_an_answer(db, world):
    complaint = filed(world)
    with pytest.raises(ValidationError) as caught:
        complaints.respond(complaint.id, "  ", by=world["regulator"])
    assert "必填" in caught.value.errors["reply"][0]
    with pytest.raises(ValidationError) as caught:
        complaints.respond(complaint.id, "x" * 2001, by=world["regulator"])
    assert "不能超过 2000" in caught.value.errors["reply"][0]
    with pytest.raises(ValidationError) as caught:
        complaints.close(complaint.id, by=world["regulator"])
    assert "尚未答复" in caught.value.errors["reply"][0]
    assert complaint.status is ComplaintStatus.NEW and complaint.closed_at is None


def test_a_closed_complaint_is_final(db, world):
    complaint = filed(world)
    complaints.respond(complaint.id, "已处理。", by=world["regulator"])
    complaints.close(complaint.id, by=world["regulator"])
    closed_at = complaint.closed_at
    for attempt in (
        lambda: complaints.respond(complaint.id, "再答复", by=world["regulator"]),
        lambda: complaints.close(complaint.id, by=world["regulator"]),
        lambda: complaints.assign(complaint.id, world["inspector"].id, by=world["regulator"]),
    ):
        with pytest.raises(ValidationError) as caught:
            attempt()
        assert "已办结" in str(caught.value.errors)
    assert complaint.status is ComplaintStatus.CLOSED and complaint.closed_at == closed_at
    assert complaint.reply == "已处理。"


def test_an_unknown_complaint_is_not_found(db, world):
    with pytest.raises(NotFound):
        complaints.complaint_detail(999999, by=world["inspector"])
