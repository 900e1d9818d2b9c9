"""Inspections and rectification (检查与整改): the list, a new inspection, the checklist with
photos, hazards, the conclusion, rectifications, their review and closing, the tracking of
open hazards (overdue first) and the export of the list.

Inspectors see every page that reads; the service refuses them every change (403).
"""

from __future__ import annotations

from datetime import timedelta

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import RadioField, SelectChoice, SelectField, TextAreaField

from backend.accounts.models import Role
from backend.accounts.permissions import require_role
from backend.core.errors import ValidationError
from backend.core.i18n import gettext as _
from backend.core.time import local_today
from backend.files.storage import open_file
from backend.files.uploads import IMAGES
from backend.inspections.checklist import (
    ITEM_GUIDANCE,
    ITEM_LABELS,
    RESULT_LABELS,
    ItemInput,
    record_items,
)
from backend.inspections.checks import REGULATORS_ONLY, require_in_progress
from backend.inspections.conduct import (
    IN_PROGRESS,
    IN_PROGRESS_LABEL,
    OUTCOME_LABELS,
    ConcludeInput,
    StartInput,
    start_inspection,
)
from backend.inspections.conduct import conclude as conclude_inspection
from backend.inspections.hazards import (
    DEFAULT_DEADLINE_DAYS,
    HAZARD_STATUS_LABELS,
    HazardInput,
    add_hazard,
    deadline_range,
    remove_hazard,
)
from backend.inspections.listing import (
    HazardFilter,
    InspectionFilter,
    export_inspections,
    open_workshops,
    overdue_count,
    search_inspections,
    tracked_hazards,
)
from backend.inspections.lookup import get_hazard, get_inspection, get_rectification, people_of
from backend.inspections.models import ChecklistItem, InspectionOutcome, ItemResult
from backend.inspections.photos import Upload, get_photo
from backend.inspections.rectifications import (
    RectificationInput,
    ReviewInput,
    close_hazard,
    review_rectification,
    submit_rectification,
)
from backend.registry import townships
from portal.console.common import LocalDateField, NavItem, acting_user, download, refused
from portal.console.forms import optional_id

blueprint = Blueprint("inspections", __name__, url_prefix="/inspections")
navigation = [NavItem("console.inspections.index", _l("检查与整改"), order=20)]
workshop_actions = [NavItem("console.inspections.new", _l("新建检查"), (Role.REGULATOR,), order=20)]

PHOTO_INPUT = {"accept": "image/jpeg,image/png,image/webp"}  # a tablet offers its camera

# --- forms ----------------------------------------------------------------------------------


class StartForm(FlaskForm):
    """Which workshop is inspected, and when."""

    workshop_id = SelectField(_l("被检查作坊"), validate_choice=False)
    inspected_on = LocalDateField(_l("检查日期"))


class ChecklistForm(FlaskForm):
    """The seven checklist items: result, note and photo each (fields added below)."""

    def item_fields(self, item: ChecklistItem):
        """The result, note and photo fields of *item*."""
        return (
            self[f"result_{item.value}"],
            self[f"note_{item.value}"],
            self[f"photo_{item.value}"],
        )

    def findings(self) -> dict[ChecklistItem, ItemInput]:
        """What was entered, for the service."""
        out = {}
        for item in ChecklistItem:
            result, note, photo = self.item_fields(item)
            upload = photo.data
            out[item] = ItemInput(
                result=result.data or None,
                note=note.data or "",
                photo=Upload(upload.stream, upload.filename or "") if upload else None,
            )
        return out


for _item in ChecklistItem:
    setattr(
        ChecklistForm,
        f"result_{_item.value}",
        RadioField(
            _l("检查结果"),
            choices=[SelectChoice(r.value, RESULT_LABELS[r]) for r in ItemResult],
            validate_choice=False,
        ),
    )
    setattr(ChecklistForm, f"note_{_item.value}", TextAreaField(_l("发现的问题 / 说明")))
    setattr(ChecklistForm, f"photo_{_item.value}", FileField(_l("现场照片"), render_kw=PHOTO_INPUT))
del _item


class HazardForm(FlaskForm):
    """A hazard: item, what is wrong, deadline."""

    item = SelectField(_l("所属检查项目"), validate_choice=False)
    description = TextAreaField(_l("隐患描述与整改要求"))
    deadline = LocalDateField(_l("整改期限"))


class ConcludeForm(FlaskForm):
    """The outcome and its summary."""

    outcome = RadioField(
        _l("检查结论"),
        choices=[SelectChoice(o.value, OUTCOME_LABELS[o]) for o in InspectionOutcome],
        validate_choice=False,
    )
    summary = TextAreaField(_l("检查情况说明"))


