"""Samples and test results: the list with its filters and export, recording a sample and
its results, test report PDFs, and the batch's hold, release and recall.

Regulators and inspectors record samples and results; verdicts come from the standards
table (:mod:`backend.samples.results`), never from the form. Holding, releasing and
recalling a batch are the regulator's. A workshop's own self-checks are read here but
written only by its operators, from their phones. The forms, and reading them, are in
:mod:`portal.console.samples.forms`.
"""

from __future__ import annotations

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
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from backend.accounts.permissions import require_role
from backend.batches.models import STATE_NAMES_ZH, BatchState
from backend.core.errors import DomainError, Forbidden
from backend.core.fields import decimal_text
from backend.core.i18n import gettext as _
from backend.core.time import utcnow
from backend.errors import handle_http_exception
from backend.extensions import db
from backend.files import storage
from backend.rules.standards import items_for
from backend.samples import listing
from backend.samples.announcements import TASK_SOURCE_NAMES, reading_text, standard_text
from backend.samples.holds import (
    batch_quality,
    hold_batch,
    recall_batch,
    release_batch,
    sampled_batch,
)
from backend.samples.lookup import get_sample, live_results
from backend.samples.models import Sample, TestKind
from backend.samples.recording import record_sample, require_recorder, sampling_choices
from backend.samples.reports import REPORT_MAX_BYTES, attach_report, report_of
from backend.samples.results import record_results
from portal.console.common import NavItem, acting_user, download, refused
from portal.console.samples.forms import (
    ROW_KEY,
    BatchActionForm,
    ReportForm,
    ResultsForm,
    SampleForm,
    apply_result_errors,
    blank_results,
    chosen_id,
    read_sample,
    refusal,
    row_problems,
    sent_rows,
)

blueprint = Blueprint("samples", __name__, url_prefix="/samples")
navigation = [NavItem("console.samples.index", _l("抽检与检测"), order=30)]
workshop_actions = [NavItem("console.samples.index", _l("抽检记录"), order=30)]
BATCH_ACTIONS = {
    "hold": (hold_batch, BatchState.HELD, _l("暂控批次"), _l("批次已暂控。")),
    "release": (release_batch, BatchState.RELEASED, _l("解除暂控"), _l("已解除暂控。")),
    "recall": (recall_batch, BatchState.RECALLED, _l("召回批次"), _l("批次已召回。")),
}


# -- the list and its export -----------------------------------------------------------------


def _filters() -> listing.SampleFilter:
    """The list's filters from the query string."""
    args = request.args
    return listing.SampleFilter(
        **{name: args.get(name, "").strip() for name in listing.SampleFilter.__dataclass_fields__}
    )


def _page_number() -> int:
    """The ?page= number (1 when missing or not a number)."""
    text = request.args.get("page", "1")
    return int(text) if text.isascii() and text.isdigit() and 0 < len(text) < 7 else 1


@blueprint.get("/")
def index():
    """Samples and results, filtered by workshop, kind, task source, verdict, status, dates,
    or those awaiting lab confirmation."""
    user = acting_user()
    filters = _filters()
    read = listing.read_filter(filters)
    page = listing.search_samples(read, by=user, page=_page_number())
    return render_template(
        "console/samples/index.html",
        page=page,
        filters=filters,
        ignored=read.ignored,
        filter_args={k: v for k, v in vars(filters).items() if v},
        workshops=listing.workshops(),
        **_names(),
    )


@blueprint.get("/export.<any(csv, xlsx):fmt>")
def export(fmt: str):
    """The results of the filtered samples, one row per result that counts (CSV or XLSX)."""
    data, filename = listing.export_results(listing.read_filter(_filters()), fmt, by=acting_user())
    return download(data, filename, fmt)


def _names() -> dict:
    """Names of kinds, task sources, statuses, verdicts and batch states, for templates."""
    return {
        "kind_names": listing.KIND_NAMES,
        "source_names": TASK_SOURCE_NAMES,
        "sample_status_names": listing.STATUS_NAMES,
        "verdict_names": listing.VERDICT_NAMES,
        "state_names": STATE_NAMES_ZH,
        "summary": listing.summary,
        "unverified": listing.has_unverified_limit,
        "standard_text": standard_text,
        "reading_text": reading_text,
        "number": decimal_text,
    }


# -- recording a sample ----------------------------------------------------------------------


