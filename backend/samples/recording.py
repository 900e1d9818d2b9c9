"""Recording a sample: who may, the checks of its times and texts, and its number.

Inspectors (the alliance's laboratory, the rapid-test vehicle) and regulators record
samples; a workshop's own check (task source ``self_check``) is recorded by its operators,
never by inspectors or regulators (:mod:`backend.samples.self_checks`). The task source and
testing agency come from the sampling plan when one is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from backend.accounts.models import Role, User
from backend.accounts.permissions import membership, require_role
from backend.batches.models import Batch
from backend.core.errors import Conflict, Forbidden, ValidationError
from backend.core.i18n import N_
from backend.core.i18n import gettext as _
from backend.core.time import SHANGHAI, utcnow
from backend.extensions import db
from backend.plans.models import SamplingPlan
from backend.registry.models import Product, Workshop
from backend.samples.confirmation import CONFIRMATION_SUFFIX
from backend.samples.lookup import normalise_sample_no
from backend.samples.models import Sample, SampleStatus, TaskSource, TestKind

CLOCK_SKEW = timedelta(minutes=5)  # a phone's clock may run a little ahead
MAX_AGE = timedelta(days=366)  # samples and results are recorded within a year
# Who records samples and results (operators only their workshop's self-checks).
SAMPLERS = (Role.INSPECTOR, Role.REGULATOR)
SAMPLERS_ONLY = N_("只有检验人员和监管人员可以登记样品和检测结果；作坊只能登记本作坊的自检。")


def require_self_checker(user: User, workshop_id: int) -> None:
    """A workshop's own operators (owners and staff) record its self-checks."""
    require_role(
        user,
        Role.OPERATOR,
        message=_("作坊自检只能由本作坊的经营者或员工登记。"),
        slug="self_check_operators_only",
    )
    if membership(user, workshop_id) is None:
        raise Forbidden(_("只能登记本作坊的自检。"), slug="not_your_workshop")


def require_recorder(user: User, sample: Sample) -> None:
    """Who writes results and reports on *sample*: its workshop's operators for a
    self-check, inspectors and regulators for every other task source."""
    if sample.task_source is TaskSource.SELF_CHECK:
        require_self_checker(user, sample.workshop_id)
    else:
        require_role(user, *SAMPLERS, message=_(SAMPLERS_ONLY), slug="inspectors_only")


def check_time(value: datetime, field_name: str, *, not_before: datetime | None = None) -> None:
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


def check_length(name: str, value: str) -> str:
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


def _self_check_agency(by: User, kind: TestKind, batch: Batch | None, agency: str | None) -> str:
    """Check an operator's self-check (a rapid screen of one of the workshop's batches);
    its testing agency, the workshop's own unless another is named."""
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
    return agency or f"{batch.workshop.name}（作坊自检）"


def _sampled_product(batch: Batch | None, product: Product | None) -> Product:
    """The product sampled: the batch's, which *product* must agree with when both are given."""
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
    return batch.product if batch is not None else product


def _from_plan(
    plan: SamplingPlan, task_source: TaskSource | None, sampled_at: datetime, agency: str | None
) -> tuple[TaskSource, str | None]:
    """The task source and testing agency of a sample under *plan* (which must agree with
    the task source given, and whose year the sample must be taken in)."""
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
    return plan.task_source, agency or plan.testing_agency


def _check_task_source(task_source: TaskSource | None, by: User) -> TaskSource:
    """A task source is required, and a self-check is the workshop's to record."""
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
    return task_source


def _agency(testing_agency: str | None) -> str:
    """The testing agency, trimmed; required."""
    testing_agency = check_length("testing_agency", testing_agency or "")
    if not testing_agency:
        raise ValidationError(
            _("请填写检验机构。"),
            slug="testing_agency_needed",
            errors={"testing_agency": ["required"]},
        )
    return testing_agency


def _sample_no(sample_no: str | None, kind: TestKind, sampled_at: datetime) -> str:
    """The number written on the bag (free, and not a confirmation's), or the next one."""
    if not sample_no:
        return _next_sample_no(kind, sampled_at)
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
    return sample_no


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
        testing_agency = _self_check_agency(by, kind, batch, testing_agency)
    else:
        require_role(by, *SAMPLERS, message=_(SAMPLERS_ONLY), slug="inspectors_only")
    product = _sampled_product(batch, product)
    sampled_at = sampled_at or utcnow()
    check_time(sampled_at, "sampled_at")
    if plan is not None:
        task_source, testing_agency = _from_plan(plan, task_source, sampled_at, testing_agency)
    task_source = _check_task_source(task_source, by)
    sampling_place = check_length("sampling_place", sampling_place)
    station = check_length("station", station)
    testing_agency = _agency(testing_agency)
    sample = Sample(
        sample_no=_sample_no(sample_no, kind, sampled_at),
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


# -- the console's sample form ------------------------------------------------------------


@dataclass
class SamplingChoices:
    """What the sample form offers: every workshop, the products (of the chosen workshop
    once one is chosen), the plans of this year and last, and the chosen workshop's latest
    batches."""

    workshop: Workshop | None
    workshops: list[Workshop]
    products: list[Product]
    plans: list[SamplingPlan]
    batches: list[Batch]


def sampling_choices(workshop_id: int | None, *, by: User) -> SamplingChoices:
    """What an inspector or regulator may pick when recording a sample (they only)."""
    require_role(by, *SAMPLERS, message=_(SAMPLERS_ONLY), slug="inspectors_only")
    workshop = db.session.get(Workshop, workshop_id) if workshop_id and workshop_id > 0 else None
    workshops = db.session.scalars(select(Workshop).order_by(Workshop.name)).all()
    products = select(Product).join(Workshop, Product.workshop_id == Workshop.id)
    if workshop is not None:
        products = products.where(Product.workshop_id == workshop.id)
    year = utcnow().astimezone(SHANGHAI).year
    plans = db.session.scalars(
        select(SamplingPlan)
        .where(SamplingPlan.year.in_([year, year - 1]))
        .order_by(SamplingPlan.year.desc(), SamplingPlan.name)
    ).all()
    batches = (
        db.session.scalars(
            select(Batch)
            .where(Batch.workshop_id == workshop.id)
            .order_by(Batch.id.desc())
            .limit(30)
        ).all()
        if workshop is not None
        else []
    )
    return SamplingChoices(
        workshop,
        list(workshops),
        list(db.session.scalars(products.order_by(Workshop.name, Product.name)).all()),
        list(plans),
        list(batches),
    )