class RectificationForm(FlaskForm):
    """What the workshop did, with a photo."""

    description = TextAreaField(_l("整改情况"))
    photo = FileField(_l("整改后照片"), render_kw=PHOTO_INPUT)


class ReviewForm(FlaskForm):
    """Accept a rectification or send it back."""

    decision = RadioField(
        _l("复查结果"),
        choices=[
            SelectChoice("accept", _l("整改到位，通过复查")),
            SelectChoice("reject", _l("未整改到位，退回重新整改")),
        ],
        validate_choice=False,
    )
    note = TextAreaField(_l("复查意见"))


class ConfirmForm(FlaskForm):
    """A button that changes something: only its CSRF token."""


# --- helpers --------------------------------------------------------------------------------


@blueprint.url_value_preprocessor
def allow_seven_photos(endpoint, values) -> None:
    """The checklist form may carry one photo per item: raise this request's size limit
    before the console's CSRF check reads the form, so that each photo meets the per-file
    limit (with a message next to its field) rather than the whole form a 413."""
    if endpoint == "console.inspections.items" and request.method == "POST":
        config = current_app.config
        wanted = len(ChecklistItem) * config["UPLOAD_MAX_BYTES"] + 64 * 1024
        request.max_content_length = max(config.get("MAX_CONTENT_LENGTH") or 0, wanted)


@blueprint.context_processor
def labels() -> dict:
    """Names of items, results, outcomes and hazard states, and today, for the templates."""
    return {
        "item_labels": ITEM_LABELS,
        "item_guidance": ITEM_GUIDANCE,
        "result_labels": RESULT_LABELS,
        "outcome_labels": OUTCOME_LABELS,
        "in_progress_label": IN_PROGRESS_LABEL,
        "hazard_labels": HAZARD_STATUS_LABELS,
        "today": local_today(),
        "is_regulator": getattr(acting_user(), "role", None) is Role.REGULATOR,
    }


def _page_number() -> int:
    """The ?page= number (1 when missing or not a number)."""
    text = request.args.get("page", "1")
    return int(text) if text.isdigit() and 0 < len(text) < 7 else 1


def _filters() -> InspectionFilter:
    """The list's filters from the query string."""
    args = request.args
    return InspectionFilter(
        workshop=args.get("workshop", "").strip(),
        q=args.get("q", "").strip(),
        township=args.get("township", "").strip(),
        year=args.get("year", "").strip(),
        outcome=args.get("outcome", "").strip(),
        overdue="1" if args.get("overdue") == "1" else "",
    )


def _hazard_context(hazard) -> dict:
    """What a page about one hazard shows: the hazard, who acted on it, what may be done."""
    return {
        "hazard": hazard,
        "people": people_of(hazard.inspection),
        "steps": hazard.next_steps(),
    }


def _to_detail(inspection_id: int, anchor: str | None = None):
    """Redirect to an inspection's page."""
    return redirect(url_for(".detail", inspection_id=inspection_id, _anchor=anchor))


# --- reading --------------------------------------------------------------------------------


@blueprint.get("/")
def index():
    """Inspections, newest first, filtered by workshop, township, year, outcome, overdue."""
    user = acting_user()
    filters = _filters()
    page = search_inspections(filters, by=user, page=_page_number())
    year = local_today().year
    return render_template(
        "console/inspections/index.html",
        page=page,
        filters=filters,
        filter_args={k: v for k, v in vars(filters).items() if v},
        townships=townships.names(),
        years=list(range(year, year - 6, -1)),
        in_progress=IN_PROGRESS,
        overdue_total=overdue_count(by=user),
    )


@blueprint.get("/export.<any(csv, xlsx):fmt>")
def export(fmt: str):
    """The filtered inspections as a CSV or XLSX file (formulas neutralised)."""
    data, filename = export_inspections(_filters(), fmt, by=acting_user())
    return download(data, filename, fmt)


@blueprint.get("/hazards")
def hazards():
    """Rectification tracking (整改跟踪): open and rectifying hazards, overdue ones first."""
    user = acting_user()
    args = request.args
    filters = HazardFilter(
        township=args.get("township", "").strip(),
        status=args.get("status", "").strip(),
        overdue="1" if args.get("overdue") == "1" else "",
    )
    page = tracked_hazards(filters, by=user, page=_page_number())
    return render_template(
        "console/inspections/hazards.html",
        page=page,
        filters=filters,
        filter_args={k: v for k, v in vars(filters).items() if v},
        townships=townships.names(),
    )


