"""On-site inspections (监督检查) with the standard checklist, hazards and their rectification.

An inspection's life: a regulator starts it for a filed workshop, records the seven checklist
items (each with a result, a note and an optional photo), lists the hazards found (each tied
to a non-compliant item, with a rectification deadline), and concludes it with an outcome.
From then on its findings are evidence and read-only. Each hazard then moves
open → rectifying (a rectification was submitted) → closed (only after a rectification was
accepted); a rectification sent back returns it to open. A hazard is overdue while it is not
closed and its deadline is before today (Asia/Shanghai).

Regulators do all of this; inspectors and regulators may read it. Every rule is checked
here before anything is written; every refusal of input is a ValidationError whose
``errors`` name the form field at fault (``result_<item>``, ``photo_<item>``, ``deadline``…).
Every change is audited. Functions flush and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import BinaryIO

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import selectinload

from backend.accounts.models import Role, User
from backend.audit.log import record
from backend.batches.models import Batch
from backend.core.errors import Conflict, DomainError, Errors, Forbidden, NotFound, ValidationError
from backend.core.i18n import N_
from backend.core.i18n import gettext as _
from backend.core.pages import Page, clamp_page
from backend.core.spreadsheets import render
from backend.core.time import local_today, utcnow
from backend.extensions import db
from backend.files.models import StoredFile
from backend.files.storage import delete_file
from backend.files.uploads import IMAGES, save_upload, sniff
from backend.inspections.models import (
    ChecklistItem,
    Hazard,
    HazardStatus,
    Inspection,
    InspectionItem,
    InspectionOutcome,
    ItemResult,
    Rectification,
)
from backend.registry.models import Workshop, WorkshopStatus
from backend.scan.caching import forget_batch

PER_PAGE = 50
MAX_BACKDATE_DAYS = 180  # an inspection recorded later than this after the visit is refused
MAX_DEADLINE_DAYS = 90  # a rectification deadline at most this long after the inspection
DEFAULT_DEADLINE_DAYS = 15  # what the hazard form proposes
NOTE_LIMIT = 1000
TEXT_LIMIT = 2000


ITEM_LABELS = {
    ChecklistItem.RAW_MATERIALS: N_("原料采购与进货查验"),
    ChecklistItem.SANITATION: N_("环境卫生"),
    ChecklistItem.PROCESSING: N_("生产加工过程"),
    ChecklistItem.ADDITIVES: N_("食品添加剂使用"),
    ChecklistItem.STAFF_HEALTH: N_("从业人员健康管理"),
    ChecklistItem.PACKAGING_LABELING: N_("包装与标签标识"),
    ChecklistItem.AREA_SEPARATION: N_("生活区、生产区、成品区分离"),
}
ITEM_GUIDANCE = {
    ChecklistItem.RAW_MATERIALS: N_("供货者许可证和合格证明是否查验、进货查验记录是否完整留存"),
    ChecklistItem.SANITATION: N_("加工场所清洁、排水、防鼠防虫防蝇设施，清洗消毒记录"),
    ChecklistItem.PROCESSING: N_("工艺与生产记录，生熟分开，工用具和设备的清洁"),
    ChecklistItem.ADDITIVES: N_("是否超范围超限量，专柜存放、专人管理，使用记录"),
    ChecklistItem.STAFF_HEALTH: N_("健康证是否有效，晨检记录，工作衣帽和洗手消毒"),
    ChecklistItem.PACKAGING_LABELING: N_("标签是否标注名称、生产日期、保质期、配料、登记证编号等"),
    ChecklistItem.AREA_SEPARATION: N_("生活区、生产区、成品区是否有效隔离"),
}
RESULT_LABELS = {
    ItemResult.COMPLIANT: N_("符合"),
    ItemResult.NON_COMPLIANT: N_("不符合"),
    ItemResult.NOT_APPLICABLE: N_("不适用"),
}
OUTCOME_LABELS = {
    InspectionOutcome.SATISFACTORY: N_("符合"),
    InspectionOutcome.RECTIFY: N_("基本符合，限期整改"),
    InspectionOutcome.UNSATISFACTORY: N_("不符合"),
}
IN_PROGRESS_LABEL = N_("检查中")
HAZARD_STATUS_LABELS = {
    HazardStatus.OPEN: N_("待整改"),
    HazardStatus.RECTIFYING: N_("整改中"),
    HazardStatus.CLOSED: N_("已销号"),
}
IN_PROGRESS = "in_progress"  # the outcome filter's value for inspections not yet concluded


# --- inputs -------------------------------------------------------------------------------


@dataclass
class Upload:
    """A file a person chose to upload: its bytes and the name their device gave it."""

    stream: BinaryIO
    filename: str = ""


@dataclass
class StartInput:
    """Which workshop is inspected, and on which day."""

    workshop_id: int | None = None
    inspected_on: date | None = None


@dataclass
class ItemInput:
    """One checklist item's finding as typed: a result, a note and perhaps a new photo."""

    result: str | None = None
    note: str = ""
    photo: Upload | None = None


