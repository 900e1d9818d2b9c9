"""The regulators' dashboard: every figure checked against a district counted by hand.

The district (built by :func:`build_district` around a given "today") is small enough to
count on paper; each expected number below says how it was counted. The same fixture
drives the console page, so the page is checked to show those very numbers.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from backend.accounts.models import Role
from backend.batches.models import AdditiveUse, BatchState
from backend.batches.states import change_state
from backend.cameras.models import Camera, CameraArea
from backend.codes.models import ScanChannel, ScanEvent, UnitCode
from backend.core.errors import Forbidden
from backend.core.time import SHANGHAI, local_today
from backend.dashboard.cameras import cameras_online
from backend.dashboard.completeness import ledger_completeness, ledger_days
from backend.dashboard.coverage import inspection_coverage
from backend.dashboard.days import Ratio
from backend.dashboard.overdue import overdue_rectifications
from backend.dashboard.overview import overview
from backend.dashboard.qualification import qualification_rate
from backend.dashboard.scans import scans_per_day
from backend.dashboard.workshops import registry_figures
from backend.inspections.models import ChecklistItem, Hazard, HazardStatus, Inspection
from backend.ledgers import checklist
from backend.ledgers.chain import append_entry
from backend.ledgers.models import Buyer, LedgerKind, RawMaterialLot, Shipment
from backend.registry.models import HealthCertificate, Staff, WorkshopStatus
from backend.samples.models import (
    Qualitative,
    Sample,
    SampleStatus,
    TaskSource,
    TestKind,
    TestResult,
    Verdict,
)
from tests.factories import (
    BatchFactory,
    CodeIssuanceFactory,
    ProductCategoryFactory,
    ProductFactory,
    SupplierFactory,
    WorkshopFactory,
    ZoneFactory,
)
from tests.support.console import console_user, logged_in, text

FIXED_TODAY = date(2026, 3, 10)  # the unit tests' "today"; the page tests use the real one
STATIC = Path(__file__).resolve().parents[2] / "static"


def beijing(day: date, hour: int, minute: int = 0) -> datetime:
    """Wall-clock time in Beijing on *day*, as an aware datetime."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


@dataclass
class District:
    """The hand-counted district: its workshops by role in the story."""

    today: date
    sidatong: object  # zone, active: keeps most ledgers
    neifang: object  # zone, upgraded: owes only cleaning
    suspended: object  # zone, suspended: owes nothing
    cancelled: object  # zone, cancelled
    outside: object  # not in the zone, active, certificate ending in 10 days
    filed_only: object  # not in the zone, filed


# -- the fixture ---------------------------------------------------------------------------


def _person(db, workshop, name, expires_on, *, active=True):
    staff = Staff(workshop_id=workshop.id, name=name, active=active)
    db.session.add(staff)
    db.session.flush()
    if expires_on is not None:
        db.session.add(
            HealthCertificate(
                staff_id=staff.id,
                cert_no=f"JKZ-{name}",
                issued_on=expires_on - timedelta(days=365),
                expires_on=expires_on,
            )
        )
        db.session.flush()
    return staff


def _note(workshop, kind, day, payload=None, hour=9, **links):
    return append_entry(
        workshop_id=workshop.id,
        kind=kind,
        payload=payload or {},
        occurred_at=beijing(day, hour),
        business_date=day,
        **links,
    )


def _inspection(db, workshop, day):
    inspection = Inspection(workshop_id=workshop.id, inspected_on=day, summary="例行检查")
    db.session.add(inspection)
    db.session.flush()
    return inspection


def _hazard(db, inspection, deadline, status=HazardStatus.OPEN):
    hazard = Hazard(
        inspection_id=inspection.id,
        workshop_id=inspection.workshop_id,
        item=ChecklistItem.SANITATION,
        description=f"地面积水（{deadline}）",
        deadline=deadline,
        status=status,
        closed_at=datetime(2020, 1, 1, tzinfo=UTC) if status is HazardStatus.CLOSED else None,
    )
    db.session.add(hazard)
    db.session.flush()
    return hazard


