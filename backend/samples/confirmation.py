"""Rapid screens and their lab confirmation (复检).

A rapid result is a screen. A positive screen opens a lab-confirmation task: a lab sample
of the same batch, numbered ``<rapid sample>-FJ`` (:func:`open_confirmation`). A lab result
for the same batch and item names the screen it confirms (``confirms_id``); a screen stays
open until a standing lab result answers it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.extensions import db
from backend.samples.lookup import live_results, only_standing
from backend.samples.models import Sample, SampleStatus, TaskSource, TestKind, TestResult, Verdict

CONFIRMATION_SUFFIX = "-FJ"  # 复检: the lab sample that confirms a rapid screen
# Who tests lab-confirmation samples unless the sample is given another agency later.
LAB_AGENCY = "食品检测联盟实验室"


def awaiting_confirmation() -> set[int]:
    """Samples waiting for the lab: rapid samples with a positive screen no lab result has
    answered yet, and lab-confirmation samples not completed."""
    rapid_ids = set()
    batch_ids = db.session.scalars(
        only_standing(
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
        rapid_ids.update(screen.sample_id for screen in open_screens(batch_id))
    loose = db.session.scalars(  # screens of a product without a batch: their own task
        only_standing(
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


def open_confirmation(rapid: Sample) -> Sample:
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


def open_screens(batch_id: int) -> list[TestResult]:
    """Positive screens of the batch that no standing lab result has answered yet."""
    screens = db.session.scalars(
        only_standing(
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
        only_standing(
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


def screen_to_confirm(sample: Sample, item_code: str) -> TestResult | None:
    """The open screen a lab result on *sample* for *item_code* confirms, if any.

    The screen this sample was opened for comes first, then the latest open one of the batch.
    """
    rapid = confirmation_of(sample)
    candidates: list[TestResult] = []
    if sample.batch_id is not None:
        candidates = [s for s in open_screens(sample.batch_id) if s.item_code == item_code]
    elif rapid is not None:
        candidates = db.session.scalars(
            only_standing(
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


def standing_lab_fails(batch_id: int) -> list[TestResult]:
    """Lab fails of the batch that no correction has superseded."""
    return db.session.scalars(
        only_standing(
            select(TestResult)
            .join(Sample, TestResult.sample_id == Sample.id)
            .where(
                Sample.batch_id == batch_id,
                Sample.kind == TestKind.LAB,
                TestResult.verdict == Verdict.FAIL,
            )
        ).order_by(TestResult.id)
    ).all()