@blueprint.route("/new", methods=["GET", "POST"])
def create():
    """Record a sample of a batch (or of a product when the batch is not known)."""
    user = acting_user()
    form = SampleForm()
    picked = form.workshop_id.data if form.is_submitted() else request.args.get("workshop_id")
    choices = sampling_choices(chosen_id(picked), by=user)
    form.offer(choices)
    workshop = choices.workshop
    template = "console/samples/sample_form.html"
    context = {"batches": choices.batches, "workshop": workshop}
    if not form.is_submitted():
        form.workshop_id.data = str(workshop.id) if workshop else ""
        form.sampled_at.data = utcnow()
        form.kind.data = request.args.get("kind", TestKind.RAPID.value)
        return render_template(template, form=form, **context)
    form.validate()  # reads the time; the rules are the service's
    args, errors = read_sample(form)
    if errors:
        return refused(template, form, errors, **context)
    try:
        sample = record_sample(by=user, **args)
    except Forbidden:
        raise
    except DomainError as exc:
        return refused(template, form, refusal(exc), **context)
    flash(_l("已登记样品 %(no)s。", no=sample.sample_no), "success")
    return redirect(url_for(".detail", sample_no=sample.sample_no))


# -- a sample, its results and its report ----------------------------------------------------


def _report_limit() -> int:
    """The largest report the service takes, in bytes."""
    return current_app.config.get("UPLOAD_MAX_BYTES", REPORT_MAX_BYTES)


def _may_record(sample: Sample) -> bool:
    """Whether the console user may write results and reports on *sample*."""
    try:
        require_recorder(acting_user(), sample)
    except Forbidden:
        return False
    return True