def _camera(db, workshop, name, *, live, enabled=True):
    db.session.add(
        Camera(
            workshop_id=workshop.id,
            area=CameraArea.PRODUCTION,
            name=name,
            stream_name=f"cam-{workshop.id}-{name}",
            stream_key="k" * 32,
            enabled=enabled,
            is_live=live,
        )
    )
    db.session.flush()


def _sample(db, number, product, sampled_at, results, *, kind=TestKind.LAB, done=True):
    """A sample with *results*: (verdict, supersedes index or None) in order."""
    sample = Sample(
        sample_no=number,
        kind=kind,
        workshop_id=product.workshop_id,
        product_id=product.id,
        task_source=TaskSource.ROUTINE if kind is TestKind.RAPID else TaskSource.DISTRICT,
        sampled_at=sampled_at,
        testing_agency="半星红酒厂实验室",
        status=SampleStatus.COMPLETED if done else SampleStatus.TESTING,
    )
    db.session.add(sample)
    db.session.flush()
    made: list[TestResult] = []
    for index, (verdict, supersedes) in enumerate(results):
        result = TestResult(
            sample_id=sample.id,
            item_code=f"item{index}",
            method="GB 5009",
            value=None if verdict is Verdict.PENDING else Decimal("0.1"),
            qualitative=Qualitative.POSITIVE if verdict is Verdict.POSITIVE_SCREEN else None,
            verdict=verdict,
            tested_at=sampled_at + timedelta(hours=1),
            supersedes_id=made[supersedes].id if supersedes is not None else None,
        )
        db.session.add(result)
        db.session.flush()
        made.append(result)
    return sample


def _scan(db, code, at):
    db.session.add(ScanEvent(code_id=code.id, scanned_at=at, channel=ScanChannel.H5))
    db.session.flush()


