"""Training records in the console: sessions by year, recording a session and its
attendance (choose a workshop, tick its staff), a workshop's and a person's trainings.

Inspectors see every page that reads; the service refuses them every change.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    TextAreaField,
)

from backend.accounts.models import Role
from backend.accounts.permissions import require_role
from backend.core.errors import ValidationError
from backend.core.i18n import gettext as _
from backend.core.time import local_today
from backend.extensions import db
from backend.training import history, listing, sessions
from backend.training.attendance import (
    AttendanceInput,
    attendance_sheet,
    record_attendance,
    workshop_choices,
)
from backend.training.sessions import REGULATORS_ONLY, TrainingInput
from portal.console.common import LocalDateField, NavItem, acting_user, apply_errors, refused
from portal.console.forms import optional_id

blueprint = Blueprint("training", __name__, url_prefix="/training")
navigation = [NavItem("console.training.index", _l("培训"), order=50)]
# Buttons on a workshop's page; each endpoint takes ``workshop_id``.
workshop_actions = [
    NavItem("console.training.workshop", _l("培训记录"), (Role.REGULATOR, Role.INSPECTOR), 50)
]


class TrainingForm(FlaskForm):
    """A training session: what, when, where, by whom, how long."""

    title = StringField(_l("培训名称"))
    topics = SelectMultipleField(
        _l("培训主题"),
        choices=[SelectChoice(topic) for topic in sessions.SUGGESTED_TOPICS],
        validate_choice=False,
    )
    other_topics = StringField(_l("其他主题"))
    held_on = LocalDateField(_l("培训日期"))
    organiser = StringField(_l("主办单位"), default=sessions.DEFAULT_ORGANISER)
    location = StringField(_l("地点"))
    hours = StringField(_l("学时"), default="2", render_kw={"inputmode": "numeric"})
    content = TextAreaField(_l("培训内容"))

    def fill_from(self, session) -> None:
        """Put a recorded session's values into the form (for editing)."""
        topics = sessions.split_topics(session.topics)
        self.title.data = session.title
        self.topics.data = [t for t in topics if t in sessions.SUGGESTED_TOPICS]
        self.other_topics.data = sessions.TOPIC_SEPARATOR.join(
            t for t in topics if t not in sessions.SUGGESTED_TOPICS
        )
        self.held_on.data = session.held_on
        self.organiser.data = session.organiser
        self.location.data = session.location
        self.hours.data = str(session.hours)
        self.content.data = session.content

    def to_input(self) -> TrainingInput:
        """What was typed, for the training service."""
        return TrainingInput(
            title=self.title.data or "",
            topics=list(self.topics.data or []),
            other_topics=self.other_topics.data or "",
            held_on=self.held_on.data,
            organiser=self.organiser.data or "",
            location=self.location.data or "",
            hours=self.hours.data or "",
            content=self.content.data or "",
        )


class AttendanceForm(FlaskForm):
    """One workshop's attendance: who was there, who passed the quiz."""

    workshop_id = HiddenField()
    attended = SelectMultipleField(_l("出勤"), validate_choice=False)
    passed = SelectMultipleField(_l("考核合格"), validate_choice=False)

    def to_input(self) -> AttendanceInput:
        """The ticks as ids (anything that is not a number matches no one)."""
        return AttendanceInput(
            workshop_id=optional_id(self.workshop_id.data),
            attended=[optional_id(v) for v in self.attended.data or [] if optional_id(v)],
            passed=[optional_id(v) for v in self.passed.data or [] if optional_id(v)],
        )


def _year() -> int | None:
    """The ?year= of the list: a year, None for every year ("all"), this year by default."""
    text = request.args.get("year", "").strip()
    if text == "all":
        return None
    if text.isdigit() and len(text) == 4 and sessions.EARLIEST.year <= int(text) <= 2100:
        return int(text)
    return local_today().year


@blueprint.get("/")
def index():
    """Training sessions of a year with attendees, and the year's coverage of workshops."""
    user = acting_user()
    year = _year()
    return render_template(
        "console/training/index.html",
        rows=listing.list_trainings(by=user, year=year),
        year=year,
        years=listing.years(by=user),
        summary=listing.year_summary(year or local_today().year, by=user),
    )


