"""Census and filing pages: the workshop list, filing and editing, status changes, staff and
health certificates, import and export of the directory, and invite codes for a workshop's
operators (shown once, on the page that answers the POST; only the hash is stored).

Inspectors see every page that reads; the services refuse them every change.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField

from backend.accounts import invites
from backend.accounts.models import MemberRole, Role
from backend.accounts.permissions import require_role
from backend.core.errors import DomainError, ValidationError
from backend.core.i18n import gettext as _
from backend.core.time import local_today
from backend.extensions import db
from backend.registry import directory, filing, imports, listing, staff
from backend.registry.checks import REGULATORS_ONLY, STAFF_ONLY
from backend.registry.listing import RegistryFilter
from backend.registry.standing import registration_standing
from portal.console.common import NavItem, acting_user, apply_errors, download, refused
from portal.console.forms import (
    HealthCertificateForm,
    ImportConfirmForm,
    ImportForm,
    StaffForm,
    StatusForm,
    WorkshopForm,
)

blueprint = Blueprint("registry", __name__, url_prefix="/registry")
navigation = [NavItem("console.registry.index", _l("作坊登记"), order=10)]
# Buttons on a workshop's page; each endpoint takes ``workshop_id``.
workshop_actions = [NavItem("console.registry.invite", _l("发放邀请码"), (Role.REGULATOR,))]


@blueprint.context_processor
def import_limits() -> dict:
    """The import's size and row limits, for the upload form's help text."""
    config = current_app.config
    return {
        "max_size": directory.size_text(config["REGISTRY_IMPORT_MAX_BYTES"]),
        "max_rows": config["REGISTRY_IMPORT_MAX_ROWS"],
    }


def _filters() -> RegistryFilter:
    """The list's filters from the query string."""
    args = request.args
    return RegistryFilter(
        township=args.get("township", "").strip(),
        zone=args.get("zone", "").strip(),
        status=args.get("status", "").strip(),
        product_type=args.get("product_type", "").strip(),
        q=args.get("q", "").strip(),
    )


def _page_number() -> int:
    """The ?page= number (1 when missing or not a number)."""
    text = request.args.get("page", "1")
    return int(text) if text.isdigit() and 0 < len(text) < 7 else 1


@blueprint.get("/")
def index():
    """The registry: every filed workshop, filtered by township, zone, status, product type."""
    user = acting_user()
    filters = _filters()
    page = listing.search_workshops(filters, by=user, page=_page_number())
    return render_template(
        "console/registry/index.html",
        page=page,
        filters=filters,
        filter_args={k: v for k, v in vars(filters).items() if v},
        choices=listing.choices(),
        today=local_today(),
        expiring_days=listing.EXPIRING_DAYS,
    )


@blueprint.get("/export.<any(csv, xlsx):fmt>")
def export(fmt: str):
    """The filtered registry as a CSV or XLSX file (formulas neutralised)."""
    data, filename = directory.export_directory(_filters(), fmt, by=acting_user())
    return download(data, filename, fmt)


@blueprint.get("/template.<any(csv, xlsx):fmt>")
def template(fmt: str):
    """An empty directory file with the columns an import expects."""
    require_role(
        acting_user(), Role.REGULATOR, Role.INSPECTOR, message=_(STAFF_ONLY), slug="staff_only"
    )
    maker = directory.to_xlsx if fmt == "xlsx" else directory.to_csv
    return download(maker([], template=True), f"workshops-template.{fmt}", fmt)


def _workshop_form(workshop=None) -> WorkshopForm:
    """The filing form with its choices (and the workshop's values on a first GET)."""
    form = WorkshopForm()
    form.set_choices(listing.choices())
    if workshop is not None and not form.is_submitted():
        form.fill_from(workshop)
    return form


