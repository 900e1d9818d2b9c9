"""Sampling plans and the publication of results: the plan list, drawing up and editing a
plan, its targets and their progress, and publishing completed lab samples in the public
sampling announcement (抽检信息公示) with a preview of what the public will read.

Inspectors read every page; the service (backend/plans/services.py) refuses them every change.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)

from backend.accounts.models import Role
from backend.accounts.permissions import require_role
from backend.core.errors import Conflict, ValidationError
from backend.core.i18n import gettext as _
from backend.core.time import local_today
from backend.extensions import db
from backend.plans import checks, planning, progress, publishing
from backend.samples.announcements import DISCLAIMER, TASK_SOURCE_NAMES
from backend.samples.models import TaskSource
from portal.console.common import NavItem, acting_user, refused

blueprint = Blueprint("plans", __name__, url_prefix="/plans")
navigation = [NavItem("console.plans.index", _l("抽检计划与公示"), order=40)]


# --- forms ------------------------------------------------------------------------------


class WholeNumberField(IntegerField):
    """A whole number typed as digits (nothing typed: None), with a Chinese message."""

    def process_formdata(self, valuelist):
        """Read the number; a clear message when it is not a whole number."""
        text = (valuelist[0] if valuelist else "") or ""
        text = text.strip()
        if not text:
            self.data = None
            return
        body = text[1:] if text[0] in "+-" else text
        if not body.isdigit() or len(body) > 12:
            self.data = None
            raise ValueError(str(_l("请填写整数，如 3。")))
        self.data = int(text)


def _choice_id(value) -> int | None:
    """A select's id: None when empty, -1 (matches nothing) when not a number."""
    value = (value or "").strip() if isinstance(value, str) else value
    if value in (None, ""):
        return None
    text = str(value)
    return int(text) if text.isdigit() and len(text) <= 12 else -1


class PlanForm(FlaskForm):
    """A sampling plan: its year and quarter, name, task source, testing agency, notes."""

    name = StringField(_l("计划名称"))
    year = WholeNumberField(_l("年度"))
    quarter = SelectField(_l("期间"), validate_choice=False)
    task_source = SelectField(_l("任务来源"), validate_choice=False)
    testing_agency = StringField(_l("检验机构"))
    notes = TextAreaField(_l("备注"))

    def set_choices(self) -> None:
        """Offer the whole year or a quarter, and the task sources."""
        self.quarter.choices = [
            SelectChoice("" if q is None else str(q), _l(label))
            for q, label in checks.QUARTER_LABELS.items()
        ]
        self.task_source.choices = [SelectChoice("", _l("— 请选择 —"))] + [
            SelectChoice(source.value, _l(TASK_SOURCE_NAMES[source]))
            for source in checks.PLAN_SOURCES
        ]

    def fill_from(self, plan) -> None:
        """Put a plan's values into the form (for editing)."""
        for name in ("name", "year", "testing_agency", "notes"):
            getattr(self, name).data = getattr(plan, name)
        self.quarter.data = "" if plan.quarter is None else str(plan.quarter)
        self.task_source.data = plan.task_source.value

    def to_input(self) -> checks.PlanInput:
        """What was typed, for the plans service."""
        return checks.PlanInput(
            year=self.year.data,
            quarter=_choice_id(self.quarter.data),
            name=self.name.data or "",
            task_source=self.task_source.data or "",
            testing_agency=self.testing_agency.data or "",
            notes=self.notes.data or "",
        )


class TargetForm(FlaskForm):
    """A workshop (and optionally one of its products) to sample, and how many samples."""

    workshop_id = SelectField(_l("作坊"), validate_choice=False)
    product_id = SelectField(_l("产品"), validate_choice=False)
    planned_samples = WholeNumberField(_l("计划抽样数"), default=1)

    def set_choices(self, choices: planning.TargetChoices) -> None:
        """Offer the workshops on file and their products."""
        self.workshop_id.choices = [SelectChoice("", _l("— 请选择 —"))] + [
            SelectChoice(str(w.id), f"{w.name}（{w.registration_no}）") for w in choices.workshops
        ]
        self.product_id.choices = [SelectChoice("", _l("整坊抽检（不限产品）"))] + [
            SelectChoice(str(p.id), f"{p.workshop.name} · {p.name} {p.specification}".strip())
            for p in choices.products
        ]

    def to_input(self) -> checks.TargetInput:
        """What was chosen, for the plans service."""
        return checks.TargetInput(
            workshop_id=_choice_id(self.workshop_id.data),
            product_id=_choice_id(self.product_id.data),
            planned_samples=self.planned_samples.data,
        )


