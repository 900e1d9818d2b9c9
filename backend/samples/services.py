"""Samples, results, holds and recalls: the quality rules. Services flush, never commit.

Inspectors (the alliance's laboratory, the rapid-test vehicle) and regulators record samples
and results; the verdict of each result comes from the standards table
(:func:`backend.rules.standards.judge`), never from what anybody types. Rules:

- A rapid result is a screen. A positive screen holds the batch at once and opens a
  lab-confirmation task: a lab sample of the same batch, numbered ``<rapid sample>-FJ``.
- A lab result for the same batch and item names the screen it confirms (``confirms_id``).
  A lab fail holds the batch too and marks it for recall; a regulator recalls it
  (:func:`recall_batch`). Once every screen is confirmed by a lab pass and no lab fail
  stands, a regulator may release it again (:func:`release_batch`).
- Results are evidence: never updated. A correction is a new result naming the one it
  supersedes; superseded results no longer count.
- Regulators publish completed lab samples (:func:`publish_sample`) for the public
  announcement (:func:`announcements`).
- A workshop's own check (task source ``self_check``) is recorded by its operators, never by
  inspectors or regulators: a rapid screen of one of its batches (:func:`record_self_check`),
  judged by the same table, holding the batch on a positive like any other screen; the lab
  confirmation it opens is the inspection alliance's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import PurePath
from typing import BinaryIO

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import aliased, selectinload

from backend.accounts.models import Role, User
from backend.accounts.permissions import membership
from backend.batches.models import STATE_NAMES_ZH, Batch, BatchState
from backend.batches.states import change_state
from backend.core.errors import Conflict, DomainError, Forbidden, NotFound, ValidationError
from backend.core.i18n import N_
from backend.core.i18n import gettext as _
from backend.core.time import SHANGHAI, utcnow
from backend.extensions import db
from backend.files import storage
from backend.files.models import StoredFile
from backend.plans.models import SamplingPlan
from backend.registry.models import Product
from backend.rules import standards
from backend.rules.models import Comparison, StandardLimit
from backend.samples.models import (
    Qualitative,
    Sample,
    SampleStatus,
    TaskSource,
    TestKind,
    TestResult,
    Verdict,
)
from backend.scan.caching import forget_batch

SAMPLE_NO = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,35}$")
CONFIRMATION_SUFFIX = "-FJ"  # 复检: the lab sample that confirms a rapid screen
# Who tests lab-confirmation samples unless the sample is given another agency later.
LAB_AGENCY = "食品检测联盟实验室"
MAX_VALUE = Decimal(1_000_000)  # no reading of this table comes near it in any unit
MAX_PLACES = 6  # the column keeps six decimal places
CLOCK_SKEW = timedelta(minutes=5)  # a phone's clock may run a little ahead
MAX_AGE = timedelta(days=366)  # samples and results are recorded within a year
MAX_RESULTS_PER_POST = 50
REPORT_MAX_BYTES = 8 * 1024 * 1024
PDF_MAGIC = b"%PDF-"
# Mass fractions the laboratories report in, in mg/kg.
MASS_UNITS = {
    "g/kg": Decimal(1000),
    "mg/kg": Decimal(1),
    "µg/kg": Decimal("0.001"),  # micro sign, as in the standards table
    "μg/kg": Decimal("0.001"),  # Greek mu
    "ug/kg": Decimal("0.001"),
}


# Printed under every published result: a result speaks only for the sampled batch and items.
DISCLAIMER = N_("本公示的检验结果仅对所抽检样品的批次和检验项目负责。")

TASK_SOURCE_NAMES = {
    TaskSource.MUNICIPAL: N_("市级监督抽检"),
    TaskSource.DISTRICT: N_("区级监督抽检"),
    TaskSource.SPECIAL: N_("专项抽检"),
    TaskSource.ROUTINE: N_("快检车日常快检"),
    TaskSource.ALLIANCE: N_("检验联盟实验室检验"),
    TaskSource.SELF_CHECK: N_("作坊自检"),
}


class ReportTooLarge(DomainError):
    """A report larger than the upload limit."""

    status_code = 413
    slug = "upload_too_large"


# -- who may do what ---------------------------------------------------------------------


def require_sampler(user: User) -> None:
    """Inspectors and regulators record samples and results (operators only self-checks)."""
    if user.role not in (Role.INSPECTOR, Role.REGULATOR):
        raise Forbidden(
            _("只有检验人员和监管人员可以登记样品和检测结果；作坊只能登记本作坊的自检。"),
            slug="inspectors_only",
        )


def require_self_checker(user: User, workshop_id: int) -> None:
    """A workshop's own operators (owners and staff) record its self-checks."""
    if user.role is not Role.OPERATOR:
        raise Forbidden(
            _("作坊自检只能由本作坊的经营者或员工登记。"), slug="self_check_operators_only"
        )
    if membership(user, workshop_id) is None:
        raise Forbidden(_("只能登记本作坊的自检。"), slug="not_your_workshop")


def require_recorder(user: User, sample: Sample) -> None:
    """Who writes results and reports on *sample*: its workshop's operators for a
    self-check, inspectors and regulators for every other task source."""
    if sample.task_source is TaskSource.SELF_CHECK:
        require_self_checker(user, sample.workshop_id)
    else:
        require_sampler(user)


def require_regulator(user: User) -> None:
    """Holding, releasing, recalling and publishing by hand are the regulator's."""
    if user.role is not Role.REGULATOR:
        raise Forbidden(_("此操作仅限监管人员。"), slug="regulators_only")