@blueprint.route("/new", methods=["GET", "POST"])
def create():
    """Record a training session (regulators only)."""
    user = acting_user()
    require_role(user, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    form = TrainingForm()
    template_name = "console/training/form.html"
    context = {"session": None, "latest": sessions.latest_date()}
    if not form.is_submitted():
        return render_template(template_name, form=form, **context)
    data = form.to_input()
    if not form.validate():  # a date that could not be read
        errors, _values = sessions.check_training(data)
        return refused(template_name, form, errors, **context)
    try:
        session = sessions.create_training(data, by=user)
    except ValidationError as exc:
        return refused(template_name, form, exc.errors, **context)
    flash(_l("已登记培训“%(title)s”。", title=session.title), "success")
    return redirect(url_for(".detail", training_id=session.id))


@blueprint.get("/<int:training_id>")
def detail(training_id: int):
    """A session: its topics and who of which workshop attended and passed."""
    return render_template(
        "console/training/detail.html",
        detail=listing.training_detail(training_id, by=acting_user()),
        today=local_today(),
    )


@blueprint.route("/<int:training_id>/edit", methods=["GET", "POST"])
def edit(training_id: int):
    """Correct a session's details (regulators only)."""
    user = acting_user()
    require_role(user, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    session = sessions.get_training(training_id, by=user)
    form = TrainingForm()
    template_name = "console/training/form.html"
    context = {"session": session, "latest": sessions.latest_date()}
    if not form.is_submitted():
        form.fill_from(session)
        return render_template(template_name, form=form, **context)
    data = form.to_input()
    if not form.validate():
        errors, _values = sessions.check_training(data)
        return refused(template_name, form, errors, **context)
    try:
        sessions.update_training(session.id, data, by=user)
    except ValidationError as exc:
        return refused(template_name, form, exc.errors, **context)
    flash(_l("已保存修改。"), "success")
    return redirect(url_for(".detail", training_id=session.id))


@blueprint.route("/<int:training_id>/attendance", methods=["GET", "POST"])
def attendance(training_id: int):
    """Record a workshop's attendance: choose the workshop, tick its staff (regulators only)."""
    user = acting_user()
    require_role(user, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    session = sessions.get_training(training_id, by=user)
    form = AttendanceForm()
    template_name = "console/training/attendance.html"
    workshops = workshop_choices(by=user)
    if not form.is_submitted():
        workshop_id = optional_id(request.args.get("workshop_id"))
        sheet = None
        if workshop_id is not None:
            sheet = attendance_sheet(session.id, workshop_id, by=user)
            form.workshop_id.data = str(sheet.workshop.id)
            form.attended.data = [str(line.staff.id) for line in sheet.lines if line.attended]
            form.passed.data = [str(line.staff.id) for line in sheet.lines if line.passed]
        return render_template(
            template_name, form=form, session=session, sheet=sheet, workshops=workshops
        )
    data = form.to_input()
    try:
        record_attendance(session.id, data, by=user)
    except ValidationError as exc:
        db.session.rollback()
        apply_errors(form, exc.errors)
        flash(_l("提交的信息有误，请按提示修改，未保存任何内容。"), "error")
        sheet = None
        if "workshop_id" not in exc.errors and data.workshop_id is not None:
            sheet = attendance_sheet(session.id, data.workshop_id, by=user)
        page = render_template(
            template_name, form=form, session=session, sheet=sheet, workshops=workshops
        )
        return page, 422
    flash(_l("已保存出勤记录。"), "success")
    return redirect(url_for(".detail", training_id=session.id, _anchor=f"w{data.workshop_id}"))


@blueprint.get("/workshops/<int:workshop_id>")
def workshop(workshop_id: int):
    """A workshop's training history: sessions attended, and each person's totals."""
    return render_template(
        "console/training/workshop.html",
        history=history.workshop_history(workshop_id, by=acting_user()),
    )


@blueprint.get("/staff/<int:staff_id>")
def staff(staff_id: int):
    """A staff member's trainings, with sessions attended and hours."""
    return render_template(
        "console/training/staff.html",
        history=history.staff_history(staff_id, by=acting_user()),
    )