def build_district(db, today: date) -> District:
    """Six workshops with inspections, hazards, cameras, samples, scans and ledgers."""
    year = today.year
    valid = today + timedelta(days=400)
    zone = ZoneFactory(code="banli", name_zh="半里小作坊集中加工区")
    wine = ProductCategoryFactory(code="huangjiu", name_zh="黄酒（含红曲酒）", name_en="Huangjiu")
    tofu = ProductCategoryFactory(code="bean_products", name_zh="豆制品", name_en="Bean products")

    def shop(name, number, status, in_zone=True, until=valid, **fields):
        return WorkshopFactory(
            name=name,
            registration_no=number,
            status=status,
            zone=zone if in_zone else None,
            cert_valid_until=until,
            **fields,
        )

    d = District(
        today=today,
        sidatong=shop("四大桶红曲酒坊", "XZF-001", WorkshopStatus.ACTIVE),
        neifang=shop(
            "内坊豆腐",
            "XZF-002",
            WorkshopStatus.UPGRADED,
            licence_no="SC11535062500017",
            trademark="内坊",
        ),
        suspended=shop("停产整改坊", "XZF-003", WorkshopStatus.SUSPENDED),
        cancelled=shop("已注销坊", "XZF-004", WorkshopStatus.CANCELLED),
        outside=shop(
            "枋洋糕点坊",
            "XZF-005",
            WorkshopStatus.ACTIVE,
            in_zone=False,
            until=today + timedelta(days=10),
        ),
        filed_only=shop("岩溪面坊", "XZF-006", WorkshopStatus.FILED, in_zone=False),
    )

    # Inspections: 1 January of this year counts, 31 December of last year does not.
    jan_1, dec_31 = date(year, 1, 1), date(year - 1, 12, 31)
    at_sidatong = _inspection(db, d.sidatong, jan_1)
    at_neifang = _inspection(db, d.neifang, dec_31)
    at_suspended = _inspection(db, d.suspended, jan_1)
    _inspection(db, d.suspended, today)  # a second one this year
    _inspection(db, d.cancelled, jan_1)  # cancelled: outside the count

    # Hazards: overdue = not closed and deadline before today.
    _hazard(db, at_sidatong, today - timedelta(days=1))  # overdue by 1 day
    _hazard(db, at_suspended, today - timedelta(days=10), HazardStatus.RECTIFYING)  # by 10
    _hazard(db, at_sidatong, today)  # due today: not overdue
    _hazard(db, at_sidatong, today + timedelta(days=3))  # not yet due
    _hazard(db, at_neifang, today - timedelta(days=5), HazardStatus.CLOSED)  # closed

    # Cameras.
    _camera(db, d.sidatong, "raw", live=True)
    _camera(db, d.sidatong, "wash", live=True)
    _camera(db, d.sidatong, "line", live=False)
    _camera(db, d.neifang, "line", live=True, enabled=False)  # switched off: not online
    _camera(db, d.cancelled, "line", live=True)  # cancelled workshop: not counted

    # Samples of this year and last.
    rice_wine = ProductFactory(workshop=d.sidatong, category=wine, name="半里红曲酒")
    black_tofu = ProductFactory(
        workshop=d.neifang, category=tofu, name="坊洋黑豆腐", specification="500g"
    )
    P, F, N = Verdict.PASS, Verdict.FAIL, None
    new_year = beijing(jan_1, 0, 30)  # 16:30 UTC on 31 December: this year in Beijing
    old_year = beijing(dec_31, 23, 30)  # 15:30 UTC on 31 December: last year
    _sample(db, "S1", rice_wine, new_year, [(P, N), (P, N)])  # qualified
    _sample(db, "S2", rice_wine, new_year, [(F, N), (P, 0)])  # fail corrected to pass
    _sample(db, "S3", black_tofu, new_year, [(P, N), (F, N)])  # one item fails
    _sample(db, "S4", black_tofu, new_year, [(P, N), (F, 0)])  # pass corrected to fail
    _sample(db, "S5", black_tofu, new_year, [(P, N)], done=False)  # still testing
    _sample(db, "S6", black_tofu, new_year, [(Verdict.POSITIVE_SCREEN, N)], kind=TestKind.RAPID)
    _sample(db, "S7", black_tofu, new_year, [(P, N)], kind=TestKind.RAPID)  # rapid negative
    _sample(db, "S8", rice_wine, old_year, [(F, N)])  # last year
    _sample(db, "S9", rice_wine, new_year, [(P, N), (Verdict.PENDING, N)])  # not final
    _sample(db, "S10", black_tofu, new_year, [])  # no results

    # Scans, by Beijing date.
    batch = BatchFactory(product=rice_wine, batch_no="B-SCAN", produced_on=today)
    issuance = CodeIssuanceFactory(batch=batch, count=1)
    code = UnitCode(code="0123456789ABCDEFG", batch_id=batch.id, issuance_id=issuance.id, serial=1)
    db.session.add(code)
    db.session.flush()
    yesterday = today - timedelta(days=1)
    _scan(db, code, beijing(yesterday, 23, 30))  # 15:30 UTC: yesterday
    _scan(db, code, beijing(yesterday, 10))  # yesterday
    _scan(db, code, beijing(today, 0, 30))  # 16:30 UTC yesterday, but today in Beijing
    _scan(db, code, beijing(today - timedelta(days=29), 0))  # first day of the 30
    _scan(db, code, beijing(today - timedelta(days=30), 23, 59))  # the day before them

    _ledgers(db, d, wine)
    return d