def require_reader(user: User, workshop_id: int) -> None:
    """Inspectors and regulators read every sample; operators those of their workshop."""
    if user.role in (Role.INSPECTOR, Role.REGULATOR):
        return
    if membership(user, workshop_id) is None:
        raise Forbidden(_("只能查看本作坊的数据。"), slug="not_your_workshop")


# -- looking things up -------------------------------------------------------------------


def normalise_sample_no(text: str) -> str:
    """A sample number in its stored form (upper case), or ValidationError."""
    value = (text or "").strip().upper()
    if not SAMPLE_NO.match(value):
        raise ValidationError(
            _("样品编号须为 3–36 位字母、数字或连字符。"),
            slug="bad_sample_no",
            errors={"sample_no": ["3 to 36 letters, digits or hyphens"]},
        )
    return value


def get_sample(sample_no: str, *, by: User | None = None) -> Sample:
    """The sample *sample_no* (readable by *by*), or NotFound."""
    value = (sample_no or "").strip().upper()
    sample = (
        db.session.scalar(select(Sample).where(Sample.sample_no == value))
        if SAMPLE_NO.match(value)
        else None
    )
    if sample is None:
        raise NotFound(
            _("样品 %(no)s 不存在。", no=(sample_no or "")[:40]), slug="sample_not_found"
        )
    if by is not None:
        require_reader(by, sample.workshop_id)
    return sample


def get_batch(batch_no: str) -> Batch:
    """The batch *batch_no*, or NotFound."""
    batch = (
        db.session.scalar(select(Batch).where(Batch.batch_no == batch_no))
        if batch_no and len(batch_no) <= 40
        else None
    )
    if batch is None:
        raise NotFound(_("批次 %(no)s 不存在。", no=(batch_no or "")[:40]), slug="batch_not_found")
    return batch


def get_product(product_id: int) -> Product:
    """The product *product_id*, or NotFound."""
    product = db.session.get(Product, product_id) if 0 < product_id < 2**31 else None
    if product is None:
        raise NotFound(_("产品不存在。"), slug="product_not_found")
    return product


def get_plan(plan_id: int) -> SamplingPlan:
    """The sampling plan *plan_id*, or NotFound."""
    plan = db.session.get(SamplingPlan, plan_id) if 0 < plan_id < 2**31 else None
    if plan is None:
        raise NotFound(_("抽检计划不存在。"), slug="plan_not_found")
    return plan


# -- samples -----------------------------------------------------------------------------


def _check_time(value: datetime, field_name: str, *, not_before: datetime | None = None) -> None:
    """Refuse times in the future, more than a year back, or before *not_before*."""
    now = utcnow()
    if value.tzinfo is None:
        raise ValidationError(
            _("时间须带时区。"), slug="naive_time", errors={field_name: ["needs an offset"]}
        )
    if value > now + CLOCK_SKEW:
        raise ValidationError(
            _("时间不能晚于现在。"), slug="time_in_future", errors={field_name: ["in the future"]}
        )
    if value < now - MAX_AGE:
        raise ValidationError(
            _("时间不能早于一年前。"), slug="time_too_old", errors={field_name: ["over a year ago"]}
        )
    if not_before is not None and value < not_before:
        raise ValidationError(
            _("检测时间不能早于抽样时间。"),
            slug="tested_before_sampled",
            errors={field_name: ["before the sample was taken"]},
        )


# Longest texts the sample and result columns keep.
TEXT_LIMITS = {
    "sampling_place": 200,
    "testing_agency": 100,
    "station": 100,
    "method": 100,
    "unit": 20,
    "device_no": 50,
}


def _check_length(name: str, value: str) -> str:
    """*value* trimmed, or ValidationError when longer than its column keeps."""
    value = (value or "").strip()
    limit = TEXT_LIMITS[name]
    if len(value) > limit:
        raise ValidationError(
            _("内容过长（不超过 %(limit)d 字）。", limit=limit),
            slug="too_long",
            errors={name: [f"at most {limit} characters"]},
        )
    return value


def _next_sample_no(kind: TestKind, when: datetime) -> str:
    """``KJ20261126-001`` for rapid samples, ``CJ…`` for lab samples, counted per day."""
    prefix = f"{'KJ' if kind is TestKind.RAPID else 'CJ'}{when.astimezone(SHANGHAI):%Y%m%d}-"
    taken = db.session.scalar(
        select(func.count(Sample.id)).where(Sample.sample_no.like(f"{prefix}%"))
    )
    number = taken + 1
    while db.session.scalar(select(Sample.id).where(Sample.sample_no == f"{prefix}{number:03d}")):
        number += 1
    return f"{prefix}{number:03d}"


