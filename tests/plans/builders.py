"""Plans, samples and readings the tests of sampling plans build."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from backend.core.time import SHANGHAI, utcnow
from backend.plans.checks import PlanInput
from backend.samples.models import Sample, TestKind
from backend.samples.recording import record_sample
from backend.samples.results import ResultInput


def this_year() -> int:
    """The year (Asia/Shanghai) of samples taken two hours ago."""
    return (utcnow() - timedelta(hours=2)).astimezone(SHANGHAI).year


def plan_input(**overrides) -> PlanInput:
    """A valid plan for this year."""
    values = {
        "year": this_year(),
        "quarter": None,
        "name": "区级食品安全监督抽检",
        "task_source": "district",
        "testing_agency": "检验联盟实验室",
        "notes": "",
    }
    values.update(overrides)
    return PlanInput(**values)


def count(db, model) -> int:
    """How many rows *model* has."""
    return db.session.scalar(select(func.count()).select_from(model))


def take(site, product, *, plan, kind=TestKind.LAB) -> Sample:
    """A sample of *product* taken two hours ago under *plan*."""
    return record_sample(
        by=site.inspector,
        kind=kind,
        product=product,
        plan=plan,
        sampled_at=utcnow() - timedelta(hours=2),
    )


def lead(value: str, **kwargs) -> ResultInput:
    """A lab reading of lead (limit 0.5 mg/kg)."""
    return ResultInput(
        item_code="lead",
        method="GB 5009.12",
        value=Decimal(value),
        tested_at=utcnow() - timedelta(hours=1),
        **kwargs,
    )