class PublishForm(FlaskForm):
    """The samples chosen for publication."""

    sample_ids = SelectMultipleField(_l("公示的样品"), validate_choice=False)


@blueprint.context_processor
def labels() -> dict:
    """Names of task sources and quarters, for the templates."""
    return {
        "source_labels": TASK_SOURCE_NAMES,
        "quarter_labels": checks.QUARTER_LABELS,
        "max_planned": checks.MAX_PLANNED,
    }


def _arg_int(name: str, low: int, high: int) -> int | None:
    """The ?name= number when it is one within [low, high], else None."""
    text = request.args.get(name, "").strip()
    if not text.isdigit() or len(text) > 10:
        return None
    value = int(text)
    return value if low <= value <= high else None


def _arg_source() -> TaskSource | None:
    """The ?task_source= filter when it names a task source, else None."""
    text = request.args.get("task_source", "").strip()
    return TaskSource(text) if text in {s.value for s in TaskSource} else None


# --- plans ------------------------------------------------------------------------------


@blueprint.get("/")
def index():
    """Sampling plans, by year and task source, with their progress."""
    user = acting_user()
    year = _arg_int("year", checks.EARLIEST_YEAR, checks.latest_year())
    source = _arg_source()
    rows = progress.list_plans(by=user, year=year, task_source=source)
    return render_template(
        "console/plans/index.html",
        rows=rows,
        year=year,
        source=source,
        years=planning.plan_years(by=user),
        sources=list(TaskSource),
    )


def _plan_form(plan=None) -> PlanForm:
    """The plan form with its choices (and the plan's values, or this year, on a GET)."""
    form = PlanForm()
    form.set_choices()
    if not form.is_submitted():
        if plan is not None:
            form.fill_from(plan)
        else:
            form.year.data = local_today().year
    return form


@blueprint.route("/new", methods=["GET", "POST"])
def create():
    """Draw up a new sampling plan (regulators only)."""
    user = acting_user()
    require_role(user, Role.REGULATOR, message=_(checks.REGULATORS_ONLY), slug="regulator_only")
    form = _plan_form()
    template_name = "console/plans/plan_form.html"
    if not form.is_submitted():
        return render_template(template_name, form=form, plan=None)
    data = form.to_input()
    if not form.validate():  # a year that is not a number
        return refused(template_name, form, checks.check_plan(data), plan=None)
    try:
        plan = planning.create_plan(data, by=user)
    except ValidationError as exc:
        return refused(template_name, form, exc.errors, plan=None)
    flash(_l("已建立抽检计划“%(name)s”。", name=plan.name), "success")
    return redirect(url_for(".detail", plan_id=plan.id))


def _detail(plan, status: int = 200):
    """The plan's page: its facts, targets and progress."""
    user = acting_user()
    return (
        render_template(
            "console/plans/detail.html",
            plan=plan,
            progress=progress.plan_progress(plan, by=user),
        ),
        status,
    )


@blueprint.get("/<int:plan_id>")
def detail(plan_id: int):
    """A plan: period, source, agency, each target's progress and the plan's."""
    return _detail(planning.get_plan(plan_id, by=acting_user()))


@blueprint.route("/<int:plan_id>/edit", methods=["GET", "POST"])
def edit(plan_id: int):
    """Change a plan (regulators only)."""
    user = acting_user()
    require_role(user, Role.REGULATOR, message=_(checks.REGULATORS_ONLY), slug="regulator_only")
    plan = planning.get_plan(plan_id, by=user)
    form = _plan_form(plan)
    template_name = "console/plans/plan_form.html"
    if not form.is_submitted():
        return render_template(template_name, form=form, plan=plan)
    data = form.to_input()
    if not form.validate():
        return refused(template_name, form, checks.check_plan(data, plan), plan=plan)
    try:
        planning.update_plan(plan.id, data, by=user)
    except ValidationError as exc:
        return refused(template_name, form, exc.errors, plan=plan)
    flash(_l("已保存修改。"), "success")
    return redirect(url_for(".detail", plan_id=plan.id))


