"""Conducting an inspection: starting it for a filed workshop and concluding it.

An inspection's life: a regulator starts it for a filed workshop, records the seven checklist
items (:mod:`backend.inspections.checklist`), lists the hazards found
(:mod:`backend.inspections.hazards`), and concludes it with an outcome. From then on its
findings are evidence and read-only. Every change is audited; functions flush and never
commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from backend.accounts.models import Role, User
from backend.accounts.permissions import require_role
from backend.audit.log import record
from backend.core.errors import Errors, refuse
from backend.core.i18n import N_
from backend.core.i18n import gettext as _
from backend.core.time import local_today
from backend.extensions import db
from backend.inspections.checklist import ITEM_LABELS
from backend.inspections.checks import (
    REGULATORS_ONLY,
    TEXT_LIMIT,
    require_in_progress,
    text,
)
from backend.inspections.lookup import get_inspection
from backend.inspections.models import (
    ChecklistItem,
    Inspection,
    InspectionItem,
    InspectionOutcome,
    ItemResult,
)
from backend.registry.models import Workshop, WorkshopStatus

MAX_BACKDATE_DAYS = 180  # an inspection recorded later than this after the visit is refused


OUTCOME_LABELS = {
    InspectionOutcome.SATISFACTORY: N_("符合"),
    InspectionOutcome.RECTIFY: N_("基本符合，限期整改"),
    InspectionOutcome.UNSATISFACTORY: N_("不符合"),
}
IN_PROGRESS_LABEL = N_("检查中")
IN_PROGRESS = "in_progress"  # the outcome filter's value for inspections not yet concluded


@dataclass
class StartInput:
    """Which workshop is inspected, and on which day."""

    workshop_id: int | None = None
    inspected_on: date | None = None


@dataclass
class ConcludeInput:
    """The inspection's outcome and its summary."""

    outcome: str | None = None
    summary: str = ""


def date_range() -> tuple[date, date]:
    """The dates an inspection may be recorded for: today and up to 180 days back."""
    today = local_today()
    return today - timedelta(days=MAX_BACKDATE_DAYS), today


def _in_progress_of(workshop_id: int) -> Inspection | None:
    """The workshop's inspection not yet concluded, if any."""
    return db.session.scalar(
        select(Inspection)
        .where(Inspection.workshop_id == workshop_id, Inspection.outcome.is_(None))
        .limit(1)
    )


