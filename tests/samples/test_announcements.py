"""Publishing lab samples and the public announcement (抽检信息公示)."""

from datetime import timedelta

import pytest

from backend.core.errors import Conflict, Forbidden, ValidationError
from backend.core.time import SHANGHAI, utcnow
from backend.samples.announcements import announcement_row, announcements, publish_sample
from backend.samples.models import (
    SampleStatus,
)
from backend.samples.results import record_results
from tests.samples.builders import NEGATIVE, lab_sample, rapid_sample, reading


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