@blueprint.get("/<int:inspection_id>")
def detail(inspection_id: int):
    """An inspection: its checklist with photos, its hazards and their rectifications."""
    inspection = get_inspection(inspection_id, by=acting_user())
    return render_template(
        "console/inspections/detail.html",
        inspection=inspection,
        items={row.item: row for row in inspection.items},
        checklist=list(ChecklistItem),
        people=people_of(inspection),
        confirm=ConfirmForm(),
    )


@blueprint.get("/photos/<int:file_id>")
def photo(file_id: int):
    """A photo of a checklist item or a rectification, served with its own content type."""
    stored = get_photo(file_id, by=acting_user())
    inline = stored.content_type in IMAGES
    response = send_file(
        open_file(stored),
        mimetype=stored.content_type if inline else "application/octet-stream",
        as_attachment=not inline,
        download_name=stored.filename,
        etag=stored.sha256,
        max_age=0,
    )
    if response.status_code == 200:
        response.content_length = stored.size
    return response


# --- the inspection -------------------------------------------------------------------------


@blueprint.route("/new", methods=["GET", "POST"])
def new():
    """Start an inspection of a workshop (regulators only); ?workshop_id= preselects it."""
    user = acting_user()
    require_role(user, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    form = StartForm()
    form.workshop_id.choices = [SelectChoice("", _l("— 请选择 —"))] + [
        SelectChoice(str(w.id), f"{w.registration_no} {w.name}") for w in open_workshops(by=user)
    ]
    template_name = "console/inspections/start_form.html"
    if not form.is_submitted():
        form.workshop_id.data = request.args.get("workshop_id", "")
        form.inspected_on.data = local_today()
        return render_template(template_name, form=form)
    form.validate()  # reads the date (a message when it could not be read)
    data = StartInput(
        workshop_id=optional_id(form.workshop_id.data), inspected_on=form.inspected_on.data
    )
    try:
        inspection = start_inspection(data, by=user)
    except ValidationError as exc:
        return refused(template_name, form, exc.errors)
    flash(_l("已开始检查，请逐项填写检查表。"), "success")
    return redirect(url_for(".items", inspection_id=inspection.id))


@blueprint.route("/<int:inspection_id>/items", methods=["GET", "POST"])
def items(inspection_id: int):
    """The checklist: a result, a note and a photo for each of the seven items."""
    user = acting_user()
    require_role(user, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    inspection = get_inspection(inspection_id, by=user)
    require_in_progress(inspection)
    form = ChecklistForm()
    recorded = {row.item: row for row in inspection.items}
    if not form.is_submitted():
        for item, row in recorded.items():
            result, note, _photo = form.item_fields(item)
            result.data, note.data = row.result.value, row.note
    context = {
        "inspection": inspection,
        "recorded": recorded,
        "checklist": list(ChecklistItem),
        "hazard_items": {h.item for h in inspection.hazards},
    }
    template_name = "console/inspections/items_form.html"
    if not form.is_submitted():
        return render_template(template_name, form=form, **context)
    try:
        record_items(inspection.id, form.findings(), by=user)
    except ValidationError as exc:
        return refused(template_name, form, exc.errors, **context)
    flash(_l("检查表已保存。"), "success")
    return _to_detail(inspection.id, "checklist")


@blueprint.route("/<int:inspection_id>/hazards/new", methods=["GET", "POST"])
def hazard_new(inspection_id: int):
    """List a hazard found in the inspection, with its rectification deadline."""
    user = acting_user()
    require_role(user, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    inspection = get_inspection(inspection_id, by=user)
    require_in_progress(inspection)
    form = HazardForm()
    failing = [
        row.item
        for row in sorted(inspection.items, key=lambda r: list(ChecklistItem).index(r.item))
        if row.result is ItemResult.NON_COMPLIANT
    ]
    form.item.choices = [SelectChoice("", _l("— 请选择 —"))] + [
        SelectChoice(item.value, ITEM_LABELS[item]) for item in failing
    ]
    low, high = deadline_range(inspection)
    context = {"inspection": inspection, "failing": failing, "low": low, "high": high}
    template_name = "console/inspections/hazard_form.html"
    if not form.is_submitted():
        wanted = request.args.get("item", "")
        form.item.data = wanted if wanted in {i.value for i in failing} else ""
        form.deadline.data = max(
            inspection.inspected_on + timedelta(days=DEFAULT_DEADLINE_DAYS),
            min(local_today() + timedelta(days=1), high),
        )
        return render_template(template_name, form=form, **context)
    form.validate()
    data = HazardInput(
        item=form.item.data or None,
        description=form.description.data or "",
        deadline=form.deadline.data,
    )
    try:
        add_hazard(inspection.id, data, by=user)
    except ValidationError as exc:
        return refused(template_name, form, exc.errors, **context)
    flash(_l("已登记隐患。"), "success")
    return _to_detail(inspection.id, "hazards")


@blueprint.post("/hazards/<int:hazard_id>/remove")
def hazard_remove(hazard_id: int):
    """Take back a hazard listed by mistake (only before the conclusion)."""
    user = acting_user()
    require_role(user, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    inspection = remove_hazard(hazard_id, by=user)
    flash(_l("已删除该隐患。"), "success")
    return _to_detail(inspection.id, "hazards")


@blueprint.route("/<int:inspection_id>/conclude", methods=["GET", "POST"])
def conclude(inspection_id: int):
    """Conclude the inspection; its findings then become read-only evidence."""
    user = acting_user()
    require_role(user, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    inspection = get_inspection(inspection_id, by=user)
    require_in_progress(inspection)
    form = ConcludeForm()
    if not form.is_submitted():
        failing = any(row.result is ItemResult.NON_COMPLIANT for row in inspection.items)
        if inspection.hazards:
            form.outcome.data = InspectionOutcome.RECTIFY.value
        elif not failing and len(inspection.items) == len(ChecklistItem):
            form.outcome.data = InspectionOutcome.SATISFACTORY.value
    context = {
        "inspection": inspection,
        "items": {row.item: row for row in inspection.items},
        "checklist": list(ChecklistItem),
    }
    template_name = "console/inspections/conclude_form.html"
    if not form.is_submitted():
        return render_template(template_name, form=form, **context)
    data = ConcludeInput(outcome=form.outcome.data or None, summary=form.summary.data or "")
    try:
        conclude_inspection(inspection.id, data, by=user)
    except ValidationError as exc:
        return refused(template_name, form, exc.errors, **context)
    flash(_l("检查已作出结论。"), "success")
    return _to_detail(inspection.id)


# --- rectification --------------------------------------------------------------------------


@blueprint.route("/hazards/<int:hazard_id>/rectify", methods=["GET", "POST"])
def rectify(hazard_id: int):
    """Record what the workshop did about a hazard, on its behalf."""
    user = acting_user()
    require_role(user, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    hazard = get_hazard(hazard_id, by=user)
    context = _hazard_context(hazard)
    form = RectificationForm()
    template_name = "console/inspections/rectification_form.html"
    if not form.is_submitted():
        return render_template(template_name, form=form, **context)
    upload = form.photo.data
    data = RectificationInput(
        description=form.description.data or "",
        photo=Upload(upload.stream, upload.filename or "") if upload else None,
    )
    try:
        submit_rectification(hazard.id, data, by=user)
    except ValidationError as exc:
        return refused(template_name, form, exc.errors, **context)
    flash(_l("已登记整改情况，待复查。"), "success")
    return _to_detail(hazard.inspection_id, f"hazard-{hazard.id}")


@blueprint.route("/rectifications/<int:rectification_id>/review", methods=["GET", "POST"])
def review(rectification_id: int):
    """Accept a rectification, or send it back with a note."""
    user = acting_user()
    require_role(user, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    rectification = get_rectification(rectification_id, by=user)
    hazard = rectification.hazard
    form = ReviewForm()
    template_name = "console/inspections/review_form.html"
    context = {"rectification": rectification, **_hazard_context(hazard)}
    if not form.is_submitted():
        return render_template(template_name, form=form, **context)
    data = ReviewInput(decision=form.decision.data or None, note=form.note.data or "")
    try:
        review_rectification(rectification.id, data, by=user)
    except ValidationError as exc:
        return refused(template_name, form, exc.errors, **context)
    if data.decision == "accept":
        flash(_l("整改已通过复查，可以销号。"), "success")
    else:
        flash(_l("整改已退回，隐患重新列为待整改。"), "success")
    return _to_detail(hazard.inspection_id, f"hazard-{hazard.id}")


@blueprint.route("/hazards/<int:hazard_id>/close", methods=["GET", "POST"])
def close(hazard_id: int):
    """Close (销号) a hazard whose rectification was accepted."""
    user = acting_user()
    require_role(user, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    hazard = get_hazard(hazard_id, by=user)
    context = _hazard_context(hazard)
    form = ConfirmForm()
    template_name = "console/inspections/close_form.html"
    if not form.is_submitted():
        return render_template(template_name, form=form, **context)
    try:
        close_hazard(hazard.id, by=user)
    except ValidationError as exc:
        return refused(template_name, form, exc.errors, **context)
    flash(_l("隐患已销号。"), "success")
    return _to_detail(hazard.inspection_id, f"hazard-{hazard.id}")