def record_sample(
    *,
    by: User,
    kind: TestKind,
    batch: Batch | None = None,
    product: Product | None = None,
    plan: SamplingPlan | None = None,
    task_source: TaskSource | None = None,
    sample_no: str | None = None,
    sampled_at: datetime | None = None,
    sampling_place: str = "",
    testing_agency: str | None = None,
    station: str = "",
) -> Sample:
    """Record a sample of *batch*, or of *product* when no batch is known.

    The task source and testing agency come from *plan* when one is given (and must agree
    with it); the number is generated unless the inspector wrote one on the bag.
    """
    if by.role is Role.OPERATOR and task_source is TaskSource.SELF_CHECK and plan is None:
        if batch is None:
            raise ValidationError(
                _("自检须指明本作坊的批次。"),
                slug="batch_no_needed",
                errors={"batch_no": ["a self-check is of one of the workshop's batches"]},
            )
        require_self_checker(by, batch.workshop_id)
        if kind is not TestKind.RAPID:
            raise ValidationError(
                _("作坊自检只登记快检结果；实验室检验由检验机构登记。"),
                slug="self_check_rapid_only",
                errors={"kind": ["self-checks are rapid screens"]},
            )
        testing_agency = testing_agency or f"{batch.workshop.name}（作坊自检）"
    else:
        require_sampler(by)
    if batch is None and product is None:
        raise ValidationError(
            _("请指明抽样的批次或产品。"),
            slug="batch_or_product_needed",
            errors={"batch_no": ["give batch_no or product_id"]},
        )
    if batch is not None and product is not None and product.id != batch.product_id:
        raise ValidationError(
            _("该批次不是这个产品的。"),
            slug="product_mismatch",
            errors={"product_id": ["not the batch's product"]},
        )
    product = batch.product if batch is not None else product
    sampled_at = sampled_at or utcnow()
    _check_time(sampled_at, "sampled_at")
    if plan is not None:
        if task_source is not None and task_source is not plan.task_source:
            raise ValidationError(
                _("任务来源与抽检计划不一致。"),
                slug="task_source_mismatch",
                errors={"task_source": [f"the plan's task source is {plan.task_source}"]},
            )
        if sampled_at.astimezone(SHANGHAI).year != plan.year:
            raise ValidationError(
                _("抽样时间不在抽检计划的年度内。"),
                slug="outside_plan_year",
                errors={"sampled_at": [f"the plan is for {plan.year}"]},
            )
        task_source = plan.task_source
        testing_agency = testing_agency or plan.testing_agency
    if task_source is None:
        raise ValidationError(
            _("请填写任务来源。"), slug="task_source_needed", errors={"task_source": ["required"]}
        )
    if task_source is TaskSource.SELF_CHECK and by.role is not Role.OPERATOR:
        raise ValidationError(
            _("“作坊自检”由作坊自己登记，检验人员和监管人员请选择其他任务来源。"),
            slug="self_check_is_the_workshops",
            errors={"task_source": ["self_check is recorded by the workshop's operators"]},
        )
    sampling_place = _check_length("sampling_place", sampling_place)
    station = _check_length("station", station)
    testing_agency = _check_length("testing_agency", testing_agency or "")
    if not testing_agency:
        raise ValidationError(
            _("请填写检验机构。"),
            slug="testing_agency_needed",
            errors={"testing_agency": ["required"]},
        )
    if sample_no:
        sample_no = normalise_sample_no(sample_no)
        if sample_no.endswith(CONFIRMATION_SUFFIX):
            raise ValidationError(
                _("以 %(suffix)s 结尾的编号留给复检样品。", suffix=CONFIRMATION_SUFFIX),
                slug="bad_sample_no",
                errors={"sample_no": [f"{CONFIRMATION_SUFFIX} is kept for confirmation samples"]},
            )
        if db.session.scalar(select(Sample.id).where(Sample.sample_no == sample_no)):
            raise Conflict(
                _("样品编号 %(no)s 已被使用。", no=sample_no),
                slug="sample_no_taken",
                errors={"sample_no": ["already used"]},
            )
    else:
        sample_no = _next_sample_no(kind, sampled_at)
    sample = Sample(
        sample_no=sample_no,
        kind=kind,
        plan_id=plan.id if plan else None,
        workshop_id=product.workshop_id,
        product_id=product.id,
        batch_id=batch.id if batch else None,
        task_source=task_source,
        sampled_at=sampled_at,
        sampled_by_id=by.id,
        sampling_place=sampling_place,
        testing_agency=testing_agency,
        station=station,
        status=SampleStatus.COLLECTED,
    )
    db.session.add(sample)
    db.session.flush()
    return sample


# -- results -----------------------------------------------------------------------------


@dataclass
class ResultInput:
    """One item of a result post, as the inspector gives it."""

    item_code: str
    method: str
    value: Decimal | None = None
    unit: str = ""
    qualitative: Qualitative | None = None
    tested_at: datetime | None = None
    device_no: str = ""
    action_taken: str = ""
    supersedes_id: int | None = None


@dataclass
class Recorded:
    """What a result post did: the new results, a hold, a confirmation task."""

    sample: Sample
    results: list[TestResult]
    batch: Batch | None = None
    held: bool = False
    confirmation: Sample | None = None
    recall_recommended: bool = False


def _decimal(value) -> Decimal | None:
    """*value* as a Decimal (None stays None), or ValidationError."""
    if value is None:
        return None
    not_a_number = ValidationError(
        _("检测值须为数字。"), slug="bad_number", errors={"value": ["not a number"]}
    )
    if isinstance(value, bool):
        raise not_a_number
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise not_a_number from None
    if not number.is_finite():
        raise not_a_number
    return number


def _reading_for_judge(limit: StandardLimit, value: Decimal, unit: str) -> tuple[Decimal, str]:
    """The value in the limit's unit, and the unit to store; ValidationError on a mismatch."""
    unit = unit.strip()
    if not unit:
        return value, limit.unit
    if not limit.unit or unit == limit.unit:
        return value, unit
    if unit in MASS_UNITS and limit.unit in MASS_UNITS:
        return value * MASS_UNITS[unit] / MASS_UNITS[limit.unit], unit
    raise ValidationError(
        _("单位 %(unit)s 与标准限量的单位 %(limit)s 不符。", unit=unit, limit=limit.unit),
        slug="unit_mismatch",
        errors={"unit": [f"the limit is in {limit.unit}"]},
    )


