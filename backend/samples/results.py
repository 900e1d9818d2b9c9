"""Test results: each item judged against the standards table, recorded all or nothing,
and what they set off.

The verdict of each result comes from the standards table
(:func:`backend.rules.standards.judge`), never from what anybody types. A positive rapid
screen holds the batch at once and opens a lab-confirmation task
(:mod:`backend.samples.confirmation`); a lab fail holds the batch too and marks it for
recall (:mod:`backend.samples.holds`). Results are evidence: never updated. A correction is
a new result naming the one it supersedes; superseded results no longer count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from backend.accounts.models import User
from backend.batches.models import Batch
from backend.core.errors import Conflict, ValidationError
from backend.core.i18n import gettext as _
from backend.core.time import utcnow
from backend.extensions import db
from backend.rules import standards
from backend.rules.models import Comparison, StandardLimit
from backend.samples.confirmation import open_confirmation, screen_to_confirm, standing_lab_fails
from backend.samples.holds import hold_for
from backend.samples.lookup import is_superseded
from backend.samples.models import (
    Qualitative,
    Sample,
    SampleStatus,
    TaskSource,
    TestKind,
    TestResult,
    Verdict,
)
from backend.samples.recording import check_length, check_time, require_recorder

MAX_VALUE = Decimal(1_000_000)  # no reading of this table comes near it in any unit
MAX_PLACES = 6  # the column keeps six decimal places
MAX_RESULTS_PER_POST = 50
# Mass fractions the laboratories report in, in mg/kg.
MASS_UNITS = {
    "g/kg": Decimal(1000),
    "mg/kg": Decimal(1),
    "µg/kg": Decimal("0.001"),  # micro sign, as in the standards table
    "μg/kg": Decimal("0.001"),  # Greek mu
    "ug/kg": Decimal("0.001"),
}


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


def _limit_of(sample: Sample, code: str, seen: set[str]) -> StandardLimit:
    """The standards table's row for item *code* of the sample's product (once per post)."""
    if code in seen:
        raise ValidationError(
            _("同一次提交中检测项目 %(item)s 重复。", item=code),
            slug="duplicate_item",
            errors={"item_code": ["given twice"]},
        )
    seen.add(code)
    try:
        return standards.limit_for(sample.product.category_code, code)
    except ValidationError:
        raise ValidationError(
            _("标准表中没有该类食品的检测项目 %(item)s，无法判定。", item=code[:40]),
            slug="no_standard_for_item",
            errors={"item_code": ["no row of the standards table for this category and item"]},
        ) from None


def _reading(
    item: ResultInput, limit: StandardLimit, labelled
) -> tuple[Decimal | None, str, Decimal | None]:
    """The value as given, the unit to store, and the value in the limit's unit (to judge)."""
    value = _decimal(item.value)
    if (value is None) == (item.qualitative is None):
        raise ValidationError(
            _("请填写检测值或定性结果（二者选一）。"),
            slug="reading_missing",
            errors={"value": ["give value or qualitative, not both"]},
        )
    unit = check_length("unit", item.unit)
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
    return value, unit, judged_value


def _superseded(sample: Sample, supersedes_id: int | None, code: str) -> TestResult | None:
    """The result of *sample* a correction supersedes: same item, not corrected before."""
    if supersedes_id is None:
        return None
    supersedes = db.session.get(TestResult, supersedes_id)
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
    return supersedes


def _build_result(
    sample: Sample, item: ResultInput, *, by: User, labelled, seen: set[str]
) -> TestResult:
    """Judge one item against the standards table; nothing is written."""
    code = (item.item_code or "").strip()
    limit = _limit_of(sample, code, seen)
    method = check_length("method", item.method)
    if not method:
        raise ValidationError(
            _("请填写检测方法。"), slug="method_needed", errors={"method": ["required"]}
        )
    device_no = check_length("device_no", item.device_no)
    value, unit, judged_value = _reading(item, limit, labelled)
    tested_at = item.tested_at or utcnow()
    check_time(tested_at, "tested_at", not_before=sample.sampled_at)
    supersedes = _superseded(sample, item.supersedes_id, code)
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
            screen = screen_to_confirm(sample, result.item_code)
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
        outcome.held = hold_for(
            sample.batch,
            f"{own}快检{names}呈阳性（样品 {sample.sample_no}），已暂控，等待实验室确认。",
            by,
        )
        outcome.confirmation = open_confirmation(sample)
    if fails:
        names = "、".join(r.standard_limit.item_name_zh for r in fails)
        outcome.held = (
            hold_for(
                sample.batch,
                f"实验室检验{names}不合格（样品 {sample.sample_no}），待监管部门决定召回。",
                by,
            )
            or outcome.held
        )
    if sample.batch is not None:
        outcome.recall_recommended = bool(standing_lab_fails(sample.batch_id))
    return outcome
