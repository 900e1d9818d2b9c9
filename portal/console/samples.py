"""Samples and test results: the list with its filters and export, recording a sample and
its results, test report PDFs, and the batch's hold, release and recall.

Regulators and inspectors record samples and results; verdicts come from the standards
table (:mod:`backend.samples.services`), never from the form. Holding, releasing and
recalling a batch are the regulator's. A workshop's own self-checks are read here but
written only by its operators, from their phones.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

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
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)

from backend.batches.models import STATE_NAMES_ZH, Batch, BatchState
from backend.core.errors import DomainError, Forbidden, NotFound
from backend.core.fields import decimal_text
from backend.core.time import SHANGHAI, utcnow
from backend.errors import handle_http_exception
from backend.extensions import db
from backend.files import storage
from backend.plans.models import SamplingPlan
from backend.registry.models import Product, Workshop
from backend.rules import standards
from backend.rules.models import StandardLimit
from backend.samples import listing
from backend.samples import services as sampling
from backend.samples.models import Qualitative, Sample, TaskSource, TestKind
from portal.console.common import NavItem, acting_user, apply_errors, download, refused

blueprint = Blueprint("samples", __name__, url_prefix="/samples")
navigation = [NavItem("console.samples.index", _l("抽检与检测"), order=30)]
workshop_actions = [NavItem("console.samples.index", _l("抽检记录"), order=30)]

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
ROW_KEY = re.compile(r"^rows-\d{1,3}-[a-z_]{1,20}$")
QUALITATIVE = {q.value for q in Qualitative}
ROW_FIELDS = ("method", "value", "unit", "qualitative", "device_no")
BATCH_ACTIONS = {
    "hold": (sampling.hold_batch, BatchState.HELD, _l("暂控批次"), _l("批次已暂控。")),
    "release": (sampling.release_batch, BatchState.RELEASED, _l("解除暂控"), _l("已解除暂控。")),
    "recall": (sampling.recall_batch, BatchState.RECALLED, _l("召回批次"), _l("批次已召回。")),
}


# -- forms -----------------------------------------------------------------------------------


class LocalDateTimeField(DateTimeLocalField):
    """A time typed as 2024-01-31T08:30 (the HTML input's format), read as Asia/Shanghai."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format=[DATETIME_FORMAT, "%Y-%m-%d %H:%M"], **kwargs)

    def process_formdata(self, valuelist):
        """Read the time (nothing typed: None); a clear message when it is not one."""
        if not valuelist or not any(v.strip() for v in valuelist):
            self.data = None
            return
        try:
            super().process_formdata([v.strip() for v in valuelist])
        except ValueError:
            self.data = None
            raise ValueError(str(_l("不是有效的时间，请写成 2024-01-31 08:30。"))) from None
        self.data = self.data.replace(tzinfo=SHANGHAI)

    def _value(self):
        """The time shown in the input, in Asia/Shanghai."""
        if self.raw_data:
            return " ".join(self.raw_data)
        return self.data.astimezone(SHANGHAI).strftime(DATETIME_FORMAT) if self.data else ""


class DecimalTextField(StringField):
    """A measured value typed as text and read as an exact decimal (never a float)."""

    def process_formdata(self, valuelist):
        """Read the number (nothing typed: None); a clear message when it is not one."""
        text = (valuelist[0] if valuelist else "").strip().replace("，", ".")
        self.raw_text = text
        if not text:
            self.data = None
            return
        try:
            number = Decimal(text)
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            self.data = None
            raise ValueError(str(_l("检测值须为数字，例如 0.05。")))
        self.data = number

    def _value(self):
        """The value as typed, or as stored."""
        if self.raw_data:
            return self.raw_data[0]
        return format(self.data.normalize(), "f") if self.data is not None else ""


class SampleForm(FlaskForm):
    """A sample: where it comes from (workshop → product → batch), who ordered it, when."""

    workshop_id = SelectField(_l("作坊"), validate_choice=False)
    product_id = SelectField(_l("产品"), validate_choice=False)
    batch_no = StringField(_l("批次号"))
    kind = RadioField(
        _l("检测类型"),
        choices=[
            SelectChoice(TestKind.RAPID.value, _l("快检（快检车、快检室）")),
            SelectChoice(TestKind.LAB.value, _l("实验室检测")),
        ],
        validate_choice=False,
    )
    task_source = SelectField(_l("任务来源"), validate_choice=False)
    plan_id = SelectField(_l("抽检计划"), validate_choice=False)
    sample_no = StringField(_l("样品编号"))
    sampled_at = LocalDateTimeField(_l("抽样时间"))
    sampling_place = StringField(_l("抽样地点"))
    testing_agency = StringField(_l("检验机构"))
    station = StringField(_l("快检车或实验室"))


class ResultRowForm(Form):
    """One test item of the standards table: its method and reading."""

    item_code = HiddenField()
    method = StringField(_l("检测方法"))
    value = DecimalTextField(_l("检测值"))
    unit = StringField(_l("单位"))
    qualitative = SelectField(
        _l("定性结果"),
        choices=[
            SelectChoice("", "—"),
            SelectChoice(Qualitative.NEGATIVE.value, _l("阴性")),
            SelectChoice(Qualitative.POSITIVE.value, _l("阳性")),
        ],
        validate_choice=False,
    )
    device_no = StringField(_l("设备编号"))


class ResultsForm(FlaskForm):
    """The results of a sample, one row per test item; rows left empty are not sent."""

    rows = FieldList(FormField(ResultRowForm))
    tested_at = LocalDateTimeField(_l("检测时间"))
    action_taken = TextAreaField(_l("处置情况"))
    complete = BooleanField(_l("检测完成（样品结案）"), default=True)


class ReportForm(FlaskForm):
    """A test report PDF."""

    file = FileField(_l("检验报告（PDF）"))


class BatchActionForm(FlaskForm):
    """Why the regulator holds, releases or recalls a batch."""

    reason = TextAreaField(_l("理由"))


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


def _workshops() -> list[Workshop]:
    """Every filed workshop, by name (for the pickers)."""
    return list(db.session.scalars(select(Workshop).order_by(Workshop.name)).all())


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
        workshops=_workshops(),
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
        "source_names": sampling.TASK_SOURCE_NAMES,
        "sample_status_names": listing.STATUS_NAMES,
        "verdict_names": listing.VERDICT_NAMES,
        "state_names": STATE_NAMES_ZH,
        "summary": listing.summary,
        "unverified": listing.has_unverified_limit,
        "standard_text": sampling.standard_text,
        "reading_text": sampling.reading_text,
        "number": decimal_text,
    }


