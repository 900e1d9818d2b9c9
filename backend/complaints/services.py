"""Complaints (投诉处理): filed by consumers, assigned, answered and closed in the console.

A complaint moves new → handling → closed and never back: a closed complaint is final, a
new matter is filed as a new complaint. Regulators assign complaints to a console user
(a regulator or an inspector with an active account) and close them once answered; the
assignee or any regulator answers. Inspectors read every complaint, but the contact's
phone number is shown to them masked unless the complaint is assigned to them.
``file_complaint`` creates one with a unique reference (TS20261126-0001), linked to the
code, batch or workshop it is about. Functions flush and never commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from backend.accounts.models import Role, User
from backend.accounts.permissions import require_role
from backend.audit.log import record
from backend.batches.models import Batch
from backend.codes.models import UnitCode
from backend.codes.services import parse_code
from backend.complaints.models import Complaint, ComplaintChannel, ComplaintStatus
from backend.core import checks
from backend.core.errors import (
    Conflict,
    DomainError,
    Errors,
    Forbidden,
    NotFound,
    refuse,
)
from backend.core.i18n import N_
from backend.core.i18n import gettext as _
from backend.core.pages import Page, clamp_page
from backend.core.time import SHANGHAI, local_today, utcnow
from backend.extensions import db
from backend.integrations import wechat
from backend.registry.models import Workshop

PER_PAGE = 50
MAX_CONTENT = 2000
MAX_REPLY = 2000
PHONE = re.compile(r"^[0-9+\-() ]{5,30}$")
CONSOLE_ROLES = (Role.REGULATOR, Role.INSPECTOR)
REFERENCE_ATTEMPTS = 5


STATUS_LABELS = {
    ComplaintStatus.NEW: N_("待处理"),
    ComplaintStatus.HANDLING: N_("处理中"),
    ComplaintStatus.CLOSED: N_("已办结"),
}
CHANNEL_LABELS = {
    ComplaintChannel.PORTAL: N_("门户网站"),
    ComplaintChannel.SCAN_PAGE: N_("扫码页面"),
    ComplaintChannel.MINIPROGRAM: N_("小程序"),
}


@dataclass
class ComplaintInput:
    """A complaint as filed: what it says, what it is about, how to reach the person."""

    content: str = ""
    code: str = ""  # the unit code as printed or typed
    batch_id: int | None = None
    workshop_id: int | None = None
    contact_name: str = ""
    contact_phone: str = ""


@dataclass
class ComplaintFilter:
    """What the complaint list is narrowed to; empty fields do not narrow."""

    status: str = ""
    mine: bool = False
    workshop_id: int | None = None
    date_from: date | None = None  # filed on or after (local date)
    date_to: date | None = None  # filed on or before (local date)


@dataclass
class ComplaintRow:
    """A complaint in the list with its workshop's and assignee's names."""

    complaint: Complaint
    workshop_name: str | None
    assignee_name: str | None


@dataclass
class ComplaintDetail:
    """A complaint with what it is linked to and what the viewer may do with it."""

    complaint: Complaint
    workshop: Workshop | None
    batch: Batch | None
    code: UnitCode | None
    assignee: User | None
    handler: User | None
    contact_phone: str  # masked unless the viewer may see it
    phone_masked: bool
    can_assign: bool
    can_respond: bool
    can_close: bool


# --- who may do what --------------------------------------------------------------------

#: What those refused by ``require_role`` are told: only regulators assign and close
#: complaints, only regulators and inspectors read them.
REGULATORS_ONLY = N_("只有监管人员可以指派和办结投诉。")
STAFF_ONLY = N_("只有监管和检验人员可以查看投诉。")


def mask_phone(phone: str) -> str:
    """*phone* with its middle digits hidden: 138****5678."""
    phone = (phone or "").strip()
    if not phone:
        return ""
    if len(phone) < 7:
        return "*" * len(phone)
    return f"{phone[:3]}****{phone[-4:]}"


# --- checks -----------------------------------------------------------------------------


# Trimmed, within its limit; tabs and line breaks allowed.
_text = partial(checks.text, allowed="\t\r\n")


# --- filing -----------------------------------------------------------------------------


def _next_reference(day: date) -> str:
    """The next free reference of *day*: TS20261126-0001, -0002…"""
    prefix = f"TS{day:%Y%m%d}-"
    last = db.session.scalar(
        select(Complaint.reference)
        .where(Complaint.reference.like(f"{prefix}%"))
        .order_by(func.length(Complaint.reference).desc(), Complaint.reference.desc())
        .limit(1)
    )
    tail = last[len(prefix) :] if last else ""
    number = int(tail) + 1 if tail.isdigit() else 1
    return f"{prefix}{number:04d}"


def _links(
    errors: Errors, data: ComplaintInput
) -> tuple[UnitCode | None, Batch | None, int | None]:
    """The code, batch and workshop the complaint is about; at least one, all consistent."""
    code = batch = None
    workshop_id = data.workshop_id
    code_text = (data.code or "").strip()
    if code_text:
        try:
            canonical = parse_code(code_text)
        except DomainError as exc:
            errors.add("code", exc.message)
            canonical = None
        if canonical is not None:
            code = db.session.scalar(select(UnitCode).where(UnitCode.code == canonical))
            if code is None:
                errors.add("code", _("该码不存在，请核对包装上的码。"))
    if data.batch_id is not None:
        batch = db.session.get(Batch, data.batch_id)
        if batch is None:
            errors.add("batch_id", _("批次不存在。"))
    if code is not None:
        if batch is not None and batch.id != code.batch_id:
            errors.add("batch_id", _("该码不属于所选批次。"))
        batch = batch or db.session.get(Batch, code.batch_id)
    if batch is not None:
        if workshop_id is not None and workshop_id != batch.workshop_id:
            errors.add("workshop_id", _("该批次不是所选作坊生产的。"))
        workshop_id = batch.workshop_id
    elif workshop_id is not None and db.session.get(Workshop, workshop_id) is None:
        errors.add("workshop_id", _("作坊不存在。"))
    if not (code_text or data.batch_id is not None or data.workshop_id is not None):
        errors.add("code", _("请填写产品上的码，或选择投诉涉及的批次或作坊。"))
    return code, batch, workshop_id


def file_complaint(
    data: ComplaintInput,
    *,
    channel: ComplaintChannel = ComplaintChannel.PORTAL,
    client_hash: str | None = None,
) -> Complaint:
    """File a complaint about a code (by its text), a batch or a workshop; anyone may.

    When WeChat is configured the text goes through WeChat's content-security check
    (msgSecCheck) first: risky text is refused on ``content``; WeChat being unreachable is a
    WeChatError and nothing is filed.

    The complaint gets the day's next reference, TS20261126-0001; a reference taken by a
    complaint filed at the same moment is retried with the next number.
    """
    errors = Errors()
    content = _text(errors, "content", data.content, MAX_CONTENT)
    contact_name = _text(errors, "contact_name", data.contact_name, 50, required=False)
    contact_phone = _text(errors, "contact_phone", data.contact_phone, 30, required=False)
    if contact_phone and not PHONE.match(contact_phone):
        errors.add("contact_phone", _("电话只能包含数字、空格和 + - ( )。"))
    if "\n" in contact_name or "\t" in contact_name:
        errors.add("contact_name", _("不能包含换行。"))
    try:
        channel = ComplaintChannel(channel)
    except ValueError:
        errors.add("channel", _("未知的投诉渠道。"))
    code, batch, workshop_id = _links(errors, data)
    refuse(errors, "complaint_invalid")
    if wechat.configured() and not wechat.text_is_safe(content):
        errors.add("content", _("内容未通过微信内容安全检测，请修改后再提交。"))
        refuse(errors, "complaint_invalid")
    day = local_today()
    for _attempt in range(REFERENCE_ATTEMPTS):
        complaint = Complaint(
            reference=_next_reference(day),
            channel=channel,
            workshop_id=workshop_id,
            batch_id=batch.id if batch is not None else None,
            code_id=code.id if code is not None else None,
            content=content,
            contact_name=contact_name,
            contact_phone=contact_phone,
            status=ComplaintStatus.NEW,
            client_hash=client_hash,
        )
        try:
            with db.session.begin_nested():
                db.session.add(complaint)
        except IntegrityError:
            continue  # the reference was taken meanwhile: try the next one
        break
    else:
        raise Conflict(_("投诉编号分配失败，请稍后重试。"), slug="reference_busy")
    record(
        "complaint.filed",
        "complaint",
        complaint.id,
        reference=complaint.reference,
        channel=channel,
        workshop_id=workshop_id,
        batch_id=complaint.batch_id,
        code_id=complaint.code_id,
    )
    return complaint


# --- reading ----------------------------------------------------------------------------


def _local_start(day: date) -> datetime:
    """The UTC instant at which local (Asia/Shanghai) *day* begins."""
    return datetime.combine(day, time.min, tzinfo=SHANGHAI).astimezone(UTC)


def _filtered(query, filters: ComplaintFilter, user: User):
    """Narrow a complaint query by *filters* (unknown values simply match nothing)."""
    if filters.status:
        try:
            query = query.where(Complaint.status == ComplaintStatus(filters.status))
        except ValueError:
            query = query.where(Complaint.id.is_(None))
    if filters.mine:
        query = query.where(Complaint.assigned_to_id == user.id)
    if filters.workshop_id is not None:
        query = query.where(Complaint.workshop_id == filters.workshop_id)
    if filters.date_from is not None:
        query = query.where(Complaint.created_at >= _local_start(filters.date_from))
    if filters.date_to is not None and filters.date_to < date.max:
        query = query.where(
            Complaint.created_at < _local_start(filters.date_to + timedelta(days=1))
        )
    return query


def list_complaints(
    filters: ComplaintFilter, *, by: User, page: int = 1, per_page: int = PER_PAGE
) -> Page:
    """One page of complaints, newest first, narrowed by *filters*."""
    require_role(by, *CONSOLE_ROLES, message=_(STAFF_ONLY), slug="staff_only")
    total = db.session.scalar(_filtered(select(func.count(Complaint.id)), filters, by)) or 0
    page = clamp_page(page, total, per_page)
    assignee = aliased(User)
    rows = db.session.execute(
        _filtered(
            select(Complaint, Workshop.name, assignee.display_name, assignee.username)
            .outerjoin(Workshop, Workshop.id == Complaint.workshop_id)
            .outerjoin(assignee, assignee.id == Complaint.assigned_to_id),
            filters,
            by,
        )
        .order_by(Complaint.created_at.desc(), Complaint.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    items = [
        ComplaintRow(complaint, workshop_name, display_name or username)
        for complaint, workshop_name, display_name, username in rows
    ]
    return Page(items, total, page, per_page)


def count_new(*, by: User) -> int:
    """How many complaints wait to be handled (for the navigation's badge)."""
    require_role(by, *CONSOLE_ROLES, message=_(STAFF_ONLY), slug="staff_only")
    return (
        db.session.scalar(
            select(func.count(Complaint.id)).where(Complaint.status == ComplaintStatus.NEW)
        )
        or 0
    )


def get_complaint(complaint_id: int, *, by: User) -> Complaint:
    """A complaint, or NotFound."""
    require_role(by, *CONSOLE_ROLES, message=_(STAFF_ONLY), slug="staff_only")
    complaint = db.session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound(_("投诉不存在。"), slug="complaint_not_found")
    return complaint


def complaint_detail(complaint_id: int, *, by: User) -> ComplaintDetail:
    """A complaint with its linked code, batch and workshop, as *by* may see it."""
    complaint = get_complaint(complaint_id, by=by)
    code = db.session.get(UnitCode, complaint.code_id) if complaint.code_id else None
    batch = db.session.get(Batch, complaint.batch_id) if complaint.batch_id else None
    workshop = db.session.get(Workshop, complaint.workshop_id) if complaint.workshop_id else None
    assignee = db.session.get(User, complaint.assigned_to_id) if complaint.assigned_to_id else None
    handler = db.session.get(User, complaint.handled_by_id) if complaint.handled_by_id else None
    visible = complaint.shows_phone_to(by)
    open_ = complaint.status is not ComplaintStatus.CLOSED
    return ComplaintDetail(
        complaint=complaint,
        workshop=workshop,
        batch=batch,
        code=code,
        assignee=assignee,
        handler=handler,
        contact_phone=complaint.contact_phone if visible else mask_phone(complaint.contact_phone),
        phone_masked=not visible and bool(complaint.contact_phone),
        can_assign=open_ and by.role is Role.REGULATOR,
        can_respond=open_ and complaint.may_respond(by),
        can_close=open_ and by.role is Role.REGULATOR,
    )


def assignable_users(*, by: User) -> list[User]:
    """Active regulators and inspectors, who may be given a complaint to handle."""
    require_role(by, *CONSOLE_ROLES, message=_(STAFF_ONLY), slug="staff_only")
    return list(
        db.session.scalars(
            select(User)
            .where(User.role.in_(CONSOLE_ROLES), User.active.is_(True))
            .order_by(User.role.desc(), User.display_name, User.username)
        )
    )


def workshop_choices(*, by: User) -> list[Workshop]:
    """Workshops for the list's filter, by registration number."""
    require_role(by, *CONSOLE_ROLES, message=_(STAFF_ONLY), slug="staff_only")
    return list(db.session.scalars(select(Workshop).order_by(Workshop.registration_no)))


# --- handling ---------------------------------------------------------------------------


def _still_open(errors: Errors, complaint: Complaint, name: str) -> None:
    """A closed complaint is final: note it on field *name*."""
    if complaint.status is ComplaintStatus.CLOSED:
        errors.add(name, _("该投诉已办结，不能再处理；如有新情况请另行登记投诉。"))


def assign(complaint_id: int, user_id: int | None, *, by: User) -> Complaint:
    """Give a complaint to an active regulator or inspector to handle (regulators only)."""
    require_role(by, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    complaint = get_complaint(complaint_id, by=by)
    errors = Errors()
    _still_open(errors, complaint, "assigned_to")
    assignee = db.session.get(User, user_id) if user_id is not None and user_id > 0 else None
    if user_id is None:
        errors.add("assigned_to", _("请选择处理人。"))
    elif assignee is None:
        errors.add("assigned_to", _("处理人不存在。"))
    elif assignee.role not in CONSOLE_ROLES:
        errors.add("assigned_to", _("只能指派给监管人员或检验人员。"))
    elif not assignee.active:
        errors.add("assigned_to", _("该账号已停用，不能指派。"))
    refuse(errors, "complaint_invalid")
    previous = complaint.assigned_to_id
    complaint.assigned_to_id = assignee.id
    complaint.assigned_at = utcnow()
    db.session.flush()
    record(
        "complaint.assigned",
        "complaint",
        complaint.id,
        actor=by,
        reference=complaint.reference,
        assigned_to=assignee.id,
        previous=previous,
    )
    return complaint


def respond(complaint_id: int, reply: str, *, by: User) -> Complaint:
    """Answer a complaint: the reply is kept and the complaint is being handled.

    Regulators answer any open complaint; an inspector only those assigned to them. A
    second answer replaces the first (the audit log keeps both).
    """
    complaint = get_complaint(complaint_id, by=by)
    if not complaint.may_respond(by):
        raise Forbidden(_("检验人员只能答复指派给自己的投诉。"), slug="not_assignee")
    errors = Errors()
    _still_open(errors, complaint, "reply")
    text = _text(errors, "reply", reply, MAX_REPLY)
    refuse(errors, "complaint_invalid")
    previous = complaint.reply
    complaint.reply = text
    complaint.replied_at = utcnow()
    complaint.status = ComplaintStatus.HANDLING
    db.session.flush()
    record(
        "complaint.replied",
        "complaint",
        complaint.id,
        actor=by,
        reference=complaint.reference,
        reply=text,
        previous=previous or None,
    )
    return complaint


def close(complaint_id: int, *, by: User) -> Complaint:
    """Close an answered complaint (regulators only); it cannot be reopened."""
    require_role(by, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    complaint = get_complaint(complaint_id, by=by)
    errors = Errors()
    _still_open(errors, complaint, "reply")
    if "reply" not in errors and not (complaint.reply or "").strip():
        errors.add("reply", _("尚未答复投诉人，不能办结；请先填写答复。"))
    refuse(errors, "complaint_invalid")
    complaint.status = ComplaintStatus.CLOSED
    complaint.closed_at = utcnow()
    complaint.handled_by_id = by.id
    db.session.flush()
    record(
        "complaint.closed",
        "complaint",
        complaint.id,
        actor=by,
        reference=complaint.reference,
    )
    return complaint
