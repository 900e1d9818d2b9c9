"""Who may read, assign, answer and close complaints, and who sees the contact's phone number."""

from __future__ import annotations

import pytest

from backend.complaints import services as complaints
from backend.complaints.models import ComplaintStatus
from backend.complaints.services import ComplaintFilter, ComplaintInput
from backend.core.errors import Forbidden
from tests.complaints.helpers import (
    filed,
)
from tests.factories import WorkshopFactory

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
