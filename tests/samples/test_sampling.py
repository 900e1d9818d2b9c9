"""The quality rules: samples, results judged from the standards table, holds, lab
confirmation, releases, recalls, corrections, reports and the public announcement."""

from datetime import datetime, timedelta
from decimal import Decimal
from io import BytesIO

import pytest
from sqlalchemy import func, select

from backend.accounts.models import MemberRole
from backend.batches.models import BatchState, BatchStateChange
from backend.batches.states import change_state
from backend.core.errors import Conflict, Forbidden, NotFound, ValidationError
from backend.core.time import SHANGHAI, utcnow
from backend.files.models import StoredFile
from backend.files.storage import open_file
from backend.plans.models import SamplingPlan
from backend.registry.models import ProductCategory
from backend.samples.announcements import announcement_row, announcements, publish_sample
from backend.samples.confirmation import confirmation_of
from backend.samples.holds import batch_quality, hold_batch, recall_batch, release_batch
from backend.samples.lookup import get_sample, is_superseded
from backend.samples.models import (
    Qualitative,
    Sample,
    SampleStatus,
    TaskSource,
    TestKind,
    TestResult,
    Verdict,
)
from backend.samples.recording import record_sample
from backend.samples.reports import ReportTooLarge, attach_report
from backend.samples.results import ResultInput, record_results
from tests.factories import (
    BatchFactory,
    InspectorFactory,
    ProductFactory,
    RegulatorFactory,
    UserFactory,
    WorkshopMembershipFactory,
)

POSITIVE = Qualitative.POSITIVE
NEGATIVE = Qualitative.NEGATIVE


@pytest.fixture()
def people(db):
    """An inspector of the rapid-test vehicle, a lab inspector and a regulator."""

    class People:
        vehicle = InspectorFactory(display_name="快检车检验员")
        lab = InspectorFactory(display_name="实验室检验员")
        regulator = RegulatorFactory()

    return People


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


# -- samples -------------------------------------------------------------------------------


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


# -- results and verdicts ------------------------------------------------------------------


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


# -- reports -------------------------------------------------------------------------------


@pytest.fixture()
def uploads(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))
    return tmp_path / "uploads"


def test_only_pdf_reports_are_kept(db, wine, people, uploads, app, monkeypatch):
    batch, _ = wine
    sample = lab_sample(batch, people.lab)
    pdf = b"%PDF-1.4\n" + b"x" * 1000 + b"\n%%EOF\n"
    stored = attach_report(sample, BytesIO(pdf), "../报告 CJ.pdf", by=people.lab)
    assert sample.report_file_id == stored.id and stored.content_type == "application/pdf"
    assert stored.filename == "报告 CJ.pdf" and stored.size == len(pdf)
    with open_file(stored) as handle:
        assert handle.read() == pdf
    for bad in (b"", b"PK\x03\x04zip", b"<html>%PDF-"):
        with pytest.raises(ValidationError) as refused:
            attach_report(sample, BytesIO(bad), "x.pdf", by=people.lab)
        assert refused.value.slug == "not_a_pdf"
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", 1024)
    with pytest.raises(ReportTooLarge) as big:
        attach_report(sample, BytesIO(b"%PDF-" + b"0" * 200_000), "x.pdf", by=people.lab)
    assert big.value.status_code == 413
    assert db.session.scalar(select(func.count(StoredFile.id))) == 1
    assert [p.name for p in (uploads / ".incoming").iterdir()] == []  # no half-written file
    owner = UserFactory()
    WorkshopMembershipFactory(user=owner, workshop_id=batch.workshop_id)
    with pytest.raises(Forbidden):
        attach_report(sample, BytesIO(pdf), "x.pdf", by=owner)


# -- publication ---------------------------------------------------------------------------


