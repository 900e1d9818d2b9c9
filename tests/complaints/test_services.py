"""Complaints: filing with a unique reference and its links, the list, assigning, answering,
closing (never reopening), the masked phone number, and who may do what."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from backend.accounts.models import Role
from backend.audit.models import AuditLog
from backend.codes.codegen import generate_code
from backend.codes.models import UnitCode
from backend.complaints import services as complaints
from backend.complaints.models import Complaint, ComplaintChannel, ComplaintStatus
from backend.complaints.services import ComplaintFilter, ComplaintInput
from backend.core.errors import Forbidden, NotFound, ValidationError
from backend.core.time import SHANGHAI, local_today
from backend.extensions import db as database
from tests.factories import BatchFactory, CodeIssuanceFactory, WorkshopFactory
from tests.support.console import console_user


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def unit_code(batch) -> UnitCode:
    """A unit code of *batch*."""
    issuance = CodeIssuanceFactory(batch=batch, count=1)
    code = UnitCode(code=generate_code(), batch_id=batch.id, issuance_id=issuance.id, serial=1)
    database.session.add(code)
    database.session.flush()
    return code


@pytest.fixture()
def world(db):
    """Console users of every kind, two workshops, a batch of the first and one of its codes."""
    batch = BatchFactory(batch_no="B20260501")
    other_batch = BatchFactory(batch_no="B20260502")
    return {
        "regulator": console_user(Role.REGULATOR, display_name="王科长"),
        "inspector": console_user(Role.INSPECTOR, display_name="陈检验"),
        "other_inspector": console_user(Role.INSPECTOR, display_name="李检验"),
        "operator": console_user(Role.OPERATOR),
        "retired": console_user(Role.INSPECTOR, active=False),
        "batch": batch,
        "workshop": batch.workshop,
        "other_batch": other_batch,
        "other_workshop": other_batch.workshop,
        "code": unit_code(batch),
    }


def filed(world, **overrides) -> Complaint:
    """A complaint about the world's code."""
    values = {
        "content": "瓶盖封口有松动，请核实。",
        "code": world["code"].code,
        "contact_name": "李女士",
        "contact_phone": "13959612345",
    }
    values.update(overrides)
    return complaints.file_complaint(ComplaintInput(**values), channel=ComplaintChannel.SCAN_PAGE)


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


# --- the list ------------------------------------------------------------------------------------


def at_local(day, hour=12) -> datetime:
    """*day* at *hour* o'clock in Shanghai."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


def test_the_list_is_newest_first_and_filtered(db, world):
    today = local_today()
    old = filed(world, content="旧投诉")
    old.created_at = at_local(today - timedelta(days=10))
    mine = filed(world, content="指派给我的")
    mine.created_at = at_local(
        today - timedelta(days=2), hour=0
    )  # 00:xx local is the day before in UTC
    other = complaints.file_complaint(
        ComplaintInput(content="另一作坊", workshop_id=world["other_workshop"].id)
    )
    other.created_at = at_local(today)
    db.session.flush()
    complaints.assign(mine.id, world["inspector"].id, by=world["regulator"])
    complaints.respond(mine.id, "已核查。", by=world["inspector"])

    def listed(by=world["regulator"], **filters):
        page = complaints.list_complaints(ComplaintFilter(**filters), by=by)
        return [row.complaint.content for row in page.items]

    assert listed() == ["另一作坊", "指派给我的", "旧投诉"]
    assert listed(status="new") == ["另一作坊", "旧投诉"]
    assert listed(status="handling") == ["指派给我的"]
    assert listed(status="bogus") == []
    assert listed(by=world["inspector"], mine=True) == ["指派给我的"]
    assert listed(mine=True) == []
    assert listed(workshop_id=world["other_workshop"].id) == ["另一作坊"]
    assert listed(workshop_id=-1) == []
    two_days_ago = today - timedelta(days=2)
    assert listed(date_from=two_days_ago, date_to=two_days_ago) == ["指派给我的"]
    assert listed(date_from=today - timedelta(days=3)) == ["另一作坊", "指派给我的"]
    assert listed(date_to=today - timedelta(days=3)) == ["旧投诉"]
    page = complaints.list_complaints(ComplaintFilter(), by=world["inspector"])
    names = {row.complaint.content: row.assignee_name for row in page.items}
    assert names["指派给我的"] == "陈检验" and names["旧投诉"] is None
    assert complaints.count_new(by=world["inspector"]) == 2


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


# --- who may do what and see what ---------------------------------------------------------


def test_inspectors_answer_only_what_is_assigned_to_them(db, world):
    complaint = filed(world)
    with pytest.raises(Forbidden):
        complaints.respond(complaint.id, "我来答复", by=world["inspector"])
    complaints.assign(complaint.id, world["other_inspector"].id, by=world["regulator"])
    with pytest.raises(Forbidden):
        complaints.respond(complaint.id, "我来答复", by=world["inspector"])
    for user in (world["inspector"], world["operator"], None):
        with pytest.raises(Forbidden):
            complaints.assign(complaint.id, world["inspector"].id, by=user)
        with pytest.raises(Forbidden):
            complaints.close(complaint.id, by=user)
    for user in (world["operator"], None):
        with pytest.raises(Forbidden):
            complaints.list_complaints(ComplaintFilter(), by=user)
        with pytest.raises(Forbidden):
            complaints.respond(complaint.id, "x", by=user)
    assert complaint.assigned_to_id == world["other_inspector"].id
    assert complaint.reply == "" and complaint.status is ComplaintStatus.NEW


def test_the_phone_is_masked_except_for_regulators_and_the_assignee(db, world):
    complaint = filed(world, contact_phone="13959612345")
    shown = complaints.complaint_detail(complaint.id, by=world["inspector"])
    assert (shown.contact_phone, shown.phone_masked) == ("139****2345", True)
    assert not (shown.can_assign or shown.can_respond or shown.can_close)
    assert complaints.complaint_detail(complaint.id, by=world["regulator"]).contact_phone == (
        "13959612345"
    )
    complaints.assign(complaint.id, world["inspector"].id, by=world["regulator"])
    shown = complaints.complaint_detail(complaint.id, by=world["inspector"])
    assert (shown.contact_phone, shown.phone_masked, shown.can_respond) == (
        "13959612345",
        False,
        True,
    )
    assert complaints.mask_phone("") == "" and complaints.mask_phone("12345") == "*****"


def test_detail_shows_the_linked_code_batch_and_workshop(db, world):
    complaint = filed(world)
    detail = complaints.complaint_detail(complaint.id, by=world["regulator"])
    assert detail.code.id == world["code"].id
    assert detail.batch.batch_no == "B20260501"
    assert detail.workshop.id == world["workshop"].id
    assert detail.can_assign and detail.can_respond and detail.can_close
    users = complaints.assignable_users(by=world["regulator"])
    assert world["inspector"] in users and world["regulator"] in users
    assert world["operator"] not in users and world["retired"] not in users


def test_a_workshop_only_complaint_has_no_code_or_batch(db, world):
    complaint = complaints.file_complaint(
        ComplaintInput(content="x", workshop_id=WorkshopFactory().id)
    )
    detail = complaints.complaint_detail(complaint.id, by=world["regulator"])
    assert detail.code is None and detail.batch is None and detail.workshop is not None
