"""Hazards (隐患) found in an inspection: listed with a rectification deadline, or taken back.

Each hazard then moves open → rectifying → closed (:mod:`backend.inspections.rectifications`);
it is overdue while it is not closed and its deadline is before today (Asia/Shanghai),
see :meth:`backend.inspections.models.Hazard.is_overdue`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from backend.accounts.models import Role, User
from backend.accounts.permissions import require_role
from backend.audit.log import record
from backend.core.errors import Errors, refuse
from backend.core.i18n import N_
from backend.core.i18n import gettext as _
from backend.extensions import db
from backend.inspections.checks import (
    REGULATORS_ONLY,
    TEXT_LIMIT,
    require_in_progress,
    text,
)
from backend.inspections.lookup import get_hazard, get_inspection
from backend.inspections.models import (
    ChecklistItem,
    Hazard,
    HazardStatus,
    Inspection,
    ItemResult,
)

MAX_DEADLINE_DAYS = 90  # a rectification deadline at most this long after the inspection
DEFAULT_DEADLINE_DAYS = 15  # what the hazard form proposes


HAZARD_STATUS_LABELS = {
    HazardStatus.OPEN: N_("待整改"),
    HazardStatus.RECTIFYING: N_("整改中"),
    HazardStatus.CLOSED: N_("已销号"),
}


@dataclass
class HazardInput:
    """A hazard: which item, what is wrong, rectify by when."""

    item: str | None = None
    description: str = ""
    deadline: date | None = None


def deadline_range(inspection: Inspection) -> tuple[date, date]:
    """The deadlines a hazard of *inspection* may have: after the visit, within 90 days."""
    return (
        inspection.inspected_on + timedelta(days=1),
        inspection.inspected_on + timedelta(days=MAX_DEADLINE_DAYS),
    )


def add_hazard(inspection_id: int, data: HazardInput, *, by: User) -> Hazard:
    """List a hazard found in an inspection in progress (regulators only): a non-compliant
    item, what is wrong, and a deadline after the inspection date (within 90 days)."""
    require_role(by, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    inspection = get_inspection(inspection_id, by=by, lock=True)
    require_in_progress(inspection)
    errors = Errors()
    item = None
    if not data.item:
        errors.add("item", _("请选择隐患所属的检查项目。"))
    else:
        try:
            item = ChecklistItem(data.item)
        except ValueError:
            errors.add("item", _("未知的检查项目。"))
    if item is not None:
        found = next((row for row in inspection.items if row.item is item), None)
        if found is None or found.result is not ItemResult.NON_COMPLIANT:
            errors.add(
                "item",
                _("只能为判定为“不符合”的项目登记隐患；请先在检查表中记录该项为不符合。"),
            )
    description = text(errors, "description", data.description, TEXT_LIMIT, required=True)
    low, high = deadline_range(inspection)
    if data.deadline is None:
        errors.add("deadline", _("必填，格式如 2024-01-31。"))
    elif data.deadline < low:
        errors.add(
            "deadline",
            _(
                "整改期限须晚于检查日期（%(day)s）。",
                day=inspection.inspected_on.isoformat(),
            ),
        )
    elif data.deadline > high:
        errors.add(
            "deadline",
            _(
                "整改期限最长为检查后 %(days)d 天（%(high)s）。",
                days=MAX_DEADLINE_DAYS,
                high=high.isoformat(),
            ),
        )
    refuse(errors, "inspection_invalid")
    hazard = Hazard(
        inspection_id=inspection.id,
        workshop_id=inspection.workshop_id,
        item=item,
        description=description,
        deadline=data.deadline,
        status=HazardStatus.OPEN,
    )
    db.session.add(hazard)
    inspection.hazards.append(hazard)
    db.session.flush()
    record(
        "hazard.added",
        "hazard",
        hazard.id,
        actor=by,
        inspection_id=inspection.id,
        workshop_id=inspection.workshop_id,
        item=item,
        deadline=hazard.deadline,
    )
    return hazard


def remove_hazard(hazard_id: int, *, by: User) -> Inspection:
    """Take back a hazard listed by mistake, while its inspection is in progress
    (regulators only); returns the inspection."""
    require_role(by, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    hazard = get_hazard(hazard_id, by=by)
    inspection = get_inspection(hazard.inspection_id, by=by, lock=True)
    require_in_progress(inspection)
    details = {
        "inspection_id": inspection.id,
        "item": hazard.item,
        "description": hazard.description,
    }
    inspection.hazards.remove(hazard)
    db.session.delete(hazard)
    db.session.flush()
    record("hazard.removed", "hazard", hazard_id, actor=by, **details)
    return inspection
