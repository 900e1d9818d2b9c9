"""Invite codes from the console: a regulator issues one for an operator of a workshop.

The code is shown once, on the page that answers the POST (only its hash is stored); see
backend/accounts/invites.py for the rules (one use, 1 to 30 days, open workshops only).
"""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField

from backend.accounts import invites
from backend.accounts.models import MemberRole, Role
from backend.core.errors import DomainError
from backend.extensions import db
from backend.registry import filing
from portal.console.common import NavItem, acting_user

blueprint = Blueprint("invites", __name__, url_prefix="/registry")
# Buttons on a workshop's page; each endpoint takes ``workshop_id``.
workshop_actions = [NavItem("console.invites.create", _l("发放邀请码"), (Role.REGULATOR,))]


class InviteForm(FlaskForm):
    """Who the code is for and how long it lasts."""

    role = SelectField(
        _l("身份"),
        choices=[
            SelectChoice(MemberRole.OWNER.value, _l("负责人")),
            SelectChoice(MemberRole.STAFF.value, _l("员工")),
        ],
        default=MemberRole.STAFF.value,
        validate_choice=False,
    )
    days = SelectField(
        _l("有效天数"),
        choices=[SelectChoice(str(d)) for d in range(invites.MIN_DAYS, invites.MAX_DAYS + 1)],
        default=str(invites.DEFAULT_DAYS),
        validate_choice=False,
    )


@blueprint.route("/<int:workshop_id>/invites/new", methods=["GET", "POST"])
def create(workshop_id: int):
    """Issue a one-time invite code for an operator of the workshop (regulators only)."""
    user = acting_user()
    filing.require_regulator(user)
    workshop = filing.get_workshop(workshop_id, by=user)
    form = InviteForm()
    template_name = "console/registry/invite.html"
    if not form.validate_on_submit():
        return render_template(template_name, form=form, workshop=workshop, issued=None)
    role = form.role.data if form.role.data in {r.value for r in MemberRole} else None
    days = int(form.days.data) if (form.days.data or "").isdigit() else 0
    if role is None:
        form.role.errors = [str(_l("未知的身份。"))]
        return render_template(template_name, form=form, workshop=workshop, issued=None), 422
    try:
        issued = invites.create_invite(workshop.registration_no, MemberRole(role), days, by=user)
    except DomainError as exc:
        db.session.rollback()
        if "days" in exc.errors:
            form.days.errors = [exc.message]
        else:
            form.form_errors.append(exc.message)
        page = render_template(template_name, form=form, workshop=workshop, issued=None)
        return page, exc.status_code
    page = render_template(template_name, form=form, workshop=workshop, issued=issued)
    return page, 201