@dataclass
class HazardInput:
    """A hazard: which item, what is wrong, rectify by when."""

    item: str | None = None
    description: str = ""
    deadline: date | None = None


@dataclass
class ConcludeInput:
    """The inspection's outcome and its summary."""

    outcome: str | None = None
    summary: str = ""


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


# --- who may do what ------------------------------------------------------------------------


def require_regulator(user: User | None) -> None:
    """Forbidden unless *user* is a regulator (the only ones who inspect and follow up)."""
    if user is None or user.role is not Role.REGULATOR:
        raise Forbidden(_("只有监管人员可以进行检查和整改操作。"), slug="regulator_only")


def require_viewer(user: User | None) -> None:
    """Forbidden unless *user* is a regulator or an inspector (who may read inspections)."""
    if user is None or user.role not in (Role.REGULATOR, Role.INSPECTOR):
        raise Forbidden(_("只有监管和检验人员可以查看检查记录。"), slug="staff_only")


# --- small checks -------------------------------------------------------------------------


def _text(errors: Errors, name: str, value: str | None, limit: int, *, required: bool) -> str:
    """Trim *value* (line breaks allowed); note it when missing, too long or holding other
    control characters."""
    value = (value or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if required and not value:
        errors.add(name, _("必填。"))
    elif len(value) > limit:
        errors.add(name, _("不能超过 %(limit)d 个字符。", limit=limit))
    elif any(ord(ch) < 32 and ch not in "\n\t" or ord(ch) == 127 for ch in value):
        errors.add(name, _("不能包含控制字符。"))
    return value


def _refuse(errors: Errors) -> None:
    """Raise the ValidationError for *errors*, if there are any."""
    if errors:
        raise ValidationError(
            _("提交的信息有误，请按提示修改，未保存任何内容。"),
            slug="inspection_invalid",
            errors=dict(errors),
        )


def _range_error(low: date, high: date) -> str:
    """The message for a date outside [low, high]."""
    return _("日期须在 %(low)s 至 %(high)s 之间。", low=low.isoformat(), high=high.isoformat())


def is_overdue(hazard: Hazard, today: date | None = None) -> bool:
    """Whether *hazard* is not closed and its deadline has passed."""
    today = today or local_today()
    return hazard.status is not HazardStatus.CLOSED and hazard.deadline < today


def overdue_days(hazard: Hazard, today: date | None = None) -> int:
    """How many days *hazard* is past its deadline (0 when it is not overdue)."""
    today = today or local_today()
    return (today - hazard.deadline).days if is_overdue(hazard, today) else 0


def _overdue_clause(today: date):
    """SQL: a hazard not closed whose deadline has passed."""
    return and_(Hazard.status != HazardStatus.CLOSED, Hazard.deadline < today)


def deadline_range(inspection: Inspection) -> tuple[date, date]:
    """The deadlines a hazard of *inspection* may have: after the visit, within 90 days."""
    return (
        inspection.inspected_on + timedelta(days=1),
        inspection.inspected_on + timedelta(days=MAX_DEADLINE_DAYS),
    )


def date_range() -> tuple[date, date]:
    """The dates an inspection may be recorded for: today and up to 180 days back."""
    today = local_today()
    return today - timedelta(days=MAX_BACKDATE_DAYS), today


# --- reading ------------------------------------------------------------------------------


def get_inspection(inspection_id: int, *, by: User, lock: bool = False) -> Inspection:
    """An inspection with its workshop, items, hazards and rectifications, or NotFound.

    *lock* takes a row lock (PostgreSQL) and reloads the row, so that two changes of one
    inspection queue up and the second sees what the first did.
    """
    require_viewer(by)
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
    require_viewer(by)
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
    require_viewer(by)
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


def pending_rectification(hazard: Hazard) -> Rectification | None:
    """The rectification of *hazard* waiting for review, if there is one."""
    return next((r for r in hazard.rectifications if r.accepted is None), None)


def accepted_rectification(hazard: Hazard) -> Rectification | None:
    """The accepted rectification of *hazard*, if there is one."""
    return next((r for r in hazard.rectifications if r.accepted), None)


def next_steps(hazard: Hazard) -> dict[str, bool]:
    """What may be done with *hazard* now: submit a rectification, review one, close it."""
    concluded = hazard.inspection.outcome is not None
    open_ = concluded and hazard.status is not HazardStatus.CLOSED
    pending = pending_rectification(hazard)
    accepted = accepted_rectification(hazard)
    return {
        "rectify": open_ and pending is None and accepted is None,
        "review": open_ and pending is not None,
        "close": open_ and accepted is not None,
    }


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
            Inspection.id.in_(select(Hazard.inspection_id).where(_overdue_clause(today)))
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
                func.sum(case((_overdue_clause(today), 1), else_=0)).label("overdue"),
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
    require_viewer(by)
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
    require_viewer(by)
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
        query = query.where(_overdue_clause(today))
    return query


def tracked_hazards(
    filters: HazardFilter, *, by: User, page: int = 1, per_page: int = PER_PAGE
) -> Page:
    """Hazards still to be rectified, overdue ones first (longest overdue first), then by
    deadline."""
    require_viewer(by)
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
    require_viewer(by)
    query = select(func.count(Hazard.id)).where(_overdue_clause(local_today()))
    return db.session.scalar(query) or 0


def open_workshops(*, by: User) -> list[Workshop]:
    """Workshops that may be inspected (every one not cancelled), by registration number."""
    require_viewer(by)
    return list(
        db.session.scalars(
            select(Workshop)
            .where(Workshop.status != WorkshopStatus.CANCELLED)
            .order_by(Workshop.registration_no)
        )
    )


# --- starting an inspection ---------------------------------------------------------------


def _in_progress_of(workshop_id: int) -> Inspection | None:
    """The workshop's inspection not yet concluded, if any."""
    return db.session.scalar(
        select(Inspection)
        .where(Inspection.workshop_id == workshop_id, Inspection.outcome.is_(None))
        .limit(1)
    )


def start_inspection(data: StartInput, *, by: User) -> Inspection:
    """Start an inspection of a filed workshop (regulators only); *by* is the inspector."""
    require_regulator(by)
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
    _refuse(errors)
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


def require_in_progress(inspection: Inspection) -> None:
    """Conflict once *inspection* is concluded: its findings are evidence, read-only."""
    if inspection.outcome is not None:
        raise Conflict(
            _("该检查已作出结论，检查记录作为证据不能再修改。"), slug="inspection_concluded"
        )


# --- photos -------------------------------------------------------------------------------


def _store_photo(upload: Upload, *, by: User) -> StoredFile:
    """Store an image through the upload checks (size, type from the bytes, a real image)."""
    head = upload.stream.read(16)
    upload.stream.seek(0)
    if head and sniff(head) not in IMAGES:
        raise ValidationError(_("照片只能是 JPEG、PNG 或 WebP 图片。"), slug="upload_type_refused")
    return save_upload(upload.stream, upload.filename, by=by)


def _store_photos(errors: Errors, photos: dict[str, Upload], *, by: User) -> dict[str, StoredFile]:
    """Store each photo (field name → upload); note the refused ones. When anything at all
    was refused (*errors* not empty at the end), the stored ones are removed again and the
    ValidationError raised, so nothing is left behind."""
    stored: dict[str, StoredFile] = {}
    try:
        for name, upload in photos.items():
            try:
                stored[name] = _store_photo(upload, by=by)
            except DomainError as exc:
                errors.add(name, exc.message)
        _refuse(errors)
    except BaseException:
        for saved in stored.values():
            delete_file(saved)
        raise
    return stored


def get_photo(file_id: int, *, by: User) -> StoredFile:
    """A photo of an inspection item or a rectification, for regulators and inspectors;
    NotFound for any other file."""
    require_viewer(by)
    used = db.session.scalar(
        select(InspectionItem.id).where(InspectionItem.photo_file_id == file_id).limit(1)
    ) or db.session.scalar(
        select(Rectification.id).where(Rectification.photo_file_id == file_id).limit(1)
    )
    stored = db.session.get(StoredFile, file_id) if used else None
    if stored is None:
        raise NotFound(_("照片不存在。"), slug="photo_not_found")
    return stored


# --- the checklist ------------------------------------------------------------------------


def record_items(
    inspection_id: int, findings: dict[ChecklistItem, ItemInput], *, by: User
) -> Inspection:
    """Record the seven checklist items of an inspection in progress (regulators only).

    Each item needs a result; a non-compliant one needs a note; a photo is optional and
    replaces the one recorded before. Items may be recorded again until the conclusion.
    An item with a hazard must stay non-compliant.
    """
    require_regulator(by)
    inspection = get_inspection(inspection_id, by=by, lock=True)
    require_in_progress(inspection)
    errors = Errors()
    hazard_items = {h.item for h in inspection.hazards}
    results: dict[ChecklistItem, tuple[ItemResult, str]] = {}
    photos: dict[str, Upload] = {}
    for item in ChecklistItem:
        data = findings.get(item) or ItemInput()
        result = None
        if not data.result:
            errors.add(f"result_{item.value}", _("请选择检查结果。"))
        else:
            try:
                result = ItemResult(data.result)
            except ValueError:
                errors.add(f"result_{item.value}", _("未知的检查结果。"))
        note = _text(errors, f"note_{item.value}", data.note, NOTE_LIMIT, required=False)
        if result is ItemResult.NON_COMPLIANT and not note:
            errors.add(f"note_{item.value}", _("不符合的项目须写明发现的问题。"))
        if result is not None and result is not ItemResult.NON_COMPLIANT and item in hazard_items:
            errors.add(
                f"result_{item.value}",
                _("该项已登记隐患，只能为“不符合”；如判断有误，请先删除该隐患。"),
            )
        if result is not None:
            results[item] = (result, note)
        if data.photo is not None:
            photos[f"photo_{item.value}"] = data.photo
    stored = _store_photos(errors, photos, by=by)
    existing = {row.item: row for row in inspection.items}
    changes = {}
    for item, (result, note) in results.items():
        photo = stored.get(f"photo_{item.value}")
        row = existing.get(item)
        if row is None:
            row = InspectionItem(inspection_id=inspection.id, item=item, result=result, note=note)
            db.session.add(row)
            inspection.items.append(row)
        elif row.result is result and row.note == note and photo is None:
            continue
        else:
            row.result, row.note = result, note
        if photo is not None:
            row.photo_file_id = photo.id
        changes[item.value] = {"result": result, "note": note, "photo_file_id": row.photo_file_id}
    db.session.flush()
    if changes:
        record("inspection.items_recorded", "inspection", inspection.id, actor=by, items=changes)
    return inspection


# --- hazards ------------------------------------------------------------------------------


def add_hazard(inspection_id: int, data: HazardInput, *, by: User) -> Hazard:
    """List a hazard found in an inspection in progress (regulators only): a non-compliant
    item, what is wrong, and a deadline after the inspection date (within 90 days)."""
    require_regulator(by)
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
    description = _text(errors, "description", data.description, TEXT_LIMIT, required=True)
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
    _refuse(errors)
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
    require_regulator(by)
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


# --- the conclusion -----------------------------------------------------------------------


def conclude(inspection_id: int, data: ConcludeInput, *, by: User) -> Inspection:
    """Conclude an inspection with its outcome (regulators only); its findings become
    read-only evidence.

    Every item must be recorded first. "Satisfactory" is impossible with a hazard or a
    non-compliant item; "rectify" needs at least one hazard; any other outcome needs every
    non-compliant item to have a hazard, so that each one is followed up.
    """
    require_regulator(by)
    inspection = get_inspection(inspection_id, by=by, lock=True)
    require_in_progress(inspection)
    errors = Errors()
    recorded = {row.item: row for row in inspection.items}
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
    if not data.outcome:
        errors.add("outcome", _("请选择检查结论。"))
    else:
        try:
            outcome = InspectionOutcome(data.outcome)
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
    summary = _text(
        errors,
        "summary",
        data.summary,
        TEXT_LIMIT,
        required=outcome is not None and outcome is not InspectionOutcome.SATISFACTORY,
    )
    _refuse(errors)
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
    _forget_scan_views(inspection.workshop_id)
    return inspection


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


def _forget_scan_views(workshop_id: int) -> None:
    """The consumer's scan shows the last inspection: drop the workshop's cached views."""
    for batch_id in db.session.scalars(select(Batch.id).where(Batch.workshop_id == workshop_id)):
        forget_batch(batch_id)


# --- rectification ------------------------------------------------------------------------


def _require_followed_up(hazard: Hazard) -> None:
    """Conflict unless *hazard*'s inspection is concluded and the hazard is not closed."""
    if hazard.inspection.outcome is None:
        raise Conflict(_("检查尚未作出结论，隐患还未下达整改。"), slug="inspection_in_progress")
    if hazard.status is HazardStatus.CLOSED:
        raise Conflict(_("该隐患已销号。"), slug="hazard_closed")


def submit_rectification(hazard_id: int, data: RectificationInput, *, by: User) -> Rectification:
    """Record what the workshop did about a hazard, on its behalf (regulators only); the
    hazard becomes "rectifying" until the rectification is reviewed."""
    require_regulator(by)
    hazard = get_hazard(hazard_id, by=by, lock=True)
    _require_followed_up(hazard)
    if pending_rectification(hazard) is not None:
        raise Conflict(_("上一次提交的整改尚未复查。"), slug="rectification_pending")
    if accepted_rectification(hazard) is not None:
        raise Conflict(_("整改已通过复查，可以直接销号。"), slug="rectification_accepted")
    errors = Errors()
    description = _text(errors, "description", data.description, TEXT_LIMIT, required=True)
    photos = {"photo": data.photo} if data.photo is not None else {}
    stored = _store_photos(errors, photos, by=by)
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
    require_regulator(by)
    rectification = get_rectification(rectification_id, by=by)
    hazard = get_hazard(rectification.hazard_id, by=by, lock=True)
    _require_followed_up(hazard)
    if rectification.accepted is not None:
        raise Conflict(_("该整改已复查过。"), slug="rectification_reviewed")
    errors = Errors()
    if data.decision not in ("accept", "reject"):
        errors.add("decision", _("请选择复查结果。"))
    note = _text(errors, "note", data.note, TEXT_LIMIT, required=False)
    if data.decision == "reject" and not note and "note" not in errors:
        errors.add("note", _("退回整改时须写明原因。"))
    _refuse(errors)
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
    require_regulator(by)
    hazard = get_hazard(hazard_id, by=by, lock=True)
    _require_followed_up(hazard)
    if accepted_rectification(hazard) is None:
        raise ValidationError(
            _("只有整改通过复查后才能销号。"),
            slug="rectification_not_accepted",
            errors={"hazard": [_("只有整改通过复查后才能销号。")]},
        )
    overdue = overdue_days(hazard)
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


# --- export -------------------------------------------------------------------------------


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