# -- recording a sample ----------------------------------------------------------------------


def _sample_choices(form: SampleForm, workshop_id: int | None) -> list[Batch]:
    """Offer workshops, their products (of the chosen workshop only, once one is chosen),
    task sources and this year's and last year's plans; return the workshop's batches."""
    form.workshop_id.choices = [SelectChoice("", _l("— 请选择 —"))] + [
        SelectChoice(str(w.id), f"{w.name}（{w.registration_no}）") for w in _workshops()
    ]
    products = select(Product).join(Workshop, Product.workshop_id == Workshop.id)
    if workshop_id is not None:
        products = products.where(Product.workshop_id == workshop_id)
    form.product_id.choices = [SelectChoice("", _l("— 请选择 —"))] + [
        SelectChoice(
            str(p.id),
            p.name if workshop_id else f"{p.workshop.name} · {p.name}",
        )
        for p in db.session.scalars(products.order_by(Workshop.name, Product.name)).all()
    ]
    form.task_source.choices = [SelectChoice("", _l("— 请选择 —"))] + [
        SelectChoice(source.value, _l(name))
        for source, name in sampling.TASK_SOURCE_NAMES.items()
        if source is not TaskSource.SELF_CHECK  # the workshop's own, from its phones
    ]
    year = utcnow().astimezone(SHANGHAI).year
    plans = db.session.scalars(
        select(SamplingPlan)
        .where(SamplingPlan.year.in_([year, year - 1]))
        .order_by(SamplingPlan.year.desc(), SamplingPlan.name)
    ).all()
    form.plan_id.choices = [SelectChoice("", _l("不属于抽检计划"))] + [
        SelectChoice(str(p.id), f"{p.year} {p.name}") for p in plans
    ]
    if workshop_id is None:
        return []
    return list(
        db.session.scalars(
            select(Batch)
            .where(Batch.workshop_id == workshop_id)
            .order_by(Batch.id.desc())
            .limit(30)
        ).all()
    )