# --- targets ----------------------------------------------------------------------------


@blueprint.route("/<int:plan_id>/targets/new", methods=["GET", "POST"])
def target_new(plan_id: int):
    """Add a workshop, or one of its products, to a plan (regulators only)."""
    user = acting_user()
    require_role(user, Role.REGULATOR, message=_(checks.REGULATORS_ONLY), slug="regulator_only")
    plan = planning.get_plan(plan_id, by=user)
    form = TargetForm()
    form.set_choices(planning.target_choices(by=user))
    template_name = "console/plans/target_form.html"
    if not form.is_submitted():
        return render_template(template_name, form=form, plan=plan)
    data = form.to_input()
    if not form.validate():  # a planned number that is not a whole number
        return refused(template_name, form, checks.check_target(plan, data), plan=plan)
    try:
        planning.add_target(plan.id, data, by=user)
    except ValidationError as exc:
        return refused(template_name, form, exc.errors, plan=plan)
    flash(_l("已添加抽检对象。"), "success")
    return redirect(url_for(".detail", plan_id=plan.id, _anchor="targets"))


@blueprint.post("/targets/<int:target_id>/remove")
def target_remove(target_id: int):
    """Take a target off its plan (regulators only), unless samples were taken for it."""
    user = acting_user()
    require_role(user, Role.REGULATOR, message=_(checks.REGULATORS_ONLY), slug="regulator_only")
    target = planning.get_target(target_id, by=user)
    plan_id = target.plan_id
    try:
        planning.remove_target(target.id, by=user)
    except Conflict as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _detail(planning.get_plan(plan_id, by=user), exc.status_code)
    flash(_l("已移除抽检对象。"), "success")
    return redirect(url_for(".detail", plan_id=plan_id, _anchor="targets"))


# --- publication ------------------------------------------------------------------------


def _publication_filter() -> publishing.PublicationFilter:
    """The candidates' filters from the query string (odd values do not narrow)."""
    return publishing.PublicationFilter(
        plan_id=_arg_int("plan", 1, checks.MAX_ID),
        year=_arg_int("year", checks.EARLIEST_YEAR, checks.latest_year()),
    )


@blueprint.route("/publication", methods=["GET", "POST"])
def publication():
    """Completed lab samples awaiting publication, and the announcement they would make;
    regulators publish the ones they choose."""
    user = acting_user()
    if request.method == "POST":
        require_role(user, Role.REGULATOR, message=_(checks.REGULATORS_ONLY), slug="regulator_only")
    filters = _publication_filter()
    form = PublishForm()
    context = {
        "filters": filters,
        "filter_args": {
            k: v for k, v in (("plan", filters.plan_id), ("year", filters.year)) if v is not None
        },
        "plan_rows": progress.list_plans(by=user),
        "years": planning.plan_years(by=user),
        "disclaimer": DISCLAIMER,
    }
    template_name = "console/plans/publication.html"
    if not form.is_submitted():
        found = publishing.candidates(filters, by=user)
        return render_template(template_name, form=form, candidates=found, **context)
    try:
        done = publishing.publish(form.sample_ids.data or [], by=user)
    except ValidationError as exc:
        db.session.rollback()
        found = publishing.candidates(filters, by=user)
        return refused(template_name, form, exc.errors, candidates=found, **context)
    flash(_l("已公示 %(count)d 个样品的抽检结果。", count=len(done)), "success")
    return redirect(url_for(".published"))


@blueprint.get("/publication/published")
def published():
    """The sampling announcement as the public reads it, with its disclaimer."""
    user = acting_user()
    year = _arg_int("year", checks.EARLIEST_YEAR, checks.latest_year())
    return render_template(
        "console/plans/published.html",
        announcement=publishing.published(year, by=user),
        year=year,
        years=planning.plan_years(by=user),
    )