def _ledgers(db, d: District, wine) -> None:
    """The ledgers of the two producing zone workshops (see the completeness test)."""
    today = d.today

    def day(n: int) -> date:
        return today - timedelta(days=n)

    # 内坊豆腐 has no staff, lots, batches or shipments: it owes one cleaning a day.
    for n in (0, 1, 2, 3, 20, 30, 31):
        _note(d.neifang, LedgerKind.CLEANING, day(n))

    # 四大桶: Lin always on duty; Wang's certificate ends on day 10 (valid through it);
    # Chen has left; Liu has no certificate: neither of those two is owed a check.
    s = d.sidatong
    lin = _person(db, s, "林德福", today + timedelta(days=200))
    wang = _person(db, s, "王秀英", day(10))
    _person(db, s, "陈离职", today + timedelta(days=200), active=False)
    _person(db, s, "刘无证", None)
    _person(db, d.suspended, "停产员工", today + timedelta(days=200))  # owes nothing

    def checks(*people):
        return {"checks": [{"staff_id": p.id, "staff": p.name} for p in people]}

    # Days 7 to 1.
    _note(s, LedgerKind.MORNING_CHECK, day(7), checks(lin))
    _note(s, LedgerKind.CLEANING, day(7))
    # Day 6: a lot bought, its acceptance written the day after.
    lot = RawMaterialLot(
        workshop_id=s.id,
        supplier_id=SupplierFactory().id,
        lot_no="YL-糯米",
        material_name="糯米",
        quantity=Decimal(100),
        unit="kg",
        purchased_on=day(6),
    )
    db.session.add(lot)
    db.session.flush()
    _note(s, LedgerKind.MORNING_CHECK, day(6), checks(lin))
    _note(s, LedgerKind.CLEANING, day(6))
    _note(s, LedgerKind.RAW_ACCEPTANCE, day(5), raw_lot=lot)
    # Day 5: the morning check is corrected to list nobody.
    first = _note(s, LedgerKind.MORNING_CHECK, day(5), checks(lin))
    _note(s, LedgerKind.MORNING_CHECK, day(5), {"checks": []}, hour=10, corrects=first)
    _note(s, LedgerKind.CLEANING, day(5))
    # Days 4 and 3: batch B1 in production from day 4 08:00 to day 3 17:00; its product
    # uses an additive, recorded once on day 4 (which covers day 3 too).
    product = ProductFactory(workshop=s, category=wine, name="红曲老酒")
    b1 = BatchFactory(product=product, batch_no="B1", produced_on=day(4))
    change_state(b1, BatchState.IN_PRODUCTION, at=beijing(day(4), 8))
    change_state(b1, BatchState.PENDING_RELEASE, at=beijing(day(3), 17))
    db.session.add(AdditiveUse(batch_id=b1.id, additive_name="红曲米", amount=1, unit="kg"))
    db.session.flush()
    for n in (4, 3):
        _note(s, LedgerKind.MORNING_CHECK, day(n), checks(lin))
        _note(s, LedgerKind.CLEANING, day(n))
        _note(s, LedgerKind.PRODUCTION, day(n), batch=b1)
    _note(s, LedgerKind.ADDITIVE_USE, day(4), batch=b1)
    # Day 2: a shipment without its sale entry.
    buyer = Buyer(workshop_id=s.id, name="半里便民超市")
    db.session.add(buyer)
    db.session.flush()
    shipment = Shipment(workshop_id=s.id, buyer_id=buyer.id, document_no="XS-1", shipped_on=day(2))
    db.session.add(shipment)
    db.session.flush()
    _note(s, LedgerKind.MORNING_CHECK, day(2), checks(lin))
    _note(s, LedgerKind.CLEANING, day(2))
    # Day 1: the check names Lin only by name (an old entry without staff ids); batch B2,
    # put in production by hand (no history) and produced on day 1, has its production
    # entry; a draft batch owes nothing.
    plain = ProductFactory(workshop=s, category=wine, name="米酒")
    b2 = BatchFactory(product=plain, batch_no="B2", produced_on=day(1))
    b2.state = BatchState.IN_PRODUCTION
    BatchFactory(product=plain, batch_no="B3-draft", produced_on=day(1))
    db.session.flush()
    _note(s, LedgerKind.MORNING_CHECK, day(1), {"checks": [{"staff": "林德福"}]})
    _note(s, LedgerKind.CLEANING, day(1))
    _note(s, LedgerKind.PRODUCTION, day(1), batch=b2)
    # Days 9 and 8: Wang's certificate has ended, Lin alone is owed.
    for n in (9, 8):
        _note(s, LedgerKind.MORNING_CHECK, day(n), checks(lin))
        _note(s, LedgerKind.CLEANING, day(n))
    # Day 10: Wang is still on duty (certificate valid through the day) but not checked.
    _note(s, LedgerKind.MORNING_CHECK, day(10), checks(lin))
    _note(s, LedgerKind.CLEANING, day(10))
    # Day 11: both checked.
    _note(s, LedgerKind.MORNING_CHECK, day(11), checks(lin, wang))
    _note(s, LedgerKind.CLEANING, day(11))
    # Day 12: Wang's line carries his id as text, which names nobody.
    _note(
        s,
        LedgerKind.MORNING_CHECK,
        day(12),
        {"checks": [{"staff_id": lin.id}, {"staff_id": str(wang.id), "staff": "王秀英"}]},
    )
    _note(s, LedgerKind.CLEANING, day(12))
    # Days 13 to 30: nothing recorded.