def test_publishing_needs_a_completed_lab_sample_and_a_regulator(db, wine, people):
    batch, _ = wine
    rapid = rapid_sample(batch, people.vehicle)
    record_results(rapid, [reading("benzoic_acid", qualitative=NEGATIVE)], by=people.lab)
    with pytest.raises(Conflict) as screen:
        publish_sample(rapid, people.regulator)
    assert screen.value.slug == "rapid_not_published"
    lab = lab_sample(batch, people.lab)
    with pytest.raises(Conflict) as empty:
        publish_sample(lab, people.regulator)
    assert empty.value.slug == "sample_not_completed"
    record_results(lab, [reading("lead", "0.1")], by=people.lab, complete=False)
    assert lab.status is SampleStatus.TESTING
    with pytest.raises(Conflict):
        publish_sample(lab, people.regulator)
    record_results(lab, [reading("benzoic_acid", "0")], by=people.lab)
    with pytest.raises(Forbidden):
        publish_sample(lab, people.lab)
    publish_sample(lab, people.regulator)
    assert lab.published_at is not None
    with pytest.raises(Conflict) as twice:
        publish_sample(lab, people.regulator)
    assert twice.value.slug == "already_published"


def test_announcements_in_the_columns_of_the_public_notice(db, wine, people):
    batch, _ = wine
    batch.workshop.trademark = "林氏"
    good = lab_sample(batch, people.lab, sampling_place="长泰区半里乡某超市")
    record_results(good, [reading("lead", "0.05")], by=people.lab)
    bad = lab_sample(batch, people.lab)
    record_results(
        bad,
        [reading("benzoic_acid", "0.12", unit="g/kg"), reading("lead", "0.9")],
        by=people.lab,
    )
    unpublished = lab_sample(batch, people.lab)
    record_results(unpublished, [reading("lead", "0.05")], by=people.lab)
    for sample in (good, bad):
        publish_sample(sample, people.regulator)
    bad.published_at = good.published_at + timedelta(minutes=1)
    found = announcements()
    assert "仅对所抽检样品的批次和检验项目负责" in found["disclaimer"]
    assert [r["number"] for r in found["rows"]] == [bad.sample_no, good.sample_no]
    row = found["rows"][0]
    assert row["producer"] == {"name": "半里林氏红曲酒坊", "address": batch.workshop.address}
    assert row["sampled_unit"]["address"] == batch.workshop.address
    assert found["rows"][1]["sampled_unit"]["address"] == "长泰区半里乡某超市"
    assert (row["food_name"], row["specification"], row["trademark"]) == (
        "半里红曲酒",
        "500ml",
        "林氏",
    )
    assert row["production_date"] == batch.produced_on and row["batch_no"] == batch.batch_no
    # Lead (GB 2762-2022) is not yet verified: it makes no public verdict, so the good
    # sample (lead only) is "pending" and the bad one fails on benzoic acid alone.
    assert row["conclusion"] == "fail" and found["rows"][1]["conclusion"] == "pending"
    assert [(i["item"], i["result"], i["standard_value"]) for i in row["failing_items"]] == [
        ("苯甲酸及其钠盐", "0.12 g/kg", "不得使用"),
    ]
    assert row["category"]["code"] == "huangjiu"
    assert row["task_source"] == {"code": "district", "name": "区级监督抽检"}
    assert row["testing_agency"] == "半星红酒厂实验室"
    # the wine limits are unverified: the console is told, the public remarks are not
    assert row["unverified_limits"] is True and "核对" not in row["remarks"]
    console = announcement_row(bad, public=False)
    assert len(console["failing_items"]) == 2 and console["unverified_limits"] is True
    this_year = utcnow().astimezone(SHANGHAI).year
    assert len(announcements(this_year)["rows"]) == 2
    assert announcements(this_year - 1)["rows"] == []
    with pytest.raises(ValidationError):
        announcements(1800)


def test_the_announcement_uses_corrected_results(db, wine, people):
    batch, _ = wine
    sample = lab_sample(batch, people.lab)
    wrong = record_results(sample, [reading("lead", "5")], by=people.lab).results[0]
    record_results(sample, [reading("lead", "0.05", supersedes_id=wrong.id)], by=people.lab)
    publish_sample(sample, people.regulator)
    row = announcements()["rows"][0]
    # The corrected lead result is judged by an unverified limit: no public verdict.
    assert row["conclusion"] == "pending" and row["failing_items"] == []
    assert "更正" in row["remarks"]