def _chosen_id(text) -> int | None:
    """A picked id: None when empty, -1 (matches nothing) when not a usable number."""
    text = (text or "").strip()
    if not text:
        return None
    usable = text.isascii() and text.isdigit() and len(text) < 11 and 0 < int(text) < 2**31
    return int(text) if usable else -1


def _read_sample(form: SampleForm) -> tuple[dict, dict]:
    """The service's arguments from the form, and the fields that could not be read."""
    errors: dict[str, list] = {}
    if form.sampled_at.errors:  # a time that could not be read
        errors["sampled_at"] = list(form.sampled_at.errors)
    workshop_id = _chosen_id(form.workshop_id.data)
    workshop = db.session.get(Workshop, workshop_id) if workshop_id and workshop_id > 0 else None
    if workshop is None:
        errors["workshop_id"] = [
            str(_l("请选择作坊。") if workshop_id is None else _l("所选作坊不存在。"))
        ]
    product_id = _chosen_id(form.product_id.data)
    product = db.session.get(Product, product_id) if product_id and product_id > 0 else None
    if product is None:
        errors["product_id"] = [
            str(_l("请选择产品。") if product_id is None else _l("所选产品不存在。"))
        ]
    elif workshop is not None and product.workshop_id != workshop.id:
        errors["product_id"] = [str(_l("该产品不是所选作坊的产品。"))]
    batch = None
    batch_no = (form.batch_no.data or "").strip()
    if batch_no:
        try:
            batch = sampling.get_batch(batch_no)
        except NotFound as exc:
            errors["batch_no"] = [exc.message]
    kind = form.kind.data if form.kind.data in {k.value for k in TestKind} else None
    if kind is None:
        errors["kind"] = [str(_l("请选择检测类型（快检或实验室检测）。"))]
    source_text = (form.task_source.data or "").strip()
    source = None
    if source_text:
        try:
            source = TaskSource(source_text)
        except ValueError:
            errors["task_source"] = [str(_l("所选任务来源无效。"))]
    plan = None
    plan_id = _chosen_id(form.plan_id.data)
    if plan_id is not None:
        plan = db.session.get(SamplingPlan, plan_id) if plan_id > 0 else None
        if plan is None:
            errors["plan_id"] = [str(_l("所选抽检计划不存在。"))]
    args = {
        "kind": TestKind(kind) if kind else None,
        "batch": batch,
        "product": product,
        "plan": plan,
        "task_source": source,
        "sample_no": (form.sample_no.data or "").strip() or None,
        "sampled_at": form.sampled_at.data,
        "sampling_place": form.sampling_place.data or "",
        "testing_agency": (form.testing_agency.data or "").strip() or None,
        "station": form.station.data or "",
    }
    return args, errors


def _messages(exc: DomainError) -> dict:
    """A service's refusal as field → [its Chinese message] (the form's top when no field)."""
    fields = [name for name in exc.errors if isinstance(name, str)] or ["_form"]
    return {name: [exc.message] for name in fields}


@blueprint.route("/new", methods=["GET", "POST"])
def create():
    """Record a sample of a batch (or of a product when the batch is not known)."""
    user = acting_user()
    sampling.require_sampler(user)
    form = SampleForm()
    picked = form.workshop_id.data if form.is_submitted() else request.args.get("workshop_id")
    chosen = _chosen_id(picked)
    workshop = db.session.get(Workshop, chosen) if chosen and chosen > 0 else None
    batches = _sample_choices(form, workshop.id if workshop else None)
    template = "console/samples/sample_form.html"
    context = {"batches": batches, "workshop": workshop}
    if not form.is_submitted():
        form.workshop_id.data = str(workshop.id) if workshop else ""
        form.sampled_at.data = utcnow()
        form.kind.data = request.args.get("kind", TestKind.RAPID.value)
        return render_template(template, form=form, **context)
    form.validate()  # reads the time; the rules are the service's
    args, errors = _read_sample(form)
    if errors:
        return refused(template, form, errors, **context)
    try:
        sample = sampling.record_sample(by=user, **args)
    except Forbidden:
        raise
    except DomainError as exc:
        return refused(template, form, _messages(exc), **context)
    flash(_l("已登记样品 %(no)s。", no=sample.sample_no), "success")
    return redirect(url_for(".detail", sample_no=sample.sample_no))


