"""Looking samples up: by number, the batch, product and plan a sample names, and which of a
sample's results still count (a correction supersedes the result it names).

Inspectors and regulators read every sample; a workshop's operators read those of their
own workshop (:func:`require_reader`).
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import aliased

from backend.accounts.models import Role, User
from backend.accounts.permissions import membership
from backend.batches.models import Batch
from backend.core.errors import Forbidden, NotFound, ValidationError
from backend.core.i18n import gettext as _
from backend.extensions import db
from backend.plans.models import SamplingPlan
from backend.registry.models import Product
from backend.samples.models import Sample, TestResult

SAMPLE_NO = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,35}$")


def require_reader(user: User, workshop_id: int) -> None:
    """Inspectors and regulators read every sample; operators those of their workshop."""
    if user.role in (Role.INSPECTOR, Role.REGULATOR):
        return
    if membership(user, workshop_id) is None:
        raise Forbidden(_("只能查看本作坊的数据。"), slug="not_your_workshop")


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


# -- which results count (a correction supersedes the result it names) --------------------


def is_superseded(result_id: int) -> bool:
    """Whether a newer result names *result_id* as the one it corrects."""
    return bool(
        db.session.scalar(select(TestResult.id).where(TestResult.supersedes_id == result_id))
    )


def only_standing(query):
    """*query* of results narrowed to those no newer result supersedes."""
    newer = aliased(TestResult)
    return query.where(
        TestResult.id.not_in(select(newer.supersedes_id).where(newer.supersedes_id.is_not(None)))
    )


def live_results(sample: Sample) -> list[TestResult]:
    """The sample's results that no correction has superseded."""
    superseded = {r.supersedes_id for r in sample.results if r.supersedes_id}
    return [r for r in sample.results if r.id not in superseded]