@pytest.fixture()
def district(db) -> District:
    """The hand-counted district around FIXED_TODAY."""
    return build_district(db, FIXED_TODAY)


# -- the figures ---------------------------------------------------------------------------


def test_registry_figures(district):
    result = registry_figures(FIXED_TODAY)
    # 6 workshops, 1 cancelled: 5 on file (四大桶, 内坊, 停产, 枋洋, 岩溪).
    assert result.filed == 5
    # In the zone and not cancelled: 四大桶, 内坊, 停产 (已注销 is in the zone but cancelled).
    assert result.in_zone == 3
    assert result.upgraded == 1  # 内坊豆腐
    assert result.suspended == 1  # 停产整改坊
    assert result.cert_expiring == 1  # 枋洋: ends in 10 days; the others in 400
    S = WorkshopStatus
    assert result.by_status == {
        S.FILED: 1,  # 岩溪
        S.ACTIVE: 2,  # 四大桶, 枋洋
        S.SUSPENDED: 1,
        S.CANCELLED: 1,
        S.UPGRADED: 1,
    }


def test_inspection_coverage_counts_workshops_inspected_since_1_january(district):
    coverage = inspection_coverage(FIXED_TODAY.year)
    # Whole: the 5 workshops on file. Part: 四大桶 (1 January) and 停产 (two inspections,
    # counted once). 内坊 was inspected on 31 December last year only; the cancelled
    # workshop's inspection is outside the count; 枋洋 and 岩溪 were never inspected.
    assert (coverage.part, coverage.whole) == (2, 5)
    assert coverage.percent == 40.0
    # Last year: only 内坊's 31 December inspection.
    assert inspection_coverage(FIXED_TODAY.year - 1) == Ratio(1, 5)


def test_qualification_rate_counts_final_lab_verdicts_of_this_year(district):
    rate = qualification_rate(FIXED_TODAY.year)
    # Judged: S1 (all pass), S2 (its fail superseded by a pass), S3 (one fail), S4 (a pass
    # superseded by a fail). Left out: S5 still testing, S6 and S7 rapid screens, S8
    # sampled 23:30 on 31 December last year, S9 with a pending item, S10 without results.
    # S1 was sampled at 00:30 on 1 January in Beijing (16:30 UTC the day before): it counts.
    assert (rate.overall.part, rate.overall.whole) == (2, 4)
    assert rate.overall.percent == 50.0 and rate.failed == 2
    by_code = {c.code: c for c in rate.by_category}
    assert list(by_code) == ["bean_products", "huangjiu"]
    assert by_code["huangjiu"].qualified == Ratio(2, 2)  # S1, S2
    assert by_code["bean_products"].qualified == Ratio(0, 2)  # S3, S4
    assert by_code["bean_products"].failed == 2 and by_code["bean_products"].name_zh == "豆制品"
    # Last year: S8 only, which failed.
    last = qualification_rate(FIXED_TODAY.year - 1)
    assert last.overall == Ratio(0, 1)


