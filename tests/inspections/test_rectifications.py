"""Rectification, its review, and closing a hazard."""

from __future__ import annotations

import pytest

from backend.core.errors import Conflict, NotFound, ValidationError
from backend.files.models import StoredFile
from backend.inspections import lookup, photos, rectifications
from backend.inspections.models import (
    HazardStatus,
    Rectification,
)
from backend.inspections.rectifications import RectificationInput, ReviewInput
from tests.inspections.helpers import (
    PDF,
    actions,
    concluded,
    count,
    files_in,
    png,
    refused,
    upload,
    with_hazard,
)

# --- rectification, review, closing ---------------------------------------------------------


def test_the_whole_follow_up(db, workshop, regulator, uploads):
    inspection, hazard = concluded(workshop, regulator)
    first = rectifications.submit_rectification(
        hazard.id,
        RectificationInput(description="已加盖排水沟", photo=upload(png(), "after.png")),
        by=regulator,
    )
    assert hazard.status is HazardStatus.RECTIFYING
    assert first.submitted_by_id == regulator.id and first.photo_file_id is not None
    assert photos.get_photo(first.photo_file_id, by=regulator).content_type == "image/png"
    rectifications.review_rectification(
        first.id, ReviewInput(decision="reject", note="地面仍有积水"), by=regulator
    )
    assert first.accepted is False and hazard.status is HazardStatus.OPEN
    second = rectifications.submit_rectification(
        hazard.id, RectificationInput(description="增设地漏，地面已干燥"), by=regulator
    )
    with pytest.raises(ValidationError):
        rectifications.close_hazard(hazard.id, by=regulator)
    rectifications.review_rectification(second.id, ReviewInput(decision="accept"), by=regulator)
    assert second.accepted is True and second.reviewed_by_id == regulator.id
    assert hazard.status is HazardStatus.RECTIFYING
    rectifications.close_hazard(hazard.id, by=regulator)
    assert hazard.status is HazardStatus.CLOSED and hazard.closed_by_id == regulator.id
    assert hazard.closed_at is not None
    assert actions(db)[-5:] == [
        "rectification.submitted",
        "rectification.reviewed",
        "rectification.submitted",
        "rectification.reviewed",
        "hazard.closed",
    ]
    with pytest.raises(Conflict):
        rectifications.submit_rectification(
            hazard.id, RectificationInput(description="再交"), by=regulator
        )


def test_no_rectification_before_the_conclusion(db, workshop, regulator):
    _, hazard = with_hazard(workshop, regulator)
    with pytest.raises(Conflict):
        rectifications.submit_rectification(
            hazard.id, RectificationInput(description="x"), by=regulator
        )


def test_one_rectification_awaits_review_at_a_time(db, workshop, regulator):
    _, hazard = concluded(workshop, regulator)
    first = rectifications.submit_rectification(
        hazard.id, RectificationInput(description="a"), by=regulator
    )
    with pytest.raises(Conflict):
        rectifications.submit_rectification(
            hazard.id, RectificationInput(description="b"), by=regulator
        )
    rectifications.review_rectification(first.id, ReviewInput(decision="accept"), by=regulator)
    with pytest.raises(Conflict):
        rectifications.review_rectification(
            first.id, ReviewInput(decision="reject", note="x"), by=regulator
        )
    with pytest.raises(Conflict):  # accepted: the next step is closing
        rectifications.submit_rectification(
            hazard.id, RectificationInput(description="c"), by=regulator
        )


def test_a_rectification_needs_a_description_and_only_an_image(db, workshop, regulator, uploads):
    _, hazard = concluded(workshop, regulator)
    refused(
        lambda: rectifications.submit_rectification(
            hazard.id, RectificationInput(description=""), by=regulator
        ),
        "description",
    )
    errors = refused(
        lambda: rectifications.submit_rectification(
            hazard.id,
            RectificationInput(description="ok", photo=upload(PDF, "r.pdf")),
            by=regulator,
        ),
        "photo",
    )
    assert "JPEG、PNG 或 WebP" in errors["photo"][0]
    assert hazard.status is HazardStatus.OPEN
    assert count(db, Rectification) == 0 and count(db, StoredFile) == 0
    assert files_in(uploads / "uploads") == []


def test_a_review_needs_a_decision_and_a_sent_back_one_a_reason(db, workshop, regulator):
    _, hazard = concluded(workshop, regulator)
    r = rectifications.submit_rectification(
        hazard.id, RectificationInput(description="ok"), by=regulator
    )
    refused(
        lambda: rectifications.review_rectification(r.id, ReviewInput(), by=regulator), "decision"
    )
    errors = refused(
        lambda: rectifications.review_rectification(
            r.id, ReviewInput(decision="reject"), by=regulator
        ),
        "note",
    )
    assert "原因" in errors["note"][0]
    assert r.accepted is None and hazard.status is HazardStatus.RECTIFYING


def test_unknown_ids_are_not_found(db, regulator):
    with pytest.raises(NotFound):
        lookup.get_inspection(999999, by=regulator)
    with pytest.raises(NotFound):
        rectifications.submit_rectification(
            999999, RectificationInput(description="x"), by=regulator
        )
    with pytest.raises(NotFound):
        rectifications.review_rectification(999999, ReviewInput(decision="accept"), by=regulator)
    with pytest.raises(NotFound):
        rectifications.close_hazard(999999, by=regulator)


def test_a_seeded_rectifying_hazard_without_a_rectification_can_be_followed_up(
    db, workshop, regulator
):
    _, hazard = concluded(workshop, regulator)
    hazard.status = HazardStatus.RECTIFYING  # as the demo seed writes some
    db.session.flush()
    assert hazard.next_steps() == {"rectify": True, "review": False, "close": False}
    rectifications.submit_rectification(
        hazard.id, RectificationInput(description="ok"), by=regulator
    )