def _check_value(value: Decimal, unit: str) -> None:
    """Refuse negative, absurd or over-precise readings."""
    if value < 0:
        raise ValidationError(
            _("检测值不能为负数。"), slug="negative_value", errors={"value": ["negative"]}
        )
    if value >= MAX_VALUE or (unit == "%vol" and value > 100):
        raise ValidationError(
            _("检测值超出合理范围。"), slug="absurd_value", errors={"value": ["out of range"]}
        )
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_PLACES:
        raise ValidationError(
            _("检测值最多保留 6 位小数。"),
            slug="too_many_places",
            errors={"value": [f"at most {MAX_PLACES} decimal places"]},
        )


def _item_error(index: int, exc: ValidationError) -> ValidationError:
    """Re-raise *exc* as an error of item *index* of the post."""
    return ValidationError(
        exc.message,
        slug=exc.slug,
        errors={"results": {str(index): exc.errors or {"_item": [exc.message]}}},
    )


def is_superseded(result_id: int) -> bool:
    """Whether a newer result names *result_id* as the one it corrects."""
    return bool(
        db.session.scalar(select(TestResult.id).where(TestResult.supersedes_id == result_id))
    )


def _build_result(
    sample: Sample, item: ResultInput, *, by: User, labelled, seen: set[str]
) -> TestResult:
    """Judge one item against the standards table; nothing is written."""
    code = (item.item_code or "").strip()
    if code in seen:
        raise ValidationError(
            _("同一次提交中检测项目 %(item)s 重复。", item=code),
            slug="duplicate_item",
            errors={"item_code": ["given twice"]},
        )
    seen.add(code)
    try:
        limit = standards.limit_for(sample.product.category_code, code)
    except ValidationError:
        raise ValidationError(
            _("标准表中没有该类食品的检测项目 %(item)s，无法判定。", item=code[:40]),
            slug="no_standard_for_item",
            errors={"item_code": ["no row of the standards table for this category and item"]},
        ) from None
    method = _check_length("method", item.method)
    if not method:
        raise ValidationError(
            _("请填写检测方法。"), slug="method_needed", errors={"method": ["required"]}
        )
    device_no = _check_length("device_no", item.device_no)
    value = _decimal(item.value)
    if (value is None) == (item.qualitative is None):
        raise ValidationError(
            _("请填写检测值或定性结果（二者选一）。"),
            slug="reading_missing",
            errors={"value": ["give value or qualitative, not both"]},
        )
    unit = _check_length("unit", item.unit)
    judged_value = None
    if value is not None:
        _check_value(value, unit or limit.unit)
        judged_value, unit = _reading_for_judge(limit, value, unit)
    elif unit:
        raise ValidationError(
            _("定性结果不带单位。"), slug="unit_without_value", errors={"unit": ["no value"]}
        )
    if limit.comparison is Comparison.LABEL_TOLERANCE and value is None:
        raise ValidationError(
            _("%(item)s须填写实测值。", item=limit.item_name_zh),
            slug="value_needed",
            errors={"value": ["a measured value is needed for this item"]},
        )
    if limit.comparison is Comparison.LABEL_TOLERANCE and labelled is None:
        raise ValidationError(
            _("该产品未登记标签标示值，无法判定 %(item)s。", item=limit.item_name_zh),
            slug="label_value_missing",
            errors={"item_code": ["the product has no labelled value"]},
        )
    tested_at = item.tested_at or utcnow()
    _check_time(tested_at, "tested_at", not_before=sample.sampled_at)
    supersedes = None
    if item.supersedes_id is not None:
        supersedes = db.session.get(TestResult, item.supersedes_id)
        if supersedes is None or supersedes.sample_id != sample.id:
            raise ValidationError(
                _("被更正的结果不在该样品中。"),
                slug="superseded_not_found",
                errors={"supersedes_id": ["no such result on this sample"]},
            )
        if supersedes.item_code != code:
            raise ValidationError(
                _("更正结果须与被更正结果的检测项目相同。"),
                slug="superseded_item_mismatch",
                errors={"supersedes_id": ["another item"]},
            )
        if is_superseded(supersedes.id):
            raise Conflict(
                _("该结果已被更正过，请更正最新的结果。"),
                slug="already_superseded",
                errors={"supersedes_id": ["already superseded"]},
            )
    verdict = standards.judge(
        limit,
        kind=sample.kind,
        value=judged_value,
        qualitative=item.qualitative,
        labelled=labelled,
    )
    return TestResult(
        sample_id=sample.id,
        standard_limit_id=limit.id,
        standard_limit=limit,
        item_code=code,
        method=method,
        value=value,
        unit=unit,
        qualitative=item.qualitative,
        verdict=verdict,
        tested_at=tested_at,
        tested_by_id=by.id,
        device_no=device_no,
        action_taken=(item.action_taken or "").strip(),
        supersedes_id=supersedes.id if supersedes else None,
    )


