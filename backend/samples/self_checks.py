"""A workshop's own check (作坊自检): recorded by its operators, never by inspectors or
regulators.

A self-check is a rapid screen of one of the workshop's batches, judged by the same
standards table and holding the batch on a positive like any other screen; the lab
confirmation it opens is the inspection alliance's.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select

from backend.accounts.models import User
from backend.batches.models import Batch
from backend.core.errors import ValidationError
from backend.core.i18n import gettext as _
from backend.extensions import db
from backend.samples.models import TaskSource, TestKind
from backend.samples.recording import record_sample, require_self_checker
from backend.samples.results import Recorded, ResultInput, record_results


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