# -- a sample, its results and its report ----------------------------------------------------


def _limits(sample: Sample) -> list[StandardLimit]:
    """The standards table's rows for the sample's product, nearest category first, one per
    test item (in the standards file's order)."""
    chain = standards.category_chain(sample.product.category_code)
    rows = db.session.scalars(
        select(StandardLimit).where(StandardLimit.category_code.in_(chain))
    ).all()
    nearest: dict[str, StandardLimit] = {}
    for row in sorted(rows, key=lambda r: chain.index(r.category_code)):
        nearest.setdefault(row.item_code, row)
    return sorted(nearest.values(), key=lambda r: r.id)  # the data file's order


def _results_form(sample: Sample, limits: list[StandardLimit]) -> ResultsForm:
    """An empty results form with one row per test item (units from the standards table)."""
    form = ResultsForm(formdata=None)
    for limit in limits:
        form.rows.append_entry({"item_code": limit.item_code, "unit": limit.unit})
    form.tested_at.data = utcnow()
    return form


def _report_limit() -> int:
    """The largest report the service takes, in bytes."""
    return current_app.config.get("UPLOAD_MAX_BYTES", sampling.REPORT_MAX_BYTES)


def _may_record(sample: Sample) -> bool:
    """Whether the console user may write results and reports on *sample*."""
    try:
        sampling.require_recorder(acting_user(), sample)
    except Forbidden:
        return False
    return True


def _detail(sample: Sample, *, results_form=None, report_form=None, status: int = 200):
    """Render a sample's page (with the forms given, e.g. holding errors)."""
    limits = _limits(sample)
    batch = sample.batch
    quality = sampling.batch_quality(batch) if batch is not None else None
    links = listing.confirmation_links(sample)
    live = {r.item_code: r for r in sampling.live_results(sample)}
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
        results_form=results_form or _results_form(sample, limits),
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
    listing.require_viewer(user)
    return _detail(sampling.get_sample(sample_no, by=user))


def _sent_rows(form: ResultsForm, live: dict) -> list[tuple[int, object]]:
    """The rows with something typed in, as (row index, ResultInput)."""
    sent = []
    for index, entry in enumerate(form.rows.entries):
        row = entry.form
        typed = [row.method.data, row.value.raw_data and row.value.raw_data[0], row.device_no.data]
        if not any((t or "").strip() for t in typed) and not row.qualitative.data:
            continue
        code = (row.item_code.data or "").strip()
        quality = row.qualitative.data or None
        superseded = live.get(code)
        sent.append(
            (
                index,
                sampling.ResultInput(
                    item_code=code,
                    method=row.method.data or "",
                    value=row.value.data,
                    # the unit is filled in from the standards table; it goes with a number
                    unit=(row.unit.data or "") if row.value.data is not None else "",
                    qualitative=Qualitative(quality)
                    if quality in {"negative", "positive"}
                    else None,
                    tested_at=form.tested_at.data,
                    device_no=(row.device_no.data or "").strip(),
                    action_taken=form.action_taken.data or "",
                    supersedes_id=superseded.id if superseded is not None else None,
                ),
            )
        )
    return sent


def _row_problems(form: ResultsForm) -> bool:
    """Mark what the form itself could not read (numbers, choices); whether anything was."""
    bad = False
    form.validate()
    for entry in form.rows.entries:
        row = entry.form
        if row.qualitative.data and row.qualitative.data not in QUALITATIVE:
            row.qualitative.errors = [str(_l("定性结果只能是阴性或阳性。"))]
        if row.value.errors or row.qualitative.errors:
            bad = True
    return bad or bool(form.tested_at.errors)


def _apply_result_errors(form: ResultsForm, exc: DomainError, sent: list) -> None:
    """Put a service's refusal of a results post next to the row and field it concerns."""
    details = exc.errors.get("results") if isinstance(exc.errors, dict) else None
    if not isinstance(details, dict):
        fields = [name for name in exc.errors if name != "results"]
        if fields:
            apply_errors(form, {name: [exc.message] for name in fields})
        else:
            form.form_errors.append(exc.message)
        return
    for position, problems in details.items():
        index = sent[int(position)][0] if str(position).isdigit() else None
        if index is None or index >= len(form.rows.entries):
            form.form_errors.append(exc.message)
            continue
        row = form.rows.entries[index].form
        for name in problems or {"_item": []}:
            if name == "tested_at":
                form.tested_at.errors = [exc.message]
                continue
            target = getattr(row, name) if name in ROW_FIELDS else row.item_code
            target.errors = [exc.message]


