"""Publishing results of sampling (抽检信息公示): the completed lab samples that may be
published, publishing a chosen set (all or none, audited), and the announcement as the
public reads it (see :func:`backend.samples.announcements.publish_sample`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.accounts.models import Role, User
from backend.accounts.permissions import require_role
from backend.audit.log import record
from backend.core.errors import DomainError, ValidationError, refuse
from backend.core.i18n import gettext as _
from backend.core.time import SHANGHAI
from backend.extensions import db
from backend.plans.checks import MAX_ID, REGULATORS_ONLY, STAFF, STAFF_ONLY, Errors
from backend.registry.models import Product
from backend.samples.announcements import announcement_row, announcements, publish_sample
from backend.samples.lookup import live_results
from backend.samples.models import Sample, SampleStatus, TestKind, TestResult, Verdict

MAX_PUBLISH = 500  # samples published in one go, at most


@dataclass
class Candidate:
    """A completed lab sample not yet published, what stands in its way (if anything), and
    its row as the announcement would show it."""

    sample: Sample
    row: dict
    blocker: str = ""


@dataclass
class PublicationFilter:
    """Which candidates to list; None does not narrow."""

    plan_id: int | None = None
    year: int | None = None


def _announcement_options():
    """What announcement rows read, loaded up front."""
    return (
        selectinload(Sample.workshop),
        selectinload(Sample.product).selectinload(Product.category),
        selectinload(Sample.product).selectinload(Product.brand),
        selectinload(Sample.batch),
        selectinload(Sample.results).selectinload(TestResult.standard_limit),
    )


def _year_bounds(year: int) -> tuple[datetime, datetime]:
    """The start of *year* and of the next, in Asia/Shanghai."""
    start = datetime(year, 1, 1, tzinfo=SHANGHAI)
    return start, start.replace(year=year + 1)


def blocker(sample: Sample) -> str:
    """Why *sample* cannot be published now ("" when it can)."""
    if sample.kind is not TestKind.LAB:
        return _("快检结果不予公示，只公示实验室检验结果。")
    if sample.status is not SampleStatus.COMPLETED or not sample.results:
        return _("样品检验尚未完成，不能公示。")
    if sample.published_at is not None:
        return _("该样品已公示。")
    if any(r.verdict is Verdict.PENDING for r in live_results(sample)):
        return _("尚有检验项目的结果待判定，不能公示。")
    return ""


def candidates(filters: PublicationFilter, *, by: User) -> list[Candidate]:
    """Completed lab samples not yet published (of a plan, of a year), oldest first, each
    with its announcement row and what would refuse it."""
    require_role(by, *STAFF, message=_(STAFF_ONLY), slug="staff_only")
    query = select(Sample).where(
        Sample.kind == TestKind.LAB,
        Sample.status == SampleStatus.COMPLETED,
        Sample.published_at.is_(None),
    )
    if filters.plan_id is not None:
        query = query.where(Sample.plan_id == filters.plan_id)
    if filters.year is not None:
        start, end = _year_bounds(filters.year)
        query = query.where(Sample.sampled_at >= start, Sample.sampled_at < end)
    found = db.session.scalars(
        query.options(*_announcement_options()).order_by(Sample.sampled_at, Sample.sample_no)
    ).all()
    return [Candidate(s, announcement_row(s, public=False), blocker(s)) for s in found]


def _sample_ids(values) -> tuple[list[int], list[str]]:
    """The chosen ids as numbers (once each), and the values that are not ids."""
    ids, bad = [], []
    for value in values:
        text = str(value).strip()
        if text.isdigit() and 0 < int(text) <= MAX_ID:
            if int(text) not in ids:
                ids.append(int(text))
        else:
            bad.append(text[:20])
    return ids, bad


def publish(sample_ids, *, by: User) -> list[Sample]:
    """Publish the chosen samples in the sampling announcement (regulators only).

    All of them or none: any unknown id, or any sample that may not be published (a rapid
    sample, one not completed, one with a result still to be judged, one already
    published) refuses the lot, each reason under ``sample_ids``.
    """
    require_role(by, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    ids, bad = _sample_ids(sample_ids)
    errors = Errors()
    if not ids and not bad:
        errors.add("sample_ids", _("请至少选择一个样品。"))
    if len(ids) + len(bad) > MAX_PUBLISH:
        errors.add("sample_ids", _("每次最多公示 %(max)d 个样品。", max=MAX_PUBLISH))
        refuse(errors, "plan_invalid")
    for value in bad:
        errors.add("sample_ids", _("未知的样品：%(id)s。", id=value))
    samples = (
        db.session.scalars(
            select(Sample).where(Sample.id.in_(ids)).options(*_announcement_options())
        ).all()
        if ids
        else []
    )
    known = {s.id: s for s in samples}
    for missing in (i for i in ids if i not in known):
        errors.add("sample_ids", _("未知的样品：%(id)s。", id=missing))
    ordered = [known[i] for i in ids if i in known]
    for sample in ordered:
        reason = blocker(sample)
        if reason:
            errors.add("sample_ids", f"{sample.sample_no}：{reason}")
    refuse(errors, "plan_invalid")
    for sample in ordered:
        try:
            publish_sample(sample, by)
        except DomainError as exc:  # a rule of publish_sample this module does not know yet
            raise ValidationError(
                exc.message,
                slug="plan_invalid",
                errors={"sample_ids": [f"{sample.sample_no}：{exc.message}"]},
            ) from None
        record(
            "sample.published",
            "sample",
            sample.id,
            actor=by,
            sample_no=sample.sample_no,
            plan_id=sample.plan_id,
        )
    return ordered


@dataclass
class Published:
    """The announcement as the public reads it: rows and the disclaimer."""

    year: int | None
    rows: list[dict] = field(default_factory=list)
    disclaimer: str = ""


def published(year: int | None, *, by: User) -> Published:
    """What the public announcement shows for *year* (every year when None)."""
    require_role(by, *STAFF, message=_(STAFF_ONLY), slug="staff_only")
    found = announcements(year)
    return Published(year, found["rows"], found["disclaimer"])
