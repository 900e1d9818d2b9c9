"""Finding an inspection, a hazard or a rectification, and the people on its record."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.accounts.models import Role, User
from backend.accounts.permissions import require_role
from backend.core.errors import NotFound
from backend.core.i18n import gettext as _
from backend.extensions import db
from backend.inspections.checks import STAFF_ONLY
from backend.inspections.models import Hazard, Inspection, Rectification


def get_inspection(inspection_id: int, *, by: User, lock: bool = False) -> Inspection:
    """An inspection with its workshop, items, hazards and rectifications, or NotFound.

    *lock* takes a row lock (PostgreSQL) and reloads the row, so that two changes of one
    inspection queue up and the second sees what the first did.
    """
    require_role(by, Role.REGULATOR, Role.INSPECTOR, message=_(STAFF_ONLY), slug="staff_only")
    query = (
        select(Inspection)
        .options(
            selectinload(Inspection.workshop),
            selectinload(Inspection.items),
            selectinload(Inspection.hazards).selectinload(Hazard.rectifications),
        )
        .where(Inspection.id == inspection_id)
    )
    if lock:
        query = query.with_for_update(of=Inspection).execution_options(populate_existing=True)
    inspection = db.session.scalar(query)
    if inspection is None:
        raise NotFound(_("检查记录不存在。"), slug="inspection_not_found")
    return inspection


def get_hazard(hazard_id: int, *, by: User, lock: bool = False) -> Hazard:
    """A hazard with its inspection, workshop and rectifications, or NotFound."""
    require_role(by, Role.REGULATOR, Role.INSPECTOR, message=_(STAFF_ONLY), slug="staff_only")
    query = (
        select(Hazard)
        .options(
            selectinload(Hazard.inspection).selectinload(Inspection.workshop),
            selectinload(Hazard.rectifications),
        )
        .where(Hazard.id == hazard_id)
    )
    if lock:
        query = query.with_for_update(of=Hazard).execution_options(populate_existing=True)
    hazard = db.session.scalar(query)
    if hazard is None:
        raise NotFound(_("隐患不存在。"), slug="hazard_not_found")
    return hazard


def get_rectification(rectification_id: int, *, by: User, lock: bool = False) -> Rectification:
    """A rectification with its hazard (and the hazard's inspection), or NotFound."""
    require_role(by, Role.REGULATOR, Role.INSPECTOR, message=_(STAFF_ONLY), slug="staff_only")
    query = (
        select(Rectification)
        .options(
            selectinload(Rectification.hazard)
            .selectinload(Hazard.inspection)
            .selectinload(Inspection.workshop)
        )
        .where(Rectification.id == rectification_id)
    )
    if lock:
        query = query.with_for_update(of=Rectification).execution_options(populate_existing=True)
    rectification = db.session.scalar(query)
    if rectification is None:
        raise NotFound(_("整改记录不存在。"), slug="rectification_not_found")
    return rectification


def names_of(user_ids) -> dict[int, str]:
    """Display names (or user names) of the users with *user_ids*."""
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    users = db.session.scalars(select(User).where(User.id.in_(ids)))
    return {u.id: u.display_name or u.username or f"#{u.id}" for u in users}


def people_of(inspection: Inspection) -> dict[int, str]:
    """The names of everyone who appears on *inspection*'s record."""
    ids = [inspection.inspector_id]
    for hazard in inspection.hazards:
        ids.append(hazard.closed_by_id)
        for r in hazard.rectifications:
            ids.extend((r.submitted_by_id, r.reviewed_by_id))
    return names_of(ids)
