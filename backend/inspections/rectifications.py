"""Rectification (整改): what the workshop did about a hazard, its review, and closing the hazard.

A hazard moves open → rectifying (a rectification was submitted) → closed (only after a
rectification was accepted); a rectification sent back returns it to open.
"""

from __future__ import annotations

from dataclasses import dataclass

from backend.accounts.models import Role, User
from backend.accounts.permissions import require_role
from backend.audit.log import record
from backend.core.errors import Conflict, Errors, ValidationError, refuse
from backend.core.i18n import gettext as _
from backend.core.time import local_today, utcnow
from backend.extensions import db
from backend.inspections.checks import REGULATORS_ONLY, TEXT_LIMIT, text
from backend.inspections.lookup import get_hazard, get_rectification
from backend.inspections.models import Hazard, HazardStatus, Rectification
from backend.inspections.photos import Upload, store_photos


@dataclass
class RectificationInput:
    """What the workshop did about a hazard (recorded by a regulator on its behalf)."""

    description: str = ""
    photo: Upload | None = None


@dataclass
class ReviewInput:
    """The regulator's review of a rectification: accept, or send back with a note."""

    decision: str | None = None  # "accept" or "reject"
    note: str = ""


def _require_followed_up(hazard: Hazard) -> None:
    """Conflict unless *hazard*'s inspection is concluded and the hazard is not closed."""
    if not hazard.inspection.concluded:
        raise Conflict(_("检查尚未作出结论，隐患还未下达整改。"), slug="inspection_in_progress")
    if hazard.status is HazardStatus.CLOSED:
        raise Conflict(_("该隐患已销号。"), slug="hazard_closed")


def submit_rectification(hazard_id: int, data: RectificationInput, *, by: User) -> Rectification:
    """Record what the workshop did about a hazard, on its behalf (regulators only); the
    hazard becomes "rectifying" until the rectification is reviewed."""
    require_role(by, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    hazard = get_hazard(hazard_id, by=by, lock=True)
    _require_followed_up(hazard)
    if hazard.pending_rectification is not None:
        raise Conflict(_("上一次提交的整改尚未复查。"), slug="rectification_pending")
    if hazard.accepted_rectification is not None:
        raise Conflict(_("整改已通过复查，可以直接销号。"), slug="rectification_accepted")
    errors = Errors()
    description = text(errors, "description", data.description, TEXT_LIMIT, required=True)
    photos = {"photo": data.photo} if data.photo is not None else {}
    stored = store_photos(errors, photos, by=by)
    rectification = Rectification(
        hazard_id=hazard.id,
        description=description,
        photo_file_id=stored["photo"].id if stored else None,
        submitted_by_id=by.id,
    )
    db.session.add(rectification)
    hazard.rectifications.append(rectification)
    previous = hazard.status
    hazard.status = HazardStatus.RECTIFYING
    db.session.flush()
    record(
        "rectification.submitted",
        "rectification",
        rectification.id,
        actor=by,
        hazard_id=hazard.id,
        workshop_id=hazard.workshop_id,
        from_status=previous,
        photo_file_id=rectification.photo_file_id,
    )
    return rectification


def review_rectification(rectification_id: int, data: ReviewInput, *, by: User) -> Rectification:
    """Accept a rectification, or send it back with a note (regulators only). Sent back,
    the hazard is open again."""
    require_role(by, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    rectification = get_rectification(rectification_id, by=by)
    hazard = get_hazard(rectification.hazard_id, by=by, lock=True)
    _require_followed_up(hazard)
    if rectification.accepted is not None:
        raise Conflict(_("该整改已复查过。"), slug="rectification_reviewed")
    errors = Errors()
    if data.decision not in ("accept", "reject"):
        errors.add("decision", _("请选择复查结果。"))
    note = text(errors, "note", data.note, TEXT_LIMIT, required=False)
    if data.decision == "reject" and not note and "note" not in errors:
        errors.add("note", _("退回整改时须写明原因。"))
    refuse(errors, "inspection_invalid")
    rectification.accepted = data.decision == "accept"
    rectification.reviewed_by_id = by.id
    rectification.reviewed_at = utcnow()
    rectification.review_note = note
    if not rectification.accepted:
        hazard.status = HazardStatus.OPEN
    db.session.flush()
    record(
        "rectification.reviewed",
        "rectification",
        rectification.id,
        actor=by,
        hazard_id=hazard.id,
        accepted=rectification.accepted,
        note=note,
    )
    return rectification


def close_hazard(hazard_id: int, *, by: User) -> Hazard:
    """Close (销号) a hazard whose rectification was accepted (regulators only)."""
    require_role(by, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    hazard = get_hazard(hazard_id, by=by, lock=True)
    _require_followed_up(hazard)
    if hazard.accepted_rectification is None:
        raise ValidationError(
            _("只有整改通过复查后才能销号。"),
            slug="rectification_not_accepted",
            errors={"hazard": [_("只有整改通过复查后才能销号。")]},
        )
    overdue = hazard.overdue_days(local_today())
    hazard.status = HazardStatus.CLOSED
    hazard.closed_at = utcnow()
    hazard.closed_by_id = by.id
    db.session.flush()
    record(
        "hazard.closed",
        "hazard",
        hazard.id,
        actor=by,
        workshop_id=hazard.workshop_id,
        deadline=hazard.deadline,
        days_overdue=overdue,
    )
    return hazard