def record_results(
    sample: Sample, items: Iterable[ResultInput], *, by: User, complete: bool = True
) -> Recorded:
    """Record results on *sample*, all or nothing, and act on what they say.

    Every item is judged before anything is written. A positive screen holds the batch and
    opens a lab-confirmation task; a lab result names the open screen it confirms; a lab
    fail holds the batch and marks it for recall. *complete* closes the sample.
    """
    require_recorder(by, sample)
    items = list(items)
    if not 1 <= len(items) <= MAX_RESULTS_PER_POST:
        raise ValidationError(
            _("每次提交 1 至 %(n)s 个检测项目。", n=MAX_RESULTS_PER_POST),
            slug="bad_result_count",
            errors={"results": [f"1 to {MAX_RESULTS_PER_POST} items"]},
        )
    labelled = sample.product.labelled_alcohol
    built, seen = [], set()
    for index, item in enumerate(items):
        try:
            built.append(_build_result(sample, item, by=by, labelled=labelled, seen=seen))
        except (ValidationError, Conflict) as exc:
            if isinstance(exc, Conflict):
                raise Conflict(
                    exc.message, slug=exc.slug, errors={"results": {str(index): exc.errors}}
                ) from None
            raise _item_error(index, exc) from None
    for result in built:
        if sample.kind is TestKind.LAB:
            screen = _screen_to_confirm(sample, result.item_code)
            result.confirms_id = screen.id if screen else None
        db.session.add(result)
    sample.status = SampleStatus.COMPLETED if complete else SampleStatus.TESTING
    db.session.flush()
    db.session.expire(sample, ["results"])  # reload with the new results when next read
    outcome = Recorded(sample=sample, results=built, batch=sample.batch)
    screens = [r for r in built if r.verdict is Verdict.POSITIVE_SCREEN]
    fails = [r for r in built if r.verdict is Verdict.FAIL]
    if screens:
        names = "、".join(r.standard_limit.item_name_zh for r in screens)
        own = "作坊自检" if sample.task_source is TaskSource.SELF_CHECK else ""
        outcome.held = _hold_for(
            sample.batch,
            f"{own}快检{names}呈阳性（样品 {sample.sample_no}），已暂控，等待实验室确认。",
            by,
        )
        outcome.confirmation = _open_confirmation(sample)
    if fails:
        names = "、".join(r.standard_limit.item_name_zh for r in fails)
        outcome.held = (
            _hold_for(
                sample.batch,
                f"实验室检验{names}不合格（样品 {sample.sample_no}），待监管部门决定召回。",
                by,
            )
            or outcome.held
        )
    if sample.batch is not None:
        forget_batch(sample.batch_id)  # the consumer view lists the batch's results
        outcome.recall_recommended = bool(_standing_lab_fails(sample.batch_id))
    return outcome


def record_self_check(
    workshop_id: int,
    batch_no: str,
    *,
    by: User,
    items: Iterable[ResultInput] = (),
    sampled_at: datetime | None = None,
    sampling_place: str = "",
    station: str = "",
    testing_agency: str | None = None,
) -> Recorded:
    """An operator records the workshop's own rapid screen of one of its batches, and its
    results when given (all or nothing); a positive holds the batch like any screen."""
    require_self_checker(by, workshop_id)
    batch = (
        db.session.scalar(
            select(Batch).where(Batch.batch_no == batch_no, Batch.workshop_id == workshop_id)
        )
        if batch_no and len(batch_no) <= 40
        else None
    )
    if batch is None:
        raise ValidationError(
            _("本作坊没有批次 %(no)s。", no=(batch_no or "")[:40]),
            slug="batch_not_found",
            errors={"batch_no": ["no such batch in this workshop"]},
        )
    sample = record_sample(
        by=by,
        kind=TestKind.RAPID,
        batch=batch,
        task_source=TaskSource.SELF_CHECK,
        sampled_at=sampled_at,
        sampling_place=sampling_place,
        testing_agency=testing_agency,
        station=station,
    )
    items = list(items)
    if items:
        return record_results(sample, items, by=by)
    return Recorded(sample=sample, results=[], batch=batch)


def awaiting_confirmation() -> set[int]:
    """Samples waiting for the lab: rapid samples with a positive screen no lab result has
    answered yet, and lab-confirmation samples not completed."""
    rapid_ids = set()
    batch_ids = db.session.scalars(
        _live(
            select(Sample.batch_id)
            .join(TestResult, TestResult.sample_id == Sample.id)
            .where(
                Sample.kind == TestKind.RAPID,
                Sample.batch_id.is_not(None),
                TestResult.verdict == Verdict.POSITIVE_SCREEN,
            )
        ).distinct()
    ).all()
    for batch_id in batch_ids:
        rapid_ids.update(screen.sample_id for screen in _open_screens(batch_id))
    loose = db.session.scalars(  # screens of a product without a batch: their own task
        _live(
            select(Sample)
            .join(TestResult, TestResult.sample_id == Sample.id)
            .where(
                Sample.kind == TestKind.RAPID,
                Sample.batch_id.is_(None),
                TestResult.verdict == Verdict.POSITIVE_SCREEN,
            )
        ).distinct()
    ).all()
    for rapid in loose:
        task = db.session.scalar(
            select(Sample).where(Sample.sample_no == f"{rapid.sample_no}{CONFIRMATION_SUFFIX}")
        )
        if task is None or not live_results(task):
            rapid_ids.add(rapid.id)
    tasks = db.session.scalars(
        select(Sample.id).where(
            Sample.kind == TestKind.LAB,
            Sample.sample_no.like(f"%{CONFIRMATION_SUFFIX}"),
            Sample.status != SampleStatus.COMPLETED,
        )
    ).all()
    return rapid_ids | set(tasks)


def _lock(batch: Batch) -> Batch:
    """Lock the batch's row (PostgreSQL) and read its state afresh, so that two requests
    cannot both move it."""
    db.session.execute(select(Batch.id).where(Batch.id == batch.id).with_for_update())
    db.session.refresh(batch, ["state", "hold_reason", "released_at"])
    return batch


