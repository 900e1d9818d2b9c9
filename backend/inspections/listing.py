"""The inspection list, rectification tracking (整改跟踪) and the export of the list."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import selectinload

from backend.accounts.models import Role, User
from backend.accounts.permissions import require_role
from backend.audit.log import record
from backend.core.i18n import gettext as _
from backend.core.pages import Page, clamp_page
from backend.core.spreadsheets import render
from backend.core.time import local_today
from backend.extensions import db
from backend.inspections.checklist import ITEM_LABELS
from backend.inspections.checks import STAFF_ONLY
from backend.inspections.conduct import IN_PROGRESS, IN_PROGRESS_LABEL, OUTCOME_LABELS
from backend.inspections.lookup import names_of
from backend.inspections.models import (
    ChecklistItem,
    Hazard,
    HazardStatus,
    Inspection,
    InspectionItem,
    InspectionOutcome,
    ItemResult,
)
from backend.registry.models import Workshop, WorkshopStatus

PER_PAGE = 50


@dataclass
class InspectionFilter:
    """What the inspection list is narrowed to; empty fields do not narrow."""

    workshop: str = ""  # a workshop id
    q: str = ""  # part of the workshop's name or registration number
    township: str = ""
    year: str = ""
    outcome: str = ""  # an InspectionOutcome value, IN_PROGRESS or ""
    overdue: str = ""  # "1": only inspections with an overdue hazard


@dataclass
class HazardFilter:
    """What the rectification tracking list is narrowed to."""

    township: str = ""
    status: str = ""  # "open", "rectifying" or "" (both)
    overdue: str = ""  # "1": only overdue hazards


@dataclass
class InspectionRow:
    """An inspection as the list and the export show it, with its counts."""

    inspection: Inspection
    inspector: str
    non_compliant: list[ChecklistItem] = field(default_factory=list)
    hazards_total: int = 0
    hazards_open: int = 0
    hazards_overdue: int = 0


def _filtered(query, filters: InspectionFilter, today: date):
    """Narrow an inspection query (joined with Workshop) by *filters*; unknown values match
    nothing."""
    nothing = Inspection.id.is_(None)
    if filters.workshop:
        wid = int(filters.workshop) if filters.workshop.isdigit() else -1
        query = query.where(Inspection.workshop_id == wid)
    if filters.township:
        query = query.where(Workshop.township == filters.township)
    if filters.year:
        year = filters.year
        if year.isdigit() and 2000 <= int(year) <= 2100:
            y = int(year)
            query = query.where(Inspection.inspected_on.between(date(y, 1, 1), date(y, 12, 31)))
        else:
            query = query.where(nothing)
    if filters.outcome == IN_PROGRESS:
        query = query.where(Inspection.outcome.is_(None))
    elif filters.outcome:
        try:
            query = query.where(Inspection.outcome == InspectionOutcome(filters.outcome))
        except ValueError:
            query = query.where(nothing)
    if filters.overdue:
        query = query.where(
            Inspection.id.in_(select(Hazard.inspection_id).where(Hazard.is_overdue(today)))
        )
    text = filters.q.strip()[:100]
    if text:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        query = query.where(
            or_(
                Workshop.name.ilike(pattern, escape="\\"),
                Workshop.registration_no.ilike(pattern, escape="\\"),
            )
        )
    return query


def _rows(inspections: list[Inspection], today: date) -> list[InspectionRow]:
    """*inspections* with their inspector, non-compliant items and hazard counts (three
    queries, whatever the number of inspections)."""
    ids = [i.id for i in inspections]
    if not ids:
        return []
    counts = {
        row.inspection_id: row
        for row in db.session.execute(
            select(
                Hazard.inspection_id,
                func.count(Hazard.id).label("total"),
                func.sum(case((Hazard.status != HazardStatus.CLOSED, 1), else_=0)).label("open"),
                func.sum(case((Hazard.is_overdue(today), 1), else_=0)).label("overdue"),
            )
            .where(Hazard.inspection_id.in_(ids))
            .group_by(Hazard.inspection_id)
        )
    }
    failing: dict[int, list[ChecklistItem]] = {}
    for inspection_id, item in db.session.execute(
        select(InspectionItem.inspection_id, InspectionItem.item)
        .where(
            InspectionItem.inspection_id.in_(ids),
            InspectionItem.result == ItemResult.NON_COMPLIANT,
        )
        .order_by(InspectionItem.id)
    ):
        failing.setdefault(inspection_id, []).append(item)
    order = list(ChecklistItem)
    names = names_of(i.inspector_id for i in inspections)
    rows = []
    for inspection in inspections:
        count = counts.get(inspection.id)
        rows.append(
            InspectionRow(
                inspection=inspection,
                inspector=names.get(inspection.inspector_id, ""),
                non_compliant=sorted(failing.get(inspection.id, []), key=order.index),
                hazards_total=count.total if count else 0,
                hazards_open=int(count.open or 0) if count else 0,
                hazards_overdue=int(count.overdue or 0) if count else 0,
            )
        )
    return rows


def _list_query(filters: InspectionFilter, today: date):
    """The filtered inspections, newest first."""
    return _filtered(
        select(Inspection).join(Workshop, Inspection.workshop_id == Workshop.id), filters, today
    ).options(selectinload(Inspection.workshop))


def search_inspections(
    filters: InspectionFilter, *, by: User, page: int = 1, per_page: int = PER_PAGE
) -> Page:
    """One page of inspections (newest first) as :class:`InspectionRow`, narrowed by
    *filters*."""
    require_role(by, Role.REGULATOR, Role.INSPECTOR, message=_(STAFF_ONLY), slug="staff_only")
    today = local_today()
    counter = select(func.count(Inspection.id)).join(
        Workshop, Inspection.workshop_id == Workshop.id
    )
    total = db.session.scalar(_filtered(counter, filters, today)) or 0
    page = clamp_page(page, total, per_page)
    items = db.session.scalars(
        _list_query(filters, today)
        .order_by(Inspection.inspected_on.desc(), Inspection.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page(_rows(list(items), today), total, page, per_page)


def all_inspections(filters: InspectionFilter, *, by: User) -> list[InspectionRow]:
    """Every inspection matching *filters* (for exports), newest first."""
    require_role(by, Role.REGULATOR, Role.INSPECTOR, message=_(STAFF_ONLY), slug="staff_only")
    today = local_today()
    items = db.session.scalars(
        _list_query(filters, today).order_by(Inspection.inspected_on.desc(), Inspection.id.desc())
    ).all()
    return _rows(list(items), today)


def _hazard_query(filters: HazardFilter, today: date):
    """Open and rectifying hazards narrowed by *filters* (joined with Workshop)."""
    query = select(Hazard).join(Workshop, Hazard.workshop_id == Workshop.id)
    if filters.status:
        try:
            status = HazardStatus(filters.status)
        except ValueError:
            status = None
        if status is None or status is HazardStatus.CLOSED:
            query = query.where(Hazard.id.is_(None))
        else:
            query = query.where(Hazard.status == status)
    else:
        query = query.where(Hazard.status != HazardStatus.CLOSED)
    if filters.township:
        query = query.where(Workshop.township == filters.township)
    if filters.overdue:
        query = query.where(Hazard.is_overdue(today))
    return query


def tracked_hazards(
    filters: HazardFilter, *, by: User, page: int = 1, per_page: int = PER_PAGE
) -> Page:
    """Hazards still to be rectified, overdue ones first (longest overdue first), then by
    deadline."""
    require_role(by, Role.REGULATOR, Role.INSPECTOR, message=_(STAFF_ONLY), slug="staff_only")
    today = local_today()
    total = (
        db.session.scalar(
            select(func.count()).select_from(_hazard_query(filters, today).subquery())
        )
        or 0
    )
    page = clamp_page(page, total, per_page)
    items = db.session.scalars(
        _hazard_query(filters, today)
        .options(
            selectinload(Hazard.inspection).selectinload(Inspection.workshop),
            selectinload(Hazard.rectifications),
        )
        .order_by(
            case((Hazard.deadline < today, 0), else_=1),
            Hazard.deadline,
            Hazard.id,
        )
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page(list(items), total, page, per_page)


def overdue_count(*, by: User) -> int:
    """How many hazards are overdue in the district."""
    require_role(by, Role.REGULATOR, Role.INSPECTOR, message=_(STAFF_ONLY), slug="staff_only")
    query = select(func.count(Hazard.id)).where(Hazard.is_overdue(local_today()))
    return db.session.scalar(query) or 0


def open_workshops(*, by: User) -> list[Workshop]:
    """Workshops that may be inspected (every one not cancelled), by registration number."""
    require_role(by, Role.REGULATOR, Role.INSPECTOR, message=_(STAFF_ONLY), slug="staff_only")
    return list(
        db.session.scalars(
            select(Workshop)
            .where(Workshop.status != WorkshopStatus.CANCELLED)
            .order_by(Workshop.registration_no)
        )
    )


def export_rows(rows: list[InspectionRow]) -> list[list]:
    """The export's table: a header, then one row per inspection."""
    table: list[list] = [
        [
            _("检查日期"),
            _("作坊名称"),
            _("登记证编号"),
            _("乡镇"),
            _("检查人员"),
            _("检查结论"),
            _("不符合项目"),
            _("隐患总数"),
            _("未销号隐患"),
            _("逾期未整改"),
            _("检查情况"),
        ]
    ]
    for row in rows:
        inspection = row.inspection
        outcome = inspection.outcome
        table.append(
            [
                inspection.inspected_on,
                inspection.workshop.name,
                inspection.workshop.registration_no,
                inspection.workshop.township,
                row.inspector,
                _(OUTCOME_LABELS[outcome]) if outcome else _(IN_PROGRESS_LABEL),
                "、".join(_(ITEM_LABELS[i]) for i in row.non_compliant),
                row.hazards_total,
                row.hazards_open,
                row.hazards_overdue,
                inspection.summary,
            ]
        )
    return table


def export_inspections(filters: InspectionFilter, fmt: str, *, by: User) -> tuple[bytes, str]:
    """The filtered inspections as (file bytes, file name) in *fmt* (csv or xlsx); audited."""
    rows = all_inspections(filters, by=by)
    data = render(export_rows(rows), fmt, _("监督检查"))
    record(
        "inspections.exported",
        "inspection",
        "-",
        actor=by,
        rows=len(rows),
        format=fmt,
        filters={k: v for k, v in vars(filters).items() if v},
    )
    return data, f"inspections-{local_today():%Y%m%d}.{fmt}"