def test_ledger_completeness_over_the_last_7_and_30_finished_days(district):
    rows = ledger_completeness(FIXED_TODAY)
    # Listed: the zone workshops that produce, 四大桶 (active) and 内坊 (upgraded); the
    # suspended and cancelled zone workshops owe nothing, 枋洋 is outside the zone.
    assert [r.name for r in rows] == ["四大桶红曲酒坊", "内坊豆腐"]
    sidatong, neifang = rows
    # 四大桶, days 7..1: 7 ✓ (check, cleaning), 6 ✓ (lot accepted the day after),
    # 5 ✗ (check corrected to list nobody), 4 ✓ and 3 ✓ (batch B1 open: production each
    # day, the additive entry of day 4 covers both), 2 ✗ (shipment without sale entry),
    # 1 ✓ (Lin named without id; hand-made batch B2 recorded) → 5 of 7.
    assert sidatong.last_7 == Ratio(5, 7)
    # Days 30..8: 9 ✓ and 8 ✓ (Wang's certificate ended), 10 ✗ (Wang still on duty, not
    # checked), 11 ✓ (both), 12 ✗ (Wang's id given as text), 13..30 nothing → 3 more: 8/30.
    assert sidatong.last_30 == Ratio(8, 30)
    # 内坊 cleans on days 0, 1, 2, 3, 20, 30, 31: days 1-3 of the last 7 (today is not
    # over and so not counted); 1-3, 20 and 30 of the last 30 (31 is before them).
    assert neifang.last_7 == Ratio(3, 7)
    assert neifang.last_30 == Ratio(5, 30)
    assert neifang.last_30.percent == 16.7


def test_ledger_days_agree_with_the_checklist_day_by_day(district):
    first, last = FIXED_TODAY - timedelta(days=30), FIXED_TODAY - timedelta(days=1)
    days = ledger_days(first, last)
    assert len(days) == 2 * 30  # two producing zone workshops, 30 days each
    for workshop_id, day, complete in days:
        assert complete == checklist.today(workshop_id, day).complete, (workshop_id, day)
    # And the days counted by hand for 四大桶 in the last 7.
    sidatong = {
        (FIXED_TODAY - day).days: complete
        for workshop_id, day, complete in days
        if workshop_id == district.sidatong.id and (FIXED_TODAY - day).days <= 7
    }
    assert sidatong == {7: True, 6: True, 5: False, 4: True, 3: True, 2: False, 1: True}


def test_overdue_rectifications_are_open_hazards_past_their_deadline(district):
    overdue = overdue_rectifications(FIXED_TODAY)
    # 5 hazards: 1 day overdue (open), 10 days (rectifying), due today (not overdue yet),
    # due in 3 days, closed → 2 overdue, the oldest deadline first.
    assert overdue.count == 2
    assert [(h.workshop_name, h.days_overdue, h.status) for h in overdue.hazards] == [
        ("停产整改坊", 10, HazardStatus.RECTIFYING),
        ("四大桶红曲酒坊", 1, HazardStatus.OPEN),
    ]
    assert overdue.hazards[0].item_name == "环境卫生"
    # The count covers all of them even when the list is cut short.
    cut = overdue_rectifications(FIXED_TODAY, limit=1)
    assert cut.count == 2 and len(cut.hazards) == 1


def test_cameras_online_now(district):
    cameras = cameras_online()
    # Counted: 四大桶's 3 and 内坊's 1 (the cancelled workshop's camera is not).
    # Enabled: 四大桶's 3. Online: 四大桶's 2 live ones; 内坊's is live but switched off.
    assert (cameras.online, cameras.enabled, cameras.total) == (2, 3, 4)
    assert cameras.online_ratio.percent == 66.7


def test_scans_per_day_follow_the_beijing_date(district):
    days = scans_per_day(FIXED_TODAY)
    assert len(days) == 30
    assert days[0].day == FIXED_TODAY - timedelta(days=29) and days[-1].day == FIXED_TODAY
    counts = {(FIXED_TODAY - d.day).days: d.scans for d in days if d.scans}
    # Yesterday: 10:00 and 23:30 (15:30 UTC). Today: 00:30 (16:30 UTC yesterday). Day 29:
    # 00:00 exactly. The scan at 23:59 on day 30 falls before the 30 days. Others: 0.
    assert counts == {1: 2, 0: 1, 29: 1}
    assert sum(d.scans for d in days) == 4


