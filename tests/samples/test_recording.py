"""Recording samples: generated numbers, a product without a batch, plans, times, and who may."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from backend.accounts.models import MemberRole
from backend.core.errors import Conflict, Forbidden, NotFound, ValidationError
from backend.core.time import SHANGHAI, utcnow
from backend.plans.models import SamplingPlan
from backend.samples.holds import batch_quality
from backend.samples.lookup import get_sample
from backend.samples.models import (
    Sample,
    SampleStatus,
    TaskSource,
    TestKind,
)
from backend.samples.recording import record_sample
from backend.samples.results import record_results
from tests.factories import (
    ProductFactory,
    UserFactory,
    WorkshopMembershipFactory,
)
from tests.samples.builders import NEGATIVE, lab_sample, rapid_sample, reading


def test_inspectors_record_samples_with_generated_numbers(db, wine, people):
    batch, _ = wine
    first = rapid_sample(batch, people.vehicle)
    second = rapid_sample(batch, people.vehicle)
    lab = lab_sample(batch, people.regulator, sample_no="cj-2026-77")
    today = first.sampled_at.astimezone(SHANGHAI).strftime("%Y%m%d")
    assert first.sample_no == f"KJ{today}-001" and second.sample_no == f"KJ{today}-002"
    assert lab.sample_no == "CJ-2026-77"  # numbers are kept in upper case
    assert first.workshop_id == batch.workshop_id and first.product_id == batch.product_id
    assert first.status is SampleStatus.COLLECTED and first.sampled_by_id == people.vehicle.id
    with pytest.raises(Conflict) as taken:
        lab_sample(batch, people.lab, sample_no="CJ-2026-77")
    assert taken.value.slug == "sample_no_taken"
    with pytest.raises(ValidationError) as reserved:
        lab_sample(batch, people.lab, sample_no="CJ-1-FJ")
    assert reserved.value.slug == "bad_sample_no"


def test_a_sample_of_a_product_without_a_batch(db, wine, people):
    batch, _ = wine
    sample = record_sample(
        by=people.vehicle,
        kind=TestKind.RAPID,
        product=batch.product,
        task_source=TaskSource.ROUTINE,
        testing_agency="快检车",
    )
    assert sample.batch_id is None and sample.workshop_id == batch.workshop_id
    other = ProductFactory()
    with pytest.raises(ValidationError) as mismatch:
        record_sample(
            by=people.vehicle,
            kind=TestKind.RAPID,
            batch=batch,
            product=other,
            task_source=TaskSource.ROUTINE,
            testing_agency="快检车",
        )
    assert mismatch.value.slug == "product_mismatch"
    with pytest.raises(ValidationError) as neither:
        record_sample(by=people.vehicle, kind=TestKind.RAPID, task_source=TaskSource.ROUTINE)
    assert neither.value.slug == "batch_or_product_needed"


def test_a_plan_gives_task_source_and_agency_and_must_agree(db, wine, people):
    batch, _ = wine
    year = utcnow().astimezone(SHANGHAI).year
    plan = SamplingPlan(
        year=year, name="区级抽检", task_source=TaskSource.DISTRICT, testing_agency="联盟实验室"
    )
    db.session.add(plan)
    db.session.flush()
    sample = record_sample(by=people.lab, kind=TestKind.LAB, batch=batch, plan=plan)
    assert (sample.task_source, sample.testing_agency, sample.plan_id) == (
        TaskSource.DISTRICT,
        "联盟实验室",
        plan.id,
    )
    with pytest.raises(ValidationError) as clash:
        record_sample(
            by=people.lab,
            kind=TestKind.LAB,
            batch=batch,
            plan=plan,
            task_source=TaskSource.MUNICIPAL,
        )
    assert clash.value.slug == "task_source_mismatch"
    plan.year = year - 1
    with pytest.raises(ValidationError) as outside:
        record_sample(by=people.lab, kind=TestKind.LAB, batch=batch, plan=plan)
    assert outside.value.slug == "outside_plan_year"


@pytest.mark.parametrize(
    ("when", "slug"),
    [
        (timedelta(hours=-1), "time_in_future"),
        (timedelta(days=400), "time_too_old"),
        (timedelta(days=3 * 365), "time_too_old"),
    ],
)
def test_sampling_times_in_the_future_or_years_back_are_refused(db, wine, people, when, slug):
    batch, _ = wine
    with pytest.raises(ValidationError) as refused:
        record_sample(
            by=people.vehicle,
            kind=TestKind.RAPID,
            batch=batch,
            task_source=TaskSource.ROUTINE,
            testing_agency="快检车",
            sampled_at=utcnow() - when,
        )
    assert refused.value.slug == slug
    assert db.session.scalar(select(func.count(Sample.id))) == 1  # the fixture's own


def test_operators_may_not_record_samples_or_results_even_for_their_own_workshop(db, wine, people):
    batch, _ = wine
    owner = UserFactory()
    WorkshopMembershipFactory(user=owner, workshop_id=batch.workshop_id, role=MemberRole.OWNER)
    with pytest.raises(Forbidden) as refused:
        rapid_sample(batch, owner)
    assert refused.value.slug == "inspectors_only"
    sample = rapid_sample(batch, people.vehicle)
    with pytest.raises(Forbidden):
        record_results(sample, [reading("benzoic_acid", qualitative=NEGATIVE)], by=owner)
    # they may read their own workshop's samples, not another's
    assert get_sample(sample.sample_no, by=owner) is sample
    stranger = UserFactory()
    WorkshopMembershipFactory(user=stranger, role=MemberRole.OWNER)
    with pytest.raises(Forbidden):
        get_sample(sample.sample_no, by=stranger)
    with pytest.raises(Forbidden):
        batch_quality(batch, by=stranger)
    with pytest.raises(NotFound):
        get_sample("NO-SUCH-SAMPLE", by=people.lab)