def start_inspection(data: StartInput, *, by: User) -> Inspection:
    """Start an inspection of a filed workshop (regulators only); *by* is the inspector."""
    require_role(by, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    errors = Errors()
    workshop = None
    if data.workshop_id is None:
        errors.add("workshop_id", _("请选择要检查的作坊。"))
    else:
        workshop = db.session.get(Workshop, data.workshop_id) if data.workshop_id > 0 else None
        if workshop is None:
            errors.add("workshop_id", _("作坊不存在。"))
        elif workshop.status is WorkshopStatus.CANCELLED:
            errors.add("workshop_id", _("该作坊已注销登记，不能再进行检查。"))
        else:
            running = _in_progress_of(workshop.id)
            if running is not None:
                errors.add(
                    "workshop_id",
                    _(
                        "该作坊已有一次未作结论的检查（%(day)s），请先完成该检查。",
                        day=running.inspected_on.isoformat(),
                    ),
                )
    low, high = date_range()
    if data.inspected_on is None:
        errors.add("inspected_on", _("必填，格式如 2024-01-31。"))
    elif data.inspected_on > high:
        errors.add("inspected_on", _("检查日期不能晚于今天。"))
    elif data.inspected_on < low:
        errors.add(
            "inspected_on",
            _(
                "检查日期不能早于 %(low)s（最多补录 %(days)d 天内的检查）。",
                low=low.isoformat(),
                days=MAX_BACKDATE_DAYS,
            ),
        )
    refuse(errors, "inspection_invalid")
    inspection = Inspection(
        workshop_id=workshop.id, inspector_id=by.id, inspected_on=data.inspected_on
    )
    db.session.add(inspection)
    db.session.flush()
    record(
        "inspection.started",
        "inspection",
        inspection.id,
        actor=by,
        workshop_id=workshop.id,
        inspected_on=inspection.inspected_on,
    )
    return inspection


def conclude(inspection_id: int, data: ConcludeInput, *, by: User) -> Inspection:
    """Conclude an inspection with its outcome (regulators only); its findings become
    read-only evidence.

    Every item must be recorded first. "Satisfactory" is impossible with a hazard or a
    non-compliant item; "rectify" needs at least one hazard; any other outcome needs every
    non-compliant item to have a hazard, so that each one is followed up.
    """
    require_role(by, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    inspection = get_inspection(inspection_id, by=by, lock=True)
    require_in_progress(inspection)
    errors = Errors()
    recorded = {row.item: row for row in inspection.items}
    outcome, failing = _check_outcome(errors, inspection, recorded, data.outcome)
    summary = text(
        errors,
        "summary",
        data.summary,
        TEXT_LIMIT,
        required=outcome is not None and outcome is not InspectionOutcome.SATISFACTORY,
    )
    refuse(errors, "inspection_invalid")
    inspection.outcome = outcome
    inspection.summary = summary or _("现场检查未发现问题。")
    layout = _note_layout(inspection, recorded.get(ChecklistItem.AREA_SEPARATION))
    db.session.flush()
    record(
        "inspection.concluded",
        "inspection",
        inspection.id,
        actor=by,
        workshop_id=inspection.workshop_id,
        outcome=outcome,
        hazards=len(inspection.hazards),
        non_compliant=failing,
        layout_separated=layout,
    )
    return inspection


def _check_outcome(
    errors: Errors,
    inspection: Inspection,
    recorded: dict[ChecklistItem, InspectionItem],
    value: str | None,
) -> tuple[InspectionOutcome | None, list[ChecklistItem]]:
    """Note why outcome *value* cannot conclude *inspection* (see :func:`conclude`); returns
    the outcome (None when missing or unknown) and the non-compliant items."""
    missing = [item for item in ChecklistItem if item not in recorded]
    if missing:
        errors.add(
            "outcome",
            _(
                "请先在检查表中记录全部 %(count)d 个项目（尚缺：%(items)s）。",
                count=len(ChecklistItem),
                items="、".join(_(ITEM_LABELS[i]) for i in missing),
            ),
        )
    outcome = None
    if not value:
        errors.add("outcome", _("请选择检查结论。"))
    else:
        try:
            outcome = InspectionOutcome(value)
        except ValueError:
            errors.add("outcome", _("未知的检查结论。"))
    failing = [
        i for i in ChecklistItem if i in recorded and recorded[i].result is ItemResult.NON_COMPLIANT
    ]
    with_hazard = {h.item for h in inspection.hazards}
    untracked = [i for i in failing if i not in with_hazard]
    if outcome is InspectionOutcome.SATISFACTORY and not missing:
        if inspection.hazards:
            errors.add(
                "outcome",
                _(
                    "已登记 %(count)d 项隐患尚未整改，结论不能为“符合”。",
                    count=len(inspection.hazards),
                ),
            )
        elif failing:
            errors.add(
                "outcome",
                _(
                    "有不符合的项目（%(items)s），结论不能为“符合”。",
                    items="、".join(_(ITEM_LABELS[i]) for i in failing),
                ),
            )
    elif outcome is not None and not missing:
        if outcome is InspectionOutcome.RECTIFY and not inspection.hazards:
            errors.add("outcome", _("结论为限期整改时，须至少登记一项隐患及其整改期限。"))
        elif outcome is InspectionOutcome.UNSATISFACTORY and not failing:
            errors.add("outcome", _("没有不符合的项目，结论不能为“不符合”。"))
        elif untracked:
            errors.add(
                "outcome",
                _(
                    "以下不符合项目尚未登记隐患：%(items)s。请为每个不符合项登记隐患和整改期限。",
                    items="、".join(_(ITEM_LABELS[i]) for i in untracked),
                ),
            )
    return outcome, failing


def _note_layout(inspection: Inspection, row: InspectionItem | None) -> bool | None:
    """Keep the workshop's three-area layout finding up to date from the area-separation
    item (unless a later check is already on file); returns what was noted."""
    if row is None or row.result is ItemResult.NOT_APPLICABLE:
        return None
    workshop = inspection.workshop
    if workshop.layout_checked_on and workshop.layout_checked_on > inspection.inspected_on:
        return None
    workshop.layout_separated = row.result is ItemResult.COMPLIANT
    workshop.layout_checked_on = inspection.inspected_on
    return workshop.layout_separated