def test_an_empty_district_gives_zeros_and_no_rates(db):
    dashboard = overview(by=console_user(), today=FIXED_TODAY)
    assert (
        dashboard.registry.filed == 0 and dashboard.registry.by_status[WorkshopStatus.ACTIVE] == 0
    )
    assert dashboard.coverage == Ratio(0, 0) and dashboard.coverage.rate is None
    assert dashboard.qualification.overall.percent is None
    assert dashboard.qualification.by_category == []
    assert dashboard.ledgers == []
    assert dashboard.overdue.count == 0 and dashboard.overdue.hazards == []
    assert (dashboard.cameras.online, dashboard.cameras.total) == (0, 0)
    assert [d.scans for d in dashboard.scans] == [0] * 30 and dashboard.scans_total == 0


def test_only_regulators_and_inspectors_see_the_dashboard(db):
    for role in (Role.REGULATOR, Role.INSPECTOR):
        assert overview(by=console_user(role), today=FIXED_TODAY).today == FIXED_TODAY
    for user in (console_user(Role.OPERATOR), None):
        with pytest.raises(Forbidden):
            overview(by=user)


# -- the page ------------------------------------------------------------------------------


def chart_data(page: str) -> dict:
    """The figures the page hands to its script."""
    match = re.search(
        r'<script type="application/json" id="dashboard-data">(.*?)</script>', page, re.S
    )
    assert match, "no data block"
    return json.loads(match.group(1))


@pytest.mark.parametrize("role", [Role.REGULATOR, Role.INSPECTOR])
def test_home_page_shows_the_figures_counted_by_hand(client, db, role):
    today = local_today()
    district = build_district(db, today)
    logged_in(client, role)
    response = client.get("/console/")
    assert response.status_code == 200
    page = text(response)
    assert "<strong>5</strong> 登记在册的作坊" in page
    assert 'data-figure="in-zone"><strong>3</strong>' in page
    assert 'data-figure="upgraded"><strong>1</strong>' in page
    assert 'data-figure="coverage"><strong>40.0%</strong>' in page and "2 / 5" in page
    assert 'data-figure="qualification"><strong>50.0%</strong>' in page and "2 / 4" in page
    assert 'data-figure="overdue"><strong>2</strong>' in page
    assert 'data-figure="cameras"><strong>2 / 3</strong>' in page
    assert 'data-figure="scans"><strong>4</strong>' in page
    # The tables behind the charts, readable without JavaScript.
    assert re.search(r"四大桶红曲酒坊</a></td>\s*<td[^>]*>5 / 7", page)
    assert re.search(r"内坊豆腐</a></td>\s*<td[^>]*>3 / 7", page)
    assert re.search(r"豆制品</td>\s*<td[^>]*>0 / 2", page)
    assert "停产整改坊" in page  # the hazard 10 days overdue
    yesterday = today - timedelta(days=1)
    assert re.search(rf"{yesterday.isoformat()}</td>\s*<td[^>]*>2<", page)
    data = chart_data(page)
    assert data["scans"]["counts"][-2:] == [2, 1] and len(data["scans"]["days"]) == 30
    assert data["ledgers"]["names"] == ["四大桶红曲酒坊", "内坊豆腐"]
    assert data["ledgers"]["last_7"] == [71.4, 42.9]
    assert data["qualification"]["rates"] == [0.0, 100.0]
    assert district.sidatong.name in page


def test_home_page_uses_only_the_apps_own_files(client, db):
    logged_in(client)
    page = text(client.get("/console/"))
    # Nothing from another host: no absolute URLs, no protocol-relative ones.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page, re.I)
    assert "https://" not in page and "http://" not in page
    scripts = re.findall(r"<script[^>]*\bsrc=\"([^\"]+)\"", page)
    assert scripts == ["/static/vendor/echarts/echarts.min.js", "/static/js/console-dashboard.js"]
    assert "<script>" not in page  # no inline script (the CSP allows none)
    for path in scripts:
        served = client.get(path)
        assert served.status_code == 200, path
        served.close()
    for name in ("LICENSE", "NOTICE", "README.md"):
        assert (STATIC / "vendor" / "echarts" / name).is_file()
    assert "5.6.0" in (STATIC / "vendor" / "echarts" / "README.md").read_text()


def test_a_visitor_who_is_not_logged_in_is_sent_to_login(client, db):
    response = client.get("/console/")
    assert response.status_code == 302
    assert "/console/login" in response.headers["Location"]
