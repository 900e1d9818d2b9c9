"""The sampling announcement (抽检信息公示): what regulators publish and how it reads.

Regulators publish completed lab samples (:func:`publish_sample`); the public announcement
(:func:`announcements`) lists them in its columns, with the disclaimer every announcement
carries. A public verdict comes only from a limit checked against the official text.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.accounts.models import Role, User
from backend.accounts.permissions import require_role
from backend.core.errors import Conflict, ValidationError
from backend.core.i18n import N_
from backend.core.i18n import gettext as _
from backend.core.time import SHANGHAI, utcnow
from backend.extensions import db
from backend.registry.models import Product
from backend.rules.models import Comparison, StandardLimit
from backend.samples.holds import REGULATORS_ONLY
from backend.samples.lookup import live_results
from backend.samples.models import (
    Qualitative,
    Sample,
    SampleStatus,
    TaskSource,
    TestKind,
    TestResult,
    Verdict,
)

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


def publish_sample(sample: Sample, by: User) -> Sample:
    """A regulator publishes a completed lab sample in the sampling announcement."""
    require_role(by, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulators_only")
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
