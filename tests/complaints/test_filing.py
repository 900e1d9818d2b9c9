"""Filing a complaint: a unique reference, its links to the code, batch and workshop, the checks."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.audit.models import AuditLog
from backend.codes.codegen import generate_code
from backend.complaints import services as complaints
from backend.complaints.models import Complaint, ComplaintChannel, ComplaintStatus
from backend.complaints.services import ComplaintInput
from backend.core.errors import ValidationError
from backend.core.time import local_today
from tests.complaints.helpers import (
    count,
    filed,
)

# --- filing --------------------------------------------------------------------------------


def test_a_complaint_about_a_code_is_linked_to_its_batch_and_workshop(db, world):
    code = world["code"]
    typed = f"{code.code[:4].lower()}-{code.code[4:]}"  # as a person might type it
    complaint = filed(world, code=typed)
    assert complaint.code_id == code.id
    assert complaint.batch_id == world["batch"].id
    assert complaint.workshop_id == world["workshop"].id
    assert complaint.status is ComplaintStatus.NEW
    assert complaint.channel is ComplaintChannel.SCAN_PAGE
    assert complaint.reference == f"TS{local_today():%Y%m%d}-0001"
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "complaint.filed"))
    assert audit.object_id == str(complaint.id) and audit.actor_id is None


def test_references_count_up_within_a_day(db, world):
    references = [filed(world).reference for _ in range(3)]
    day = f"TS{local_today():%Y%m%d}"
    assert references == [f"{day}-0001", f"{day}-0002", f"{day}-0003"]
    # older formats (the demo's TS20261126001) do not disturb the count
    db.session.add(Complaint(reference=f"{day}999", channel=ComplaintChannel.PORTAL, content="x"))
    db.session.flush()
    assert filed(world).reference == f"{day}-0004"


def test_a_reference_taken_meanwhile_is_retried_with_the_next(db, world, monkeypatch):
    first = filed(world)
    taken = iter([first.reference])
    original = complaints._next_reference
    monkeypatch.setattr(
        complaints, "_next_reference", lambda day: next(taken, None) or original(day)
    )
    second = filed(world)
    assert second.reference != first.reference
    assert count(db, Complaint) == 2


def test_complaints_about_a_batch_or_a_workshop(db, world):
    by_batch = complaints.file_complaint(
        ComplaintInput(content="豆腐有酸味", batch_id=world["other_batch"].id)
    )
    assert (by_batch.batch_id, by_batch.workshop_id) == (
        world["other_batch"].id,
        world["other_workshop"].id,
    )
    assert by_batch.channel is ComplaintChannel.PORTAL
    by_workshop = complaints.file_complaint(
        ComplaintInput(content="作坊门口卫生差", workshop_id=world["workshop"].id)
    )
    assert (by_workshop.batch_id, by_workshop.code_id) == (None, None)
    assert by_workshop.workshop_id == world["workshop"].id


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"content": "   "}, "content", "必填"),
        ({"content": "x" * 2001}, "content", "不能超过 2000"),
        ({"code": "not-a-code"}, "code", "码格式不正确"),
        ({"code": "码"}, "code", "码格式不正确"),
        ({"code": "", "batch_id": None}, "code", "请填写产品上的码"),
        ({"contact_phone": "call me"}, "contact_phone", "电话只能包含"),
        ({"contact_name": "李\n女士"}, "contact_name", "换行"),
    ],
)
def test_bad_complaints_are_refused_and_nothing_is_written(db, world, overrides, field, message):
    before = count(db, Complaint), count(db, AuditLog)
    with pytest.raises(ValidationError) as caught:
        filed(world, **overrides)
    assert any(message in text for text in caught.value.errors[field]), caught.value.errors
    assert (count(db, Complaint), count(db, AuditLog)) == before


def test_links_must_exist_and_agree(db, world):
    cases = [
        (ComplaintInput(content="x", code=generate_code()), "code", "该码不存在"),
        (ComplaintInput(content="x", batch_id=999999), "batch_id", "批次不存在"),
        (ComplaintInput(content="x", workshop_id=999999), "workshop_id", "作坊不存在"),
        (
            ComplaintInput(content="x", code=world["code"].code, batch_id=world["other_batch"].id),
            "batch_id",
            "该码不属于所选批次",
        ),
        (
            ComplaintInput(
                content="x", batch_id=world["batch"].id, workshop_id=world["other_workshop"].id
            ),
            "workshop_id",
            "不是所选作坊生产的",
        ),
    ]
    for data, field, message in cases:
        with pytest.raises(ValidationError) as caught:
            complaints.file_complaint(data)
        assert any(message in text for text in caught.value.errors[field]), caught.value.errors
    with pytest.raises(ValidationError) as caught:
        complaints.file_complaint(ComplaintInput(content="x"), channel="fax")
    assert "channel" in caught.value.errors
    assert count(db, Complaint) == 0