@blueprint.post("/<sample_no>/results")
def results(sample_no: str):
    """Record results of one or several items; verdicts come from the standards table."""
    user = acting_user()
    sample = sampling.get_sample(sample_no, by=user)
    sampling.require_recorder(user, sample)
    if any(k.startswith("rows-") and not ROW_KEY.match(k) for k in request.form):
        form = _results_form(sample, _limits(sample))  # not a row this page sent
        form.form_errors.append(str(_l("表单内容不完整或格式不对，请刷新页面后重新填写。")))
        return _detail(sample, results_form=form, status=422)
    form = ResultsForm()
    if _row_problems(form):
        db.session.rollback()
        flash(_l("提交的信息有误，请按提示修改，未保存任何内容。"), "error")
        return _detail(sample, results_form=form, status=422)
    live = {r.item_code: r for r in sampling.live_results(sample)}
    sent = _sent_rows(form, live)
    if not sent:
        form.form_errors.append(str(_l("请至少填写一个检测项目的检测方法和结果。")))
        flash(_l("提交的信息有误，请按提示修改，未保存任何内容。"), "error")
        return _detail(sample, results_form=form, status=422)
    try:
        recorded = sampling.record_results(
            sample, [item for _i, item in sent], by=user, complete=bool(form.complete.data)
        )
    except Forbidden:
        raise
    except DomainError as exc:
        db.session.rollback()
        sample = sampling.get_sample(sample_no, by=user)
        _apply_result_errors(form, exc, sent)
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
    sample = sampling.get_sample(sample_no, by=user)
    sampling.require_recorder(user, sample)
    form = ReportForm()
    upload = form.file.data
    if upload is None or not getattr(upload, "filename", ""):
        form.file.errors = [str(_l("请选择要上传的 PDF 检验报告。"))]
        return _detail(sample, report_form=form, status=422)
    try:
        sampling.attach_report(sample, upload.stream, upload.filename, by=user)
    except Forbidden:
        raise
    except DomainError as exc:
        db.session.rollback()
        form.file.errors = [exc.message]
        flash(_l("检验报告未上传。"), "error")
        return _detail(sampling.get_sample(sample_no, by=user), report_form=form, status=422)
    flash(_l("已上传检验报告。"), "success")
    return redirect(url_for(".detail", sample_no=sample.sample_no, _anchor="report"))


@blueprint.errorhandler(RequestEntityTooLarge)
def report_too_large(exc):
    """A report far over the limit is cut off before it is read: say so next to the field."""
    if request.endpoint != "console.samples.report" or not current_user.is_authenticated:
        return handle_http_exception(exc)
    user = acting_user()
    sample = sampling.get_sample((request.view_args or {}).get("sample_no", ""), by=user)
    form = ReportForm(formdata=None)
    form.file.errors = [
        str(_l("文件过大（上限 %(mb)s MB）。", mb=max(1, _report_limit() // 2**20)))
    ]
    return _detail(sample, report_form=form, status=422)


@blueprint.get("/<sample_no>/report")
def report_file(sample_no: str):
    """Download the sample's test report (logged-in regulators and inspectors)."""
    user = acting_user()
    listing.require_viewer(user)
    stored = sampling.report_of(sampling.get_sample(sample_no, by=user))
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
    sampling.require_regulator(user)
    sample = sampling.get_sample(sample_no, by=user)
    if sample.batch is None:
        raise NotFound(str(_l("该样品未关联批次。")), slug="batch_not_found")
    service, _to_state, title, done = BATCH_ACTIONS[action]
    form = BatchActionForm()
    template = "console/samples/batch_action.html"
    context = {
        "sample": sample,
        "batch": sample.batch,
        "action": action,
        "title": title,
        "quality": sampling.batch_quality(sample.batch),
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
        return refused(template, form, _messages(exc), **context)
    flash(done, "success")
    return redirect(url_for(".detail", sample_no=sample.sample_no))