@blueprint.route("/new", methods=["GET", "POST"])
def create():
    """File a new workshop (regulators only)."""
    user = acting_user()
    require_role(user, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    form = _workshop_form()
    template_name = "console/registry/workshop_form.html"
    if not form.is_submitted():
        return render_template(template_name, form=form, workshop=None)
    data = form.to_input()
    if not form.validate():
        return refused(template_name, form, filing.check_workshop(data), workshop=None)
    try:
        workshop = filing.file_workshop(data, by=user)
    except ValidationError as exc:
        return refused(template_name, form, exc.errors, workshop=None)
    flash(_l("已登记作坊 %(name)s。", name=workshop.name), "success")
    return redirect(url_for(".detail", workshop_id=workshop.id))


@blueprint.get("/<int:workshop_id>")
def detail(workshop_id: int):
    """A workshop: certificate, zone and brand, product types, status history, staff."""
    workshop = filing.get_workshop(workshop_id, by=acting_user())
    return render_template(
        "console/registry/detail.html",
        workshop=workshop,
        transitions=filing.available_transitions(workshop),
        today=local_today(),
        expiring_days=listing.EXPIRING_DAYS,
        standing=registration_standing(workshop),
    )


@blueprint.route("/<int:workshop_id>/edit", methods=["GET", "POST"])
def edit(workshop_id: int):
    """Correct or update a workshop's filing (regulators only)."""
    user = acting_user()
    require_role(user, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    workshop = filing.get_workshop(workshop_id, by=user)
    form = _workshop_form(workshop)
    template_name = "console/registry/workshop_form.html"
    if not form.is_submitted():
        return render_template(template_name, form=form, workshop=workshop)
    data = form.to_input()
    if not form.validate():
        errors = filing.check_workshop(data, workshop.id)
        return refused(template_name, form, errors, workshop=workshop)
    try:
        filing.update_workshop(workshop.id, data, by=user)
    except ValidationError as exc:
        return refused(template_name, form, exc.errors, workshop=workshop)
    flash(_l("已保存修改。"), "success")
    return redirect(url_for(".detail", workshop_id=workshop.id))


@blueprint.route("/<int:workshop_id>/status", methods=["GET", "POST"])
def status(workshop_id: int):
    """Suspend, reactivate, cancel or upgrade a workshop (regulators only)."""
    user = acting_user()
    require_role(user, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    workshop = filing.get_workshop(workshop_id, by=user)
    transitions = filing.available_transitions(workshop)
    form = StatusForm()
    form.action.choices = [SelectChoice(t.action, t.label) for t in transitions]
    if not form.action.data and transitions and not form.is_submitted():
        wanted = request.args.get("action", "")
        form.action.data = wanted if wanted in filing.TRANSITIONS else transitions[0].action
    template_name = "console/registry/status_form.html"
    context = {"workshop": workshop, "transitions": transitions}
    if not form.validate_on_submit():
        return render_template(template_name, form=form, **context)
    try:
        filing.change_status(
            workshop.id,
            form.action.data or "",
            by=user,
            reason=form.reason.data or "",
            licence_no=form.licence_no.data,
            trademark=form.trademark.data,
        )
    except ValidationError as exc:
        return refused(template_name, form, exc.errors, **context)
    flash(_l("状态已变更。"), "success")
    return redirect(url_for(".detail", workshop_id=workshop.id))


@blueprint.route("/<int:workshop_id>/staff/new", methods=["GET", "POST"])
def staff_new(workshop_id: int):
    """Add a person to the workshop's staff (regulators only)."""
    user = acting_user()
    require_role(user, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    workshop = filing.get_workshop(workshop_id, by=user)
    form = StaffForm()
    template_name = "console/registry/staff_form.html"
    if not form.validate_on_submit():
        return render_template(template_name, form=form, workshop=workshop, person=None)
    try:
        staff.add_staff(workshop.id, form.to_input(), by=user)
    except ValidationError as exc:
        return refused(template_name, form, exc.errors, workshop=workshop, person=None)
    flash(_l("已添加人员。"), "success")
    return redirect(url_for(".detail", workshop_id=workshop.id, _anchor="staff"))


@blueprint.route("/staff/<int:staff_id>/edit", methods=["GET", "POST"])
def staff_edit(staff_id: int):
    """Change a staff member's details or mark them as having left (regulators only)."""
    user = acting_user()
    require_role(user, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    person = staff.get_staff(staff_id, by=user)
    form = StaffForm(obj=person if request.method == "GET" else None)
    if request.method == "GET":
        form.role.data = person.role.value
    template_name = "console/registry/staff_form.html"
    context = {"workshop": person.workshop, "person": person}
    if not form.validate_on_submit():
        return render_template(template_name, form=form, **context)
    try:
        staff.update_staff(person.id, form.to_input(), by=user)
    except ValidationError as exc:
        return refused(template_name, form, exc.errors, **context)
    flash(_l("已保存修改。"), "success")
    return redirect(url_for(".detail", workshop_id=person.workshop_id, _anchor="staff"))


@blueprint.route("/staff/<int:staff_id>/certificates/new", methods=["GET", "POST"])
def certificate_new(staff_id: int):
    """Record a staff member's health certificate (regulators only)."""
    user = acting_user()
    require_role(user, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    person = staff.get_staff(staff_id, by=user)
    form = HealthCertificateForm()
    template_name = "console/registry/certificate_form.html"
    context = {"workshop": person.workshop, "person": person}
    if not form.is_submitted():
        return render_template(template_name, form=form, **context)
    if not form.validate():  # a date that could not be read
        return render_template(template_name, form=form, **context), 422
    try:
        staff.add_health_certificate(person.id, form.to_input(), by=user)
    except ValidationError as exc:
        return refused(template_name, form, exc.errors, **context)
    flash(_l("已登记健康证。"), "success")
    return redirect(url_for(".detail", workshop_id=person.workshop_id, _anchor="staff"))


@blueprint.route("/import", methods=["GET", "POST"])
def import_directory():
    """Import a directory file: checked row by row, written only when every row passes."""
    user = acting_user()
    require_role(user, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    form = ImportForm()
    template_name = "console/registry/import.html"
    if not form.validate_on_submit():
        return render_template(template_name, form=form, report=None)
    upload = form.file.data
    if upload is None or not getattr(upload, "filename", ""):
        form.file.errors = [str(_l("请选择要导入的 CSV 或 XLSX 文件。"))]
        return render_template(template_name, form=form, report=None), 422
    try:
        report = imports.import_directory(upload.stream, upload.filename, by=user)
    except ValidationError as exc:
        db.session.rollback()
        apply_errors(form, exc.errors)
        return render_template(template_name, form=form, report=None), 422
    return _report(form, report)


@blueprint.post("/import/confirm")
def import_confirm():
    """Import the rows of an earlier report that pass (the user chose to skip the rest)."""
    user = acting_user()
    confirm = ImportConfirmForm()
    try:
        report = imports.import_valid_rows(confirm.token.data or "", by=user)
    except ValidationError as exc:
        db.session.rollback()
        form = ImportForm()
        apply_errors(form, exc.errors)
        return render_template("console/registry/import.html", form=form, report=None), 422
    return _report(ImportForm(formdata=None), report)


def _report(form: ImportForm, report: imports.ImportReport):
    """Commit what was imported (if anything) and show the row-by-row report."""
    if report.imported:
        flash(_l("已导入 %(count)d 个作坊。", count=report.imported), "success")
    else:
        db.session.rollback()
    confirm = ImportConfirmForm(formdata=None, token=report.token)
    status = 422 if report.failed and not report.imported else 200
    return (
        render_template("console/registry/import.html", form=form, report=report, confirm=confirm),
        status,
    )


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
def invite(workshop_id: int):
    """Issue a one-time invite code for an operator of the workshop (regulators only)."""
    user = acting_user()
    require_role(user, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
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
