"""Complaints in the console: the list with filters, a complaint with what it is about,
and assigning, answering and closing it.

Regulators assign and close; an inspector answers the complaints assigned to them. The
service refuses everything else (403, nothing changed).
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import SelectChoice, SelectField, TextAreaField

from backend.accounts.models import Role
from backend.accounts.permissions import require_role
from backend.complaints import services as complaints
from backend.complaints.models import ComplaintStatus
from backend.complaints.services import ComplaintFilter
from backend.core.errors import ValidationError
from backend.core.i18n import gettext as _
from backend.extensions import db
from portal.console.common import NavItem, acting_user, apply_errors
from portal.console.forms import optional_id

blueprint = Blueprint("complaints", __name__, url_prefix="/complaints")


class _NavLabel:
    """The navigation's label: 投诉处理, with the number of complaints waiting."""

    def __str__(self) -> str:
        """The label's text."""
        return str(_l("投诉处理"))

    def __html__(self) -> str:
        """The label with a badge when complaints wait to be handled."""
        waiting = complaints.count_new(by=acting_user())
        if not waiting:
            return str(escape(str(self)))
        title = escape(_l("%(count)d 件待处理", count=waiting))
        return str(
            Markup('{} <span class="tag tag-warn" title="{}">{}</span>').format(
                str(self), title, waiting
            )
        )


navigation = [NavItem("console.complaints.index", _NavLabel(), order=60)]
# Buttons on a workshop's page; each endpoint takes ``workshop_id`` (here as a filter).
workshop_actions = [NavItem("console.complaints.index", _l("投诉记录"), order=60)]


class AssignForm(FlaskForm):
    """Who is to handle the complaint."""

    assigned_to = SelectField(_l("处理人"), validate_choice=False)

    def set_choices(self, users) -> None:
        """Offer the active regulators and inspectors."""
        self.assigned_to.choices = [SelectChoice("", _l("— 请选择 —"))] + [
            SelectChoice(
                str(u.id),
                f"{u.display_name or u.username}（"
                f"{_l('监管人员') if u.role.value == 'regulator' else _l('检验人员')}）",
            )
            for u in users
        ]


class RespondForm(FlaskForm):
    """The answer to the complaint."""

    reply = TextAreaField(_l("答复内容"))


class CloseForm(FlaskForm):
    """Closing is a POST with the CSRF token."""


def _date_arg(name: str, notes: list) -> date | None:
    """A date from the query string (2024-01-31); an unreadable one is noted and ignored."""
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        notes.append(_l("“%(text)s”不是有效的日期，已忽略。", text=text[:20]))
        return None


def _page_number() -> int:
    """The ?page= number (1 when missing or not a number)."""
    text = request.args.get("page", "1")
    return int(text) if text.isdigit() and 0 < len(text) < 7 else 1


@blueprint.get("/")
def index():
    """Complaints, newest first, by status, assignee, workshop and date filed."""
    user = acting_user()
    notes: list = []
    filters = ComplaintFilter(
        status=request.args.get("status", "").strip(),
        mine=request.args.get("mine") == "1",
        workshop_id=optional_id(request.args.get("workshop_id")),
        date_from=_date_arg("date_from", notes),
        date_to=_date_arg("date_to", notes),
    )
    args = {
        "status": filters.status,
        "mine": "1" if filters.mine else "",
        "workshop_id": filters.workshop_id if filters.workshop_id is not None else "",
        "date_from": filters.date_from.isoformat() if filters.date_from else "",
        "date_to": filters.date_to.isoformat() if filters.date_to else "",
    }
    return render_template(
        "console/complaints/index.html",
        page=complaints.list_complaints(filters, by=user, page=_page_number()),
        filters=filters,
        filter_args={k: v for k, v in args.items() if v != ""},
        notes=notes,
        workshops=complaints.workshop_choices(by=user),
        complaint_status=complaints.STATUS_LABELS,
        channel_labels=complaints.CHANNEL_LABELS,
    )


def _detail_page(complaint_id: int, *, assign=None, respond=None, close=None, status=200):
    """The complaint's page with its three forms (those given keep what was typed)."""
    user = acting_user()
    detail = complaints.complaint_detail(complaint_id, by=user)
    if assign is None:
        assign = AssignForm(formdata=None)
        assign.assigned_to.data = str(detail.complaint.assigned_to_id or "")
    assign.set_choices(complaints.assignable_users(by=user))
    if respond is None:
        respond = RespondForm(formdata=None, reply=detail.complaint.reply)
    page = render_template(
        "console/complaints/detail.html",
        detail=detail,
        assign_form=assign,
        respond_form=respond,
        close_form=close or CloseForm(formdata=None),
        complaint_status=complaints.STATUS_LABELS,
        channel_labels=complaints.CHANNEL_LABELS,
    )
    return page, status


def _refused(complaint_id: int, exc: ValidationError, **forms):
    """Roll back and show the complaint again with the service's errors next to the fields."""
    db.session.rollback()
    for form in forms.values():
        apply_errors(form, exc.errors)
    flash(_l("提交的信息有误，请按提示修改，未保存任何内容。"), "error")
    return _detail_page(complaint_id, status=422, **forms)


@blueprint.get("/<int:complaint_id>")
def detail(complaint_id: int):
    """A complaint with the code, batch and workshop it is about, and how it was handled."""
    return _detail_page(complaint_id)


@blueprint.post("/<int:complaint_id>/assign")
def assign(complaint_id: int):
    """Give the complaint to a regulator or inspector to handle (regulators only)."""
    user = acting_user()
    require_role(user, Role.REGULATOR, message=_(complaints.REGULATORS_ONLY), slug="regulator_only")
    form = AssignForm()
    try:
        complaint = complaints.assign(complaint_id, optional_id(form.assigned_to.data), by=user)
    except ValidationError as exc:
        return _refused(complaint_id, exc, assign=form)
    flash(_l("已指派投诉 %(reference)s。", reference=complaint.reference), "success")
    return redirect(url_for(".detail", complaint_id=complaint.id))


@blueprint.post("/<int:complaint_id>/respond")
def respond(complaint_id: int):
    """Answer the complaint (regulators, or the inspector it is assigned to)."""
    user = acting_user()
    form = RespondForm()
    try:
        complaint = complaints.respond(complaint_id, form.reply.data or "", by=user)
    except ValidationError as exc:
        return _refused(complaint_id, exc, respond=form)
    flash(_l("已保存答复。"), "success")
    return redirect(url_for(".detail", complaint_id=complaint.id))


@blueprint.post("/<int:complaint_id>/close")
def close(complaint_id: int):
    """Close an answered complaint (regulators only); it cannot be reopened."""
    user = acting_user()
    require_role(user, Role.REGULATOR, message=_(complaints.REGULATORS_ONLY), slug="regulator_only")
    form = CloseForm()
    try:
        complaint = complaints.close(complaint_id, by=user)
    except ValidationError as exc:
        # "answer first" is shown under the answer's text area while the complaint is open
        if complaints.get_complaint(complaint_id, by=user).status is ComplaintStatus.CLOSED:
            return _refused(complaint_id, exc, close=form)
        return _refused(complaint_id, exc, respond=RespondForm(formdata=None))
    flash(_l("投诉 %(reference)s 已办结。", reference=complaint.reference), "success")
    return redirect(url_for(".detail", complaint_id=complaint.id))
