"""Results judged from the standards table, and what they set off: holds, lab confirmation,
releases, recalls and corrections."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from backend.batches.models import BatchState, BatchStateChange
from backend.batches.states import change_state
from backend.core.errors import Conflict, Forbidden, ValidationError
from backend.core.time import utcnow
from backend.registry.models import ProductCategory
from backend.samples.confirmation import confirmation_of
from backend.samples.holds import batch_quality, hold_batch, recall_batch, release_batch
from backend.samples.lookup import is_superseded
from backend.samples.models import (
    SampleStatus,
    TaskSource,
    TestKind,
    TestResult,
    Verdict,
)
from backend.samples.recording import record_sample
from backend.samples.results import ResultInput, record_results
from tests.factories import (
    BatchFactory,
    ProductFactory,
)
from tests.samples.builders import (
    NEGATIVE,
    POSITIVE,
    ago,
    lab_sample,
    rapid_sample,
    reading,
    result_count,
)


def test_a_rapid_positive_holds_the_batch_and_opens_a_lab_confirmation(db, wine, people):
    batch, _ = wine
    sample = rapid_sample(batch, people.vehicle, sampling_place="半里加工区")
    done = record_results(
        sample,
        [
            reading("alcohol", "15.4", method="酒精计法"),
            reading("benzoic_acid", qualitative=POSITIVE, device_no="KJC-03"),
        ],
        by=people.vehicle,
    )
    alcohol, benzoic = done.results
    assert alcohol.verdict is Verdict.PASS  # 15.4 against the label's 15.0 ± 1.0
    assert benzoic.verdict is Verdict.POSITIVE_SCREEN
    assert done.held and batch.state is BatchState.HELD
    assert "苯甲酸" in batch.hold_reason and sample.sample_no in batch.hold_reason
    assert "等待实验室确认" in batch.hold_reason
    change = batch.state_changes[-1]
    assert (change.to_state, change.changed_by_id) == (BatchState.HELD, people.vehicle.id)
    task = done.confirmation
    assert task.sample_no == f"{sample.sample_no}-FJ" and task.kind is TestKind.LAB
    assert task.batch_id == batch.id and task.status is SampleStatus.COLLECTED
    assert confirmation_of(task) is sample
    assert sample.status is SampleStatus.COMPLETED
    quality = batch_quality(batch)
    assert [r.id for r in quality.open_screens] == [benzoic.id]
    assert not quality.releasable and not quality.recall_recommended
    # a second positive on the same sample reuses the task
    again = record_results(
        sample, [reading("sorbic_acid", qualitative=POSITIVE)], by=people.vehicle
    )
    assert again.confirmation.id == task.id and batch.state is BatchState.HELD
    assert batch.hold_reason.count(sample.sample_no) == 2  # the new item is added


def test_a_lab_pass_confirms_the_screen_and_the_regulator_may_release(db, wine, people):
    batch, _ = wine
    rapid = rapid_sample(batch, people.vehicle)
    screen = record_results(
        rapid, [reading("benzoic_acid", qualitative=POSITIVE)], by=people.vehicle
    )
    with pytest.raises(Conflict) as early:
        release_batch(batch, "复检合格", people.regulator)
    assert early.value.slug == "awaiting_lab_confirmation"
    lab = screen.confirmation
    confirmed = record_results(lab, [reading("benzoic_acid", "0")], by=people.lab)
    result = confirmed.results[0]
    assert result.verdict is Verdict.PASS and result.confirms_id == screen.results[0].id
    assert batch.state is BatchState.HELD  # release is the regulator's explicit act
    assert batch_quality(batch).releasable
    with pytest.raises(Forbidden) as inspector:
        release_batch(batch, "复检合格", people.lab)
    assert inspector.value.slug == "regulators_only"
    with pytest.raises(ValidationError):
        release_batch(batch, "  ", people.regulator)
    release_batch(batch, "实验室复检苯甲酸未检出，解除暂控。", people.regulator)
    assert batch.state is BatchState.RELEASED and batch.hold_reason == ""
    assert batch.state_changes[-1].changed_by_id == people.regulator.id
    with pytest.raises(Conflict):
        release_batch(batch, "again", people.regulator)


def test_a_lab_fail_marks_the_batch_for_recall_and_the_regulator_recalls(db, wine, people):
    batch, _ = wine
    rapid = rapid_sample(batch, people.vehicle)
    screen = record_results(
        rapid, [reading("benzoic_acid", qualitative=POSITIVE)], by=people.vehicle
    )
    failed = record_results(
        screen.confirmation, [reading("benzoic_acid", "0.12", unit="g/kg")], by=people.lab
    )
    assert failed.results[0].verdict is Verdict.FAIL
    assert failed.results[0].confirms_id == screen.results[0].id
    assert failed.recall_recommended and batch.state is BatchState.HELD
    assert "不合格" in batch.hold_reason and "召回" in batch.hold_reason
    with pytest.raises(Conflict) as refused:
        release_batch(batch, "想放行", people.regulator)
    assert refused.value.slug == "lab_fail_stands"
    with pytest.raises(Forbidden):
        recall_batch(batch, "实验室确认不合格", people.lab)
    recall_batch(batch, "实验室确认苯甲酸不合格，召回。", people.regulator)
    assert batch.state is BatchState.RECALLED
    assert batch.hold_reason == "实验室确认苯甲酸不合格，召回。"
    with pytest.raises(Conflict) as twice:
        recall_batch(batch, "again", people.regulator)
    assert twice.value.slug == "batch_state_conflict"


def test_a_lab_fail_on_a_released_batch_holds_it(db, wine, people):
    batch, _ = wine
    done = record_results(lab_sample(batch, people.lab), [reading("lead", "0.8")], by=people.lab)
    assert done.results[0].verdict is Verdict.FAIL and done.results[0].confirms_id is None
    assert done.held and batch.state is BatchState.HELD and done.recall_recommended
    assert done.confirmation is None


def test_a_positive_on_an_unreleased_batch_leaves_its_state(db, wine, people):
    batch, _ = wine
    fresh = BatchFactory(product=batch.product, batch_no="LIN-NEW")
    change_state(fresh, BatchState.IN_PRODUCTION)
    done = record_results(
        rapid_sample(fresh, people.vehicle),
        [reading("benzoic_acid", qualitative=POSITIVE)],
        by=people.vehicle,
    )
    assert not done.held and fresh.state is BatchState.IN_PRODUCTION
    assert done.confirmation is not None


def test_a_product_sample_positive_opens_a_task_its_lab_result_confirms(db, wine, people):
    batch, _ = wine
    rapid = record_sample(
        by=people.vehicle,
        kind=TestKind.RAPID,
        product=batch.product,
        task_source=TaskSource.ROUTINE,
        testing_agency="快检车",
        sampled_at=ago(hours=2),
    )
    screen = record_results(
        rapid, [reading("benzoic_acid", qualitative=POSITIVE)], by=people.vehicle
    )
    assert not screen.held and batch.state is BatchState.RELEASED
    confirmed = record_results(screen.confirmation, [reading("benzoic_acid", "0")], by=people.lab)
    assert confirmed.results[0].confirms_id == screen.results[0].id


@pytest.mark.parametrize(
    ("item", "value", "unit", "verdict"),
    [
        ("lead", "0.5", "mg/kg", Verdict.PASS),  # at the limit
        ("lead", "0.51", "mg/kg", Verdict.FAIL),
        ("lead", "500", "µg/kg", Verdict.PASS),  # the same, in another unit
        ("lead", "0.0006", "g/kg", Verdict.FAIL),
        ("lead", "0.3", "", Verdict.PASS),  # the limit's unit when none is given
        ("alcohol", "16.0", "%vol", Verdict.PASS),  # label 15.0 ± 1.0
        ("alcohol", "13.9", "%vol", Verdict.FAIL),
        ("benzoic_acid", "0", "g/kg", Verdict.PASS),
        ("benzoic_acid", "0.01", "g/kg", Verdict.FAIL),  # not permitted
    ],
)
def test_verdicts_come_from_the_standards_table(db, wine, people, item, value, unit, verdict):
    batch, _ = wine
    done = record_results(
        lab_sample(batch, people.lab), [reading(item, value, unit=unit)], by=people.lab
    )
    result = done.results[0]
    assert result.verdict is verdict
    assert result.standard_limit.category_code == "huangjiu"
    assert result.unit == (unit or result.standard_limit.unit)


def test_the_category_chain_finds_the_parent_limit(db, people):
    from backend.rules import standards

    standards.load_categories()
    standards.load_standards()
    product = ProductFactory(
        category=db.session.get(ProductCategory, "dried_tofu"), name="黑豆干", labelled_alcohol=None
    )
    batch = BatchFactory(product=product)
    done = record_results(
        lab_sample(batch, people.lab),
        [reading("aluminium", "120"), reading("acesulfame", "0.1")],
        by=people.lab,
    )
    aluminium, acesulfame = done.results
    assert aluminium.standard_limit.category_code == "bean_products"  # the parent's row
    assert aluminium.verdict is Verdict.FAIL and acesulfame.verdict is Verdict.PASS
    assert acesulfame.standard_limit.category_code == "dried_tofu"
    assert acesulfame.standard_limit.verified is True  # checked: 表A.1 04.04.01.02
    with pytest.raises(ValidationError) as no_label:
        record_results(lab_sample(batch, people.lab), [reading("alcohol", "15")], by=people.lab)
    assert no_label.value.slug == "no_standard_for_item"


def test_alcohol_needs_the_products_labelled_value(db, wine, people):
    batch, _ = wine
    batch.product.labelled_alcohol = None
    with pytest.raises(ValidationError) as missing:
        record_results(lab_sample(batch, people.lab), [reading("alcohol", "15")], by=people.lab)
    assert missing.value.slug == "label_value_missing"
    with pytest.raises(ValidationError) as qualitative:
        record_results(
            rapid_sample(batch, people.vehicle),
            [reading("alcohol", qualitative=NEGATIVE)],
            by=people.vehicle,
        )
    assert qualitative.value.slug == "value_needed"


@pytest.mark.parametrize(
    ("item", "slug"),
    [
        (reading("melamine", "0"), "no_standard_for_item"),
        (reading("lead", "-0.1"), "negative_value"),
        (reading("lead", "1000000"), "absurd_value"),
        (reading("alcohol", "101", unit="%vol"), "absurd_value"),
        (reading("lead", "0.0000001"), "too_many_places"),
        (reading("lead", "0.1", unit="%vol"), "unit_mismatch"),
        (reading("lead"), "reading_missing"),
        (reading("lead", "0.1", qualitative=NEGATIVE), "reading_missing"),
        (reading("sorbic_acid", qualitative=NEGATIVE, unit="g/kg"), "unit_without_value"),
        (reading("lead", "0.1", method=" "), "method_needed"),
        (reading("lead", "0.1", tested_at=utcnow() + timedelta(hours=1)), "time_in_future"),
        (reading("lead", "0.1", tested_at=ago(hours=5)), "tested_before_sampled"),
        (ResultInput(item_code="lead", method="m", value="NaN"), "bad_number"),
    ],
)
def test_bad_readings_are_refused_and_nothing_is_written(db, wine, people, item, slug):
    batch, _ = wine
    sample = lab_sample(batch, people.lab)
    before = result_count(db)
    good = reading("benzoic_acid", "0")
    with pytest.raises(ValidationError) as refused:
        record_results(sample, [good, item], by=people.lab)
    assert refused.value.slug == slug
    assert list(refused.value.errors["results"]) == ["1"]  # the second item is at fault
    assert result_count(db) == before
    assert batch.state is BatchState.RELEASED


def test_a_post_that_fails_after_a_positive_item_holds_nothing(db, wine, people):
    batch, _ = wine
    sample = rapid_sample(batch, people.vehicle)
    with pytest.raises(ValidationError):
        record_results(
            sample,
            [reading("benzoic_acid", qualitative=POSITIVE), reading("melamine", "0")],
            by=people.vehicle,
        )
    assert batch.state is BatchState.RELEASED
    assert db.session.scalar(select(func.count(BatchStateChange.id))) == 3  # the fixture's
    with pytest.raises(ValidationError) as twice:
        record_results(
            sample,
            [reading("benzoic_acid", qualitative=NEGATIVE)] * 2,
            by=people.vehicle,
        )
    assert twice.value.slug == "duplicate_item"
    with pytest.raises(ValidationError) as empty:
        record_results(sample, [], by=people.vehicle)
    assert empty.value.slug == "bad_result_count"


def test_results_are_evidence_a_correction_supersedes(db, wine, people):
    batch, _ = wine
    rapid = rapid_sample(batch, people.vehicle)
    screen = record_results(
        rapid, [reading("benzoic_acid", qualitative=POSITIVE)], by=people.vehicle
    ).results[0]
    assert batch.state is BatchState.HELD
    correction = record_results(
        rapid,
        [
            reading(
                "benzoic_acid",
                qualitative=NEGATIVE,
                supersedes_id=screen.id,
                action_taken="试剂卡批号错误，重新检测",
            )
        ],
        by=people.vehicle,
    ).results[0]
    db.session.expire_all()
    original = db.session.get(TestResult, screen.id)
    assert original.verdict is Verdict.POSITIVE_SCREEN and original.qualitative is POSITIVE
    assert correction.supersedes_id == screen.id and correction.verdict is Verdict.PASS
    assert is_superseded(screen.id) and not is_superseded(correction.id)
    quality = batch_quality(batch)
    assert quality.open_screens == [] and quality.releasable
    assert quality.superseded_ids == {screen.id}
    with pytest.raises(Conflict) as twice:
        record_results(
            rapid,
            [reading("benzoic_acid", qualitative=NEGATIVE, supersedes_id=screen.id)],
            by=people.vehicle,
        )
    assert twice.value.slug == "already_superseded"
    other = lab_sample(batch, people.lab)
    with pytest.raises(ValidationError) as elsewhere:
        record_results(
            other, [reading("benzoic_acid", "0", supersedes_id=screen.id)], by=people.lab
        )
    assert elsewhere.value.slug == "superseded_not_found"
    with pytest.raises(ValidationError) as other_item:
        record_results(
            rapid,
            [reading("sorbic_acid", qualitative=NEGATIVE, supersedes_id=correction.id)],
            by=people.vehicle,
        )
    assert other_item.value.slug == "superseded_item_mismatch"


def test_a_corrected_lab_fail_no_longer_blocks_release(db, wine, people):
    batch, _ = wine
    sample = lab_sample(batch, people.lab)
    fail = record_results(sample, [reading("lead", "5.0")], by=people.lab).results[0]
    assert batch.state is BatchState.HELD
    record_results(sample, [reading("lead", "0.05", supersedes_id=fail.id)], by=people.lab)
    quality = batch_quality(batch)
    assert not quality.recall_recommended and quality.releasable


def test_a_screen_on_a_held_batch_adds_to_the_banner(db, wine, people):
    batch, _ = wine
    hold_batch(batch, "群众投诉，暂停销售核查。", people.regulator)
    record_results(
        rapid_sample(batch, people.vehicle),
        [reading("benzoic_acid", qualitative=POSITIVE)],
        by=people.vehicle,
    )
    assert batch.hold_reason.startswith("群众投诉，暂停销售核查。\n快检")


def test_only_regulators_hold_by_hand(db, wine, people):
    batch, _ = wine
    with pytest.raises(Forbidden):
        hold_batch(batch, "核查", people.lab)
    hold_batch(batch, "核查", people.regulator)
    assert batch.state is BatchState.HELD
    with pytest.raises(Conflict) as again:
        hold_batch(batch, "核查", people.regulator)
    assert again.value.slug == "batch_state_conflict"
    release_batch(batch, "核查无问题", people.regulator)  # no screen, no fail
    assert batch.state is BatchState.RELEASED