def _hold_for(batch: Batch | None, reason: str, by: User) -> bool:
    """Hold *batch* for *reason* (adding to the banner of a held one); whether it is held."""
    if batch is None:
        return False
    _lock(batch)
    if batch.can_move_to(BatchState.HELD):
        change_state(batch, BatchState.HELD, reason=reason, by_user_id=by.id)
        return True
    if batch.state is BatchState.HELD:
        if reason not in batch.hold_reason:
            batch.hold_reason = f"{batch.hold_reason}\n{reason}" if batch.hold_reason else reason
            db.session.flush()
            forget_batch(batch.id)
        return True
    return False  # not out yet (draft, in production) or already recalled


def _open_confirmation(rapid: Sample) -> Sample:
    """The lab-confirmation sample of a rapid sample, opened on its first positive screen."""
    number = f"{rapid.sample_no}{CONFIRMATION_SUFFIX}"
    existing = db.session.scalar(select(Sample).where(Sample.sample_no == number))
    if existing is not None:
        return existing
    sample = Sample(
        sample_no=number,
        kind=TestKind.LAB,
        plan_id=None,
        workshop_id=rapid.workshop_id,
        product_id=rapid.product_id,
        batch_id=rapid.batch_id,
        # A workshop's own screen is confirmed by the inspection alliance's laboratory.
        task_source=(
            TaskSource.ALLIANCE if rapid.task_source is TaskSource.SELF_CHECK else rapid.task_source
        ),
        sampled_at=rapid.sampled_at,  # the portion kept from the screened sample
        sampled_by_id=rapid.sampled_by_id,
        sampling_place=rapid.sampling_place,
        testing_agency=LAB_AGENCY,
        station="",
        status=SampleStatus.COLLECTED,
    )
    db.session.add(sample)
    db.session.flush()
    return sample


def confirmation_of(sample: Sample) -> Sample | None:
    """The rapid sample whose screen *sample* was opened to confirm, if it is one."""
    if sample.kind is not TestKind.LAB or not sample.sample_no.endswith(CONFIRMATION_SUFFIX):
        return None
    number = sample.sample_no[: -len(CONFIRMATION_SUFFIX)]
    return db.session.scalar(
        select(Sample).where(Sample.sample_no == number, Sample.kind == TestKind.RAPID)
    )


def _live(query):
    """Only results no newer result supersedes."""
    newer = aliased(TestResult)
    return query.where(
        TestResult.id.not_in(select(newer.supersedes_id).where(newer.supersedes_id.is_not(None)))
    )


def _open_screens(batch_id: int) -> list[TestResult]:
    """Positive screens of the batch that no standing lab result has answered yet."""
    screens = db.session.scalars(
        _live(
            select(TestResult)
            .join(Sample, TestResult.sample_id == Sample.id)
            .where(
                Sample.batch_id == batch_id,
                Sample.kind == TestKind.RAPID,
                TestResult.verdict == Verdict.POSITIVE_SCREEN,
            )
        )
        .options(selectinload(TestResult.sample))
        .order_by(TestResult.id)
    ).all()
    if not screens:
        return []
    labs = db.session.scalars(
        _live(
            select(TestResult)
            .join(Sample, TestResult.sample_id == Sample.id)
            .where(Sample.batch_id == batch_id, Sample.kind == TestKind.LAB)
        ).options(selectinload(TestResult.sample))
    ).all()
    return [s for s in screens if not any(_answers(lab, s) for lab in labs)]


def _answers(lab: TestResult, screen: TestResult) -> bool:
    """Whether a lab result answers a screen: it names it, or tests the same item later."""
    if lab.confirms_id == screen.id:
        return True
    return lab.item_code == screen.item_code and lab.sample.sampled_at >= screen.sample.sampled_at


def _screen_to_confirm(sample: Sample, item_code: str) -> TestResult | None:
    """The open screen a lab result on *sample* for *item_code* confirms, if any.

    The screen this sample was opened for comes first, then the latest open one of the batch.
    """
    rapid = confirmation_of(sample)
    candidates: list[TestResult] = []
    if sample.batch_id is not None:
        candidates = [s for s in _open_screens(sample.batch_id) if s.item_code == item_code]
    elif rapid is not None:
        candidates = db.session.scalars(
            _live(
                select(TestResult).where(
                    TestResult.sample_id == rapid.id,
                    TestResult.item_code == item_code,
                    TestResult.verdict == Verdict.POSITIVE_SCREEN,
                )
            )
        ).all()
    if not candidates:
        return None
    own = [c for c in candidates if rapid is not None and c.sample_id == rapid.id]
    return (own or candidates)[-1]


def _standing_lab_fails(batch_id: int) -> list[TestResult]:
    """Lab fails of the batch that no correction has superseded."""
    return db.session.scalars(
        _live(
            select(TestResult)
            .join(Sample, TestResult.sample_id == Sample.id)
            .where(
                Sample.batch_id == batch_id,
                Sample.kind == TestKind.LAB,
                TestResult.verdict == Verdict.FAIL,
            )
        ).order_by(TestResult.id)
    ).all()


# -- a batch's quality, holds, releases, recalls ------------------------------------------


