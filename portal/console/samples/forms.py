"""The forms of the samples pages, and reading them: a sample, its results (one row per
test item of the standards table), a test report and a reason for a batch action.

Forms only read what was typed (times, numbers, choices); the rules are the services'
(:mod:`backend.samples`). A service's refusal is put back next to the field it concerns.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
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

from backend.core.errors import DomainError, NotFound
from backend.core.time import SHANGHAI, utcnow
from backend.extensions import db
from backend.plans.models import SamplingPlan
from backend.registry.models import Product, Workshop
from backend.rules.models import StandardLimit
from backend.samples.announcements import TASK_SOURCE_NAMES
from backend.samples.lookup import get_batch
from backend.samples.models import Qualitative, TaskSource, TestKind
from backend.samples.recording import SamplingChoices
from backend.samples.results import ResultInput
from portal.console.common import apply_errors

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
ROW_KEY = re.compile(r"^rows-\d{1,3}-[a-z_]{1,20}$")
QUALITATIVE = {q.value for q in Qualitative}
ROW_FIELDS = ("method", "value", "unit", "qualitative", "device_no")


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

    def offer(self, choices: SamplingChoices) -> None:
        """Offer workshops, their products (of the chosen workshop only, once one is chosen),
        task sources and the plans of this year and last."""
        self.workshop_id.choices = [SelectChoice("", _l("— 请选择 —"))] + [
            SelectChoice(str(w.id), f"{w.name}（{w.registration_no}）") for w in choices.workshops
        ]
        self.product_id.choices = [SelectChoice("", _l("— 请选择 —"))] + [
            SelectChoice(
                str(p.id),
                p.name if choices.workshop else f"{p.workshop.name} · {p.name}",
            )
            for p in choices.products
        ]
        self.task_source.choices = [SelectChoice("", _l("— 请选择 —"))] + [
            SelectChoice(source.value, _l(name))
            for source, name in TASK_SOURCE_NAMES.items()
            if source is not TaskSource.SELF_CHECK  # the workshop's own, from its phones
        ]
        self.plan_id.choices = [SelectChoice("", _l("不属于抽检计划"))] + [
            SelectChoice(str(p.id), f"{p.year} {p.name}") for p in choices.plans
        ]


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


def chosen_id(text) -> int | None:
    """A picked id: None when empty, -1 (matches nothing) when not a usable number."""
    text = (text or "").strip()
    if not text:
        return None
    usable = text.isascii() and text.isdigit() and len(text) < 11 and 0 < int(text) < 2**31
    return int(text) if usable else -1


def read_sample(form: SampleForm) -> tuple[dict, dict]:
    """The service's arguments from the form, and the fields that could not be read."""
    errors: dict[str, list] = {}
    if form.sampled_at.errors:  # a time that could not be read
        errors["sampled_at"] = list(form.sampled_at.errors)
    workshop_id = chosen_id(form.workshop_id.data)
    workshop = db.session.get(Workshop, workshop_id) if workshop_id and workshop_id > 0 else None
    if workshop is None:
        errors["workshop_id"] = [
            str(_l("请选择作坊。") if workshop_id is None else _l("所选作坊不存在。"))
        ]
    product_id = chosen_id(form.product_id.data)
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
            batch = get_batch(batch_no)
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
    plan_id = chosen_id(form.plan_id.data)
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


def refusal(exc: DomainError) -> dict:
    """A service's refusal as field → [its Chinese message] (the form's top when no field)."""
    fields = [name for name in exc.errors if isinstance(name, str)] or ["_form"]
    return {name: [exc.message] for name in fields}


def blank_results(limits: list[StandardLimit]) -> ResultsForm:
    """An empty results form with one row per test item (units from the standards table)."""
    form = ResultsForm(formdata=None)
    for limit in limits:
        form.rows.append_entry({"item_code": limit.item_code, "unit": limit.unit})
    form.tested_at.data = utcnow()
    return form


def sent_rows(form: ResultsForm, live: dict) -> list[tuple[int, object]]:
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
                ResultInput(
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


def row_problems(form: ResultsForm) -> bool:
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


def apply_result_errors(form: ResultsForm, exc: DomainError, sent: list) -> None:
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
