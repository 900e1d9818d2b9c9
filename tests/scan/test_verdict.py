"""The batch's public test verdict on the scan (the status panel's 合格 / 不合格 / 待检).

Only results judged against a verified limit decide; a positive rapid screen waits for the
lab; a standing lab fail is a fail; nothing tested is pending.
"""

from datetime import UTC, datetime
from decimal import Decimal

from backend.rules import standards
from backend.samples.models import Qualitative, Sample, TaskSource, TestKind, TestResult, Verdict
from backend.scan.caching import forget_batch
from backend.scan.story import build_view


def verdict(batch) -> dict:
    return build_view(batch.id)["verdict"]


def lead_limit(db, *, verified: bool):
    limit = standards.limit_for("huangjiu", "lead")
    limit.verified = verified
    db.session.flush()
    return limit


def add_result(db, batch, *, kind, verdict_, when, limit, supersedes=None, **reading):
    sample = Sample(
        sample_no=f"T-{kind}-{when:%d%H%M}-{verdict_}",
        kind=kind,
        workshop_id=batch.workshop_id,
        product_id=batch.product_id,
        batch_id=batch.id,
        task_source=TaskSource.DISTRICT,
        sampled_at=when,
        testing_agency="检验联盟实验室",
    )
    db.session.add(sample)
    db.session.flush()
    result = TestResult(
        sample_id=sample.id,
        standard_limit_id=limit.id,
        item_code=limit.item_code,
        verdict=verdict_,
        tested_at=when,
        supersedes_id=supersedes.id if supersedes else None,
        **reading,
    )
    db.session.add(result)
    db.session.flush()
    return result


def test_a_pass_against_an_unverified_limit_is_no_public_verdict(db, wine):
    batch, _ = wine
    lead_limit(db, verified=False)
    assert verdict(batch) == {"result": "pending", "date": None}


def test_a_pass_against_a_verified_limit_passes_with_its_day(db, wine):
    batch, _ = wine
    lead_limit(db, verified=True)
    # tested 2026-11-22 07:00 UTC, 15:00 in Shanghai
    assert verdict(batch) == {"result": "pass", "date": "2026-11-22"}


def test_the_day_is_shanghais(db, wine):
    batch, _ = wine
    limit = lead_limit(db, verified=True)
    late = datetime(2026, 11, 23, 17, 30, tzinfo=UTC)  # 2026-11-24 01:30 in Shanghai
    add_result(
        db, batch, kind=TestKind.LAB, verdict_=Verdict.PASS, when=late, limit=limit,
        value=Decimal("0.01"), unit="mg/kg",
    )  # fmt: skip
    assert verdict(batch) == {"result": "pass", "date": "2026-11-24"}


def test_nothing_tested_is_pending(db, wine):
    batch, _ = wine
    db.session.execute(TestResult.__table__.delete())
    assert verdict(batch) == {"result": "pending", "date": None}


def test_a_positive_screen_waits_for_the_lab_then_the_lab_decides(db, wine):
    batch, _ = wine
    limit = lead_limit(db, verified=True)
    screen_at = datetime(2026, 11, 25, 2, tzinfo=UTC)
    add_result(
        db, batch, kind=TestKind.RAPID, verdict_=Verdict.POSITIVE_SCREEN, when=screen_at,
        limit=limit, qualitative=Qualitative.POSITIVE,
    )  # fmt: skip
    assert verdict(batch) == {"result": "pending", "date": "2026-11-25"}

    lab_at = datetime(2026, 11, 27, 2, tzinfo=UTC)
    fail = add_result(
        db, batch, kind=TestKind.LAB, verdict_=Verdict.FAIL, when=lab_at, limit=limit,
        value=Decimal("0.9"), unit="mg/kg",
    )  # fmt: skip
    assert verdict(batch) == {"result": "fail", "date": "2026-11-27"}

    # a correction that passes supersedes the fail: the screen is answered, all passes
    add_result(
        db, batch, kind=TestKind.LAB, verdict_=Verdict.PASS, when=lab_at, limit=limit,
        value=Decimal("0.1"), unit="mg/kg", supersedes=fail,
    )  # fmt: skip
    assert verdict(batch) == {"result": "pass", "date": "2026-11-27"}


def test_a_lab_fail_against_an_unverified_limit_is_pending_not_fail(db, wine):
    batch, _ = wine
    limit = lead_limit(db, verified=False)
    add_result(
        db, batch, kind=TestKind.LAB, verdict_=Verdict.FAIL,
        when=datetime(2026, 11, 26, 2, tzinfo=UTC), limit=limit,
        value=Decimal("0.9"), unit="mg/kg",
    )  # fmt: skip
    assert verdict(batch) == {"result": "pending", "date": "2026-11-26"}


def test_the_api_carries_the_verdict(client, db, wine):
    batch, codes = wine
    lead_limit(db, verified=True)
    forget_batch(batch.id)
    body = client.get(f"/api/v1/scan/{codes[0]}").get_json()
    assert body["verdict"] == {"result": "pass", "date": "2026-11-22"}
