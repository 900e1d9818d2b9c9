"""Samples and readings the tests of the sampling rules build."""

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from backend.core.time import utcnow
from backend.samples.models import (
    Qualitative,
    Sample,
    TaskSource,
    TestKind,
    TestResult,
)
from backend.samples.recording import record_sample
from backend.samples.results import ResultInput

POSITIVE = Qualitative.POSITIVE
NEGATIVE = Qualitative.NEGATIVE


def ago(**kwargs) -> datetime:
    return utcnow() - timedelta(**kwargs)


def rapid_sample(batch, by, **kwargs) -> Sample:
    return record_sample(
        by=by,
        kind=TestKind.RAPID,
        batch=batch,
        task_source=TaskSource.ROUTINE,
        testing_agency="快检车",
        sampled_at=ago(hours=2),
        **kwargs,
    )


def lab_sample(batch, by, **kwargs) -> Sample:
    kwargs.setdefault("sampled_at", ago(hours=2))
    return record_sample(
        by=by,
        kind=TestKind.LAB,
        batch=batch,
        task_source=TaskSource.DISTRICT,
        testing_agency="半星红酒厂实验室",
        **kwargs,
    )


def reading(item, value=None, qualitative=None, **kwargs) -> ResultInput:
    return ResultInput(
        item_code=item,
        method=kwargs.pop("method", "胶体金法" if qualitative else "GB 5009.28"),
        value=Decimal(str(value)) if value is not None else None,
        qualitative=qualitative,
        tested_at=kwargs.pop("tested_at", ago(hours=1)),
        **kwargs,
    )


def result_count(db) -> int:
    return db.session.scalar(select(func.count(TestResult.id)))