@dataclass
class BatchQuality:
    """Every result of a batch, and what they mean for its release."""

    batch: Batch
    results: list[TestResult]
    superseded_ids: set[int] = field(default_factory=set)
    open_screens: list[TestResult] = field(default_factory=list)
    lab_fails: list[TestResult] = field(default_factory=list)

    @property
    def recall_recommended(self) -> bool:
        """A standing lab fail: the regulator should recall."""
        return bool(self.lab_fails)

    @property
    def releasable(self) -> bool:
        """A held batch with every screen answered and no lab fail may be released."""
        return self.batch.state is BatchState.HELD and not self.open_screens and not self.lab_fails


def batch_quality(batch: Batch, *, by: User | None = None) -> BatchQuality:
    """The batch's results (oldest first) and what stands between it and release."""
    if by is not None:
        require_reader(by, batch.workshop_id)
    results = db.session.scalars(
        select(TestResult)
        .join(Sample, TestResult.sample_id == Sample.id)
        .where(Sample.batch_id == batch.id)
        .options(selectinload(TestResult.sample), selectinload(TestResult.standard_limit))
        .order_by(TestResult.tested_at, TestResult.id)
    ).all()
    return BatchQuality(
        batch=batch,
        results=list(results),
        superseded_ids={r.supersedes_id for r in results if r.supersedes_id},
        open_screens=_open_screens(batch.id),
        lab_fails=_standing_lab_fails(batch.id),
    )


def _reason(reason: str) -> str:
    """A regulator's reason: required, at most 500 characters."""
    reason = (reason or "").strip()
    if not reason or len(reason) > 500:
        raise ValidationError(
            _("请填写理由（不超过 500 字）。"), slug="reason_needed", errors={"reason": ["1–500"]}
        )
    return reason


def _state_conflict(batch: Batch, message: str) -> Conflict:
    """The batch's state forbids the action *message* (marked with N_) speaks of."""
    return Conflict(
        _(message, no=batch.batch_no, state=_(STATE_NAMES_ZH[batch.state])),
        slug="batch_state_conflict",
    )


def hold_batch(batch: Batch, reason: str, by: User) -> Batch:
    """A regulator holds a released (or pending) batch by hand."""
    require_regulator(by)
    reason = _reason(reason)
    _lock(batch)
    if not batch.can_move_to(BatchState.HELD):
        raise _state_conflict(batch, N_("批次 %(no)s 当前为“%(state)s”，不能暂控。"))
    change_state(batch, BatchState.HELD, reason=reason, by_user_id=by.id)
    return batch


def release_batch(batch: Batch, reason: str, by: User) -> Batch:
    """A regulator releases a held batch once every screen is answered and no lab fail stands."""
    require_regulator(by)
    reason = _reason(reason)
    _lock(batch)
    if batch.state is not BatchState.HELD:
        raise _state_conflict(batch, N_("批次 %(no)s 当前为“%(state)s”，不能解除暂控。"))
    quality = batch_quality(batch)
    if quality.lab_fails:
        raise Conflict(
            _("该批次有实验室不合格结果，不能放行，应予召回。"),
            slug="lab_fail_stands",
            errors={"results": [r.id for r in quality.lab_fails]},
        )
    if quality.open_screens:
        raise Conflict(
            _("该批次的快检阳性结果尚待实验室确认，不能放行。"),
            slug="awaiting_lab_confirmation",
            errors={"results": [r.id for r in quality.open_screens]},
        )
    change_state(batch, BatchState.RELEASED, reason=reason, by_user_id=by.id)
    return batch


def recall_batch(batch: Batch, reason: str, by: User) -> Batch:
    """A regulator recalls a released or held batch; consumers see it at once."""
    require_regulator(by)
    reason = _reason(reason)
    _lock(batch)
    if not batch.can_move_to(BatchState.RECALLED):
        raise _state_conflict(batch, N_("批次 %(no)s 当前为“%(state)s”，不能召回。"))
    change_state(batch, BatchState.RECALLED, reason=reason, by_user_id=by.id)
    return batch


# -- test reports ------------------------------------------------------------------------