def _detail(sample: Sample, *, results_form=None, report_form=None, status: int = 200):
    """Render a sample's page (with the forms given, e.g. holding errors)."""
    limits = items_for(sample.product.category_code)
    batch = sample.batch
    quality = batch_quality(batch) if batch is not None else None
    links = listing.confirmation_links(sample)
    live = {r.item_code: r for r in live_results(sample)}
    actions = []
    if batch is not None and current_user.role.value == "regulator":
        for action, (_service, to_state, label, _done) in BATCH_ACTIONS.items():
            allowed = (
                batch.state is BatchState.HELD
                if action == "release"
                else batch.can_move_to(to_state)
            )
            if allowed:
                actions.append((action, label))
    html = render_template(
        "console/samples/detail.html",
        sample=sample,
        batch=batch,
        quality=quality,
        links=links,
        limits={limit.item_code: limit for limit in limits},
        live=live,
        superseded={r.supersedes_id for r in sample.results if r.supersedes_id},
        may_record=_may_record(sample),
        results_form=results_form or blank_results(limits),
        report_form=report_form or ReportForm(formdata=None),
        actions=actions,
        report_max_mb=max(1, _report_limit() // 2**20),
        **_names(),
    )
    return html, status


@blueprint.get("/<sample_no>")
def detail(sample_no: str):
    """A sample: where it was taken, its results against the standards table, its report,
    the batch's state and the lab-confirmation link."""
    user = acting_user()
    require_role(user, *listing.STAFF, message=_(listing.STAFF_ONLY), slug="staff_only")
    return _detail(get_sample(sample_no, by=user))


@blueprint.post("/<sample_no>/results")
def results(sample_no: str):
    """Record results of one or several items; verdicts come from the standards table."""
    user = acting_user()
    sample = get_sample(sample_no, by=user)
    require_recorder(user, sample)
    if any(k.startswith("rows-") and not ROW_KEY.match(k) for k in request.form):
        form = blank_results(items_for(sample.product.category_code))  # not a row this page sent
        form.form_errors.append(str(_l("表单内容不完整或格式不对，请刷新页面后重新填写。")))
        return _detail(sample, results_form=form, status=422)
    form = ResultsForm()
    if row_problems(form):
        db.session.rollback()
        flash(_l("提交的信息有误，请按提示修改，未保存任何内容。"), "error")
        return _detail(sample, results_form=form, status=422)
    live = {r.item_code: r for r in live_results(sample)}
    sent = sent_rows(form, live)
    if not sent:
        form.form_errors.append(str(_l("请至少填写一个检测项目的检测方法和结果。")))
        flash(_l("提交的信息有误，请按提示修改，未保存任何内容。"), "error")
        return _detail(sample, results_form=form, status=422)
    try:
        recorded = record_results(
            sample, [item for _i, item in sent], by=user, complete=bool(form.complete.data)
        )
    except Forbidden:
        raise
    except DomainError as exc:
        db.session.rollback()
        sample = get_sample(sample_no, by=user)
        apply_result_errors(form, exc, sent)
        flash(_l("提交的信息有误，请按提示修改，未保存任何内容。"), "error")
        return _detail(sample, results_form=form, status=422)
    flash(_l("已登记 %(count)d 项检测结果。", count=len(recorded.results)), "success")
    if recorded.held:
        flash(_l("批次已暂控：%(reason)s", reason=recorded.batch.hold_reason), "error")
    if recorded.confirmation is not None:
        flash(_l("已生成实验室复检任务 %(no)s。", no=recorded.confirmation.sample_no), "info")
    if recorded.recall_recommended:
        flash(_l("实验室检验不合格，监管人员应决定召回该批次。"), "error")
    return redirect(url_for(".detail", sample_no=sample.sample_no, _anchor="results"))


@blueprint.post("/<sample_no>/report")
def report(sample_no: str):
    """Attach the test report (PDF only) to a sample; a newer report takes its place."""
    user = acting_user()
    sample = get_sample(sample_no, by=user)
    require_recorder(user, sample)
    form = ReportForm()
    upload = form.file.data
    if upload is None or not getattr(upload, "filename", ""):
        form.file.errors = [str(_l("请选择要上传的 PDF 检验报告。"))]
        return _detail(sample, report_form=form, status=422)
    try:
        attach_report(sample, upload.stream, upload.filename, by=user)
    except Forbidden:
        raise
    except DomainError as exc:
        db.session.rollback()
        form.file.errors = [exc.message]
        flash(_l("检验报告未上传。"), "error")
        return _detail(get_sample(sample_no, by=user), report_form=form, status=422)
    flash(_l("已上传检验报告。"), "success")
    return redirect(url_for(".detail", sample_no=sample.sample_no, _anchor="report"))


@blueprint.errorhandler(RequestEntityTooLarge)
def report_too_large(exc):
    """A report far over the limit is cut off before it is read: say so next to the field."""
    if request.endpoint != "console.samples.report" or not current_user.is_authenticated:
        return handle_http_exception(exc)
    user = acting_user()
    sample = get_sample((request.view_args or {}).get("sample_no", ""), by=user)
    form = ReportForm(formdata=None)
    form.file.errors = [
        str(_l("文件过大（上限 %(mb)s MB）。", mb=max(1, _report_limit() // 2**20)))
    ]
    return _detail(sample, report_form=form, status=422)


@blueprint.get("/<sample_no>/report")
def report_file(sample_no: str):
    """Download the sample's test report (logged-in regulators and inspectors)."""
    user = acting_user()
    require_role(user, *listing.STAFF, message=_(listing.STAFF_ONLY), slug="staff_only")
    stored = report_of(get_sample(sample_no, by=user))
    response = send_file(
        storage.open_file(stored),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=stored.filename,
        etag=stored.sha256,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


# -- the batch: hold, release, recall --------------------------------------------------------


@blueprint.route("/<sample_no>/batch/<any(hold, release, recall):action>", methods=["GET", "POST"])
def batch_action(sample_no: str, action: str):
    """Hold, release or recall the sampled batch, with a reason (regulators only)."""
    user = acting_user()
    sample = sampled_batch(sample_no, by=user)
    service, _to_state, title, done = BATCH_ACTIONS[action]
    form = BatchActionForm()
    template = "console/samples/batch_action.html"
    context = {
        "sample": sample,
        "batch": sample.batch,
        "action": action,
        "title": title,
        "quality": batch_quality(sample.batch),
        "state_names": STATE_NAMES_ZH,
    }
    if not form.is_submitted():
        return render_template(template, form=form, **context)
    try:
        service(sample.batch, form.reason.data or "", user)
    except Forbidden:
        raise
    except DomainError as exc:
        if exc.status_code == 409:
            db.session.rollback()
            form.form_errors.append(exc.message)
            return render_template(template, form=form, **context), 409
        return refused(template, form, refusal(exc), **context)
    flash(done, "success")
    return redirect(url_for(".detail", sample_no=sample.sample_no))