def attach_report(sample: Sample, stream: BinaryIO, filename: str, *, by: User) -> StoredFile:
    """Keep a test report PDF with *sample* (a newer report takes its place; both are kept).

    Only PDFs (the bytes must start with ``%PDF-``) up to the upload limit are taken.
    """
    require_recorder(by, sample)
    limit = current_app.config.get("UPLOAD_MAX_BYTES", REPORT_MAX_BYTES)
    head = stream.read(len(PDF_MAGIC))
    if head != PDF_MAGIC:
        raise ValidationError(
            _("检验报告须为 PDF 文件。"), slug="not_a_pdf", errors={"file": ["not a PDF"]}
        )

    def write(out) -> None:
        out.write(head)
        size = len(head)
        while chunk := stream.read(64 * 1024):
            size += len(chunk)
            if size > limit:
                raise ReportTooLarge(
                    _("文件过大（上限 %(mb)s MB）。", mb=max(1, limit // (1024 * 1024))),
                    errors={"file": ["too large"]},
                )
            out.write(chunk)

    name = PurePath((filename or "").replace("\\", "/")).name.strip() or "report.pdf"
    name = "".join(ch for ch in name if ch.isprintable())[:200] or "report.pdf"
    stored = storage.save_stream(
        write, filename=name, content_type="application/pdf", prefix="reports", by=by
    )
    sample.report_file_id = stored.id
    db.session.flush()
    return stored


def report_of(sample: Sample) -> StoredFile:
    """The sample's test report, or NotFound."""
    stored = db.session.get(StoredFile, sample.report_file_id) if sample.report_file_id else None
    if stored is None:
        raise NotFound(_("该样品尚无检验报告。"), slug="report_not_found")
    return stored


# -- publication -------------------------------------------------------------------------


def publish_sample(sample: Sample, by: User) -> Sample:
    """A regulator publishes a completed lab sample in the sampling announcement."""
    require_regulator(by)
    if sample.kind is not TestKind.LAB:
        raise Conflict(_("快检结果不予公示，只公示实验室检验结果。"), slug="rapid_not_published")
    if sample.status is not SampleStatus.COMPLETED or not sample.results:
        raise Conflict(_("样品检验尚未完成，不能公示。"), slug="sample_not_completed")
    if sample.published_at is not None:
        raise Conflict(_("该样品已公示。"), slug="already_published")
    sample.published_at = utcnow()
    db.session.flush()
    return sample


def standard_text(limit: StandardLimit) -> str:
    """The standard value as an announcement writes it."""
    if limit.comparison is Comparison.NOT_PERMITTED:
        return _("不得使用")
    if limit.comparison is Comparison.ABSENT:
        return _("不得检出")
    if limit.comparison is Comparison.QUANTUM_SATIS:
        return _("按生产需要适量使用")
    number = format(limit.limit_value.normalize(), "f")
    if limit.comparison is Comparison.LABEL_TOLERANCE:
        return _("标签明示值±%(limit)s%(unit)s", limit=number, unit=limit.unit)
    return f"≤{number} {limit.unit}".strip()


def reading_text(result: TestResult) -> str:
    """A result's reading as an announcement writes it."""
    if result.value is not None:
        return f"{format(result.value.normalize(), 'f')} {result.unit}".strip()
    return _("检出") if result.qualitative is Qualitative.POSITIVE else _("未检出")


def live_results(sample: Sample) -> list[TestResult]:
    """The sample's results that no correction has superseded."""
    superseded = {r.supersedes_id for r in sample.results if r.supersedes_id}
    return [r for r in sample.results if r.id not in superseded]


def announcement_row(sample: Sample, *, public: bool = True) -> dict:
    """One published sample in the columns of the public announcement (抽检信息公示).

    Public rows carry only results judged by verified limits (an unverified number makes no
    public verdict; with none left the conclusion is "pending"); the console's rows
    (*public* false) carry them all; ``unverified_limits`` tells the console some limits
    are unverified (a flag, never a note in the remarks).
    """
    workshop, product, batch = sample.workshop, sample.product, sample.batch
    results = live_results(sample)
    # A public verdict comes only from a limit checked against the official text: a result
    # judged by an unverified row is left out of the published row (regulators see it in
    # the console, marked as unverified).
    live = results
    if public:
        results = [r for r in live if r.standard_limit is None or r.standard_limit.verified]
    failing = [r for r in results if r.verdict is Verdict.FAIL]
    remarks = []  # internal data-quality notes go in unverified_limits (console only)
    if len(live) < len(sample.results):
        remarks.append(_("含更正后的结果。"))
    trademark = workshop.trademark or (product.brand.name_zh if product.brand else None)
    return {
        "number": sample.sample_no,
        "producer": {"name": workshop.name, "address": workshop.address},
        "sampled_unit": {
            "name": workshop.name,
            "address": sample.sampling_place or workshop.address,
        },
        "food_name": product.name,
        "specification": product.specification,
        "trademark": trademark,
        "production_date": batch.produced_on if batch else None,
        "batch_no": batch.batch_no if batch else None,
        "failing_items": [
            {
                "item_code": r.item_code,
                "item": r.standard_limit.item_name_zh,
                "item_en": r.standard_limit.item_name_en,
                "result": reading_text(r),
                "standard_value": standard_text(r.standard_limit),
                "standard": r.standard_limit.standard,
                "verified": r.standard_limit.verified,
            }
            for r in failing
        ],
        "conclusion": "fail" if failing else ("pass" if results else "pending"),
        "category": {
            "code": product.category.code,
            "name_zh": product.category.name_zh,
            "name_en": product.category.name_en,
        },
        "task_source": {
            "code": str(sample.task_source),
            "name": _(TASK_SOURCE_NAMES[sample.task_source]),
        },
        "testing_agency": sample.testing_agency,
        "remarks": " ".join(remarks),
        "unverified_limits": any(
            r.standard_limit is not None and not r.standard_limit.verified for r in live
        ),
        "sampled_at": sample.sampled_at,
        "published_at": sample.published_at,
    }


def announcements(year: int | None = None) -> dict:
    """Published lab samples (of *year*'s sampling, by Asia/Shanghai dates), newest first,
    with the disclaimer every announcement carries."""
    query = (
        select(Sample)
        .where(Sample.published_at.is_not(None), Sample.kind == TestKind.LAB)
        .options(
            selectinload(Sample.workshop),
            selectinload(Sample.product).selectinload(Product.category),
            selectinload(Sample.product).selectinload(Product.brand),
            selectinload(Sample.batch),
            selectinload(Sample.results).selectinload(TestResult.standard_limit),
        )
        .order_by(Sample.published_at.desc(), Sample.sample_no)
    )
    if year is not None:
        if not 2000 <= year <= 2100:
            raise ValidationError(
                _("年份无效。"), slug="bad_year", errors={"year": ["2000 to 2100"]}
            )
        start = datetime(year, 1, 1, tzinfo=SHANGHAI)
        query = query.where(
            Sample.sampled_at >= start, Sample.sampled_at < start.replace(year=year + 1)
        )
    return {
        "year": year,
        "disclaimer": _(DISCLAIMER),
        "rows": [announcement_row(s) for s in db.session.scalars(query).all()],
    }
