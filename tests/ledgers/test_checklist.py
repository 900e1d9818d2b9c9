"""Today's checklist: what a workshop owes on one local day, and what is done."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from backend.batches.models import AdditiveUse, BatchState
from backend.batches.states import change_state
from backend.core.time import SHANGHAI
from backend.ledgers import checklist
from backend.ledgers.chain import append_entry
from backend.ledgers.models import Buyer, LedgerKind, RawMaterialLot, Shipment
from backend.registry.models import HealthCertificate, Staff, WorkshopStatus
from tests.factories import BatchFactory, ProductFactory, SupplierFactory, WorkshopFactory

DAY = date(2026, 11, 26)


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


def person(db, workshop, name, expires_on, *, active=True):
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


def note(workshop, kind, when, payload=None, **links):
    return append_entry(
        workshop_id=workshop.id,
        kind=kind,
        payload=payload or {},
        occurred_at=when,
        business_date=when.astimezone(SHANGHAI).date(),
        **links,
    )


def lot_for(db, workshop, day, lot_no="YL-1"):
    lot = RawMaterialLot(
        workshop_id=workshop.id,
        supplier_id=SupplierFactory().id,
        lot_no=lot_no,
        material_name="黑豆",
        quantity=Decimal(100),
        unit="kg",
        purchased_on=day,
    )
    db.session.add(lot)
    db.session.flush()
    return lot


def by_kind(result, kind):
    return [i for i in result.items if i.kind == kind]


def test_a_quiet_day_owes_the_morning_check_of_staff_on_duty_and_cleaning(db):
    workshop = WorkshopFactory()
    lin = person(db, workshop, "林德福", DAY + timedelta(days=100))
    person(db, workshop, "陈过期", DAY - timedelta(days=1))  # expired: not on duty
    person(db, workshop, "无证者", None)  # no certificate: not on duty
    person(db, workshop, "离职者", DAY + timedelta(days=100), active=False)
    person(db, workshop, "今天到期", DAY)  # valid through its expiry date

    result = checklist.today(workshop.id, DAY)

    assert [(i.kind, i.subject) for i in result.items] == [
        ("morning_check", "林德福"),
        ("morning_check", "今天到期"),
        ("cleaning", ""),
    ]
    assert not result.complete
    assert len(result.missing) == 3
    assert result.items[0].subject_id == lin.id
    assert result.items[0]["done"] is False  # items read as keys too

    check = note(
        workshop,
        LedgerKind.MORNING_CHECK,
        at(DAY, 7),
        {"checks": [{"staff_id": lin.id, "staff": "林德福", "fit_for_work": True}]},
    )
    clean = note(workshop, LedgerKind.CLEANING, at(DAY, 18), {"what": "地面"})
    result = checklist.today(workshop.id, DAY)
    assert [(i.subject, i.done, i.entry_id) for i in result.items] == [
        ("林德福", True, check.id),
        ("今天到期", False, None),
        ("", True, clean.id),
    ]
    assert [i.subject for i in result.missing] == ["今天到期"]
    plain = result.to_dict()
    assert plain["day"] == "2026-11-26" and plain["complete"] is False
    assert plain["missing"][0]["kind"] == "morning_check"


def test_entries_of_another_day_do_not_count_and_local_day_decides(db):
    workshop = WorkshopFactory()
    # 23:30 in Shanghai on the 25th is 15:30 UTC: it belongs to the 25th.
    note(workshop, LedgerKind.CLEANING, datetime(2026, 11, 25, 15, 30, tzinfo=UTC))
    assert not checklist.today(workshop.id, DAY).complete
    # 00:30 in Shanghai on the 26th is still the 25th in UTC: it belongs to the 26th.
    note(workshop, LedgerKind.CLEANING, datetime(2026, 11, 25, 16, 30, tzinfo=UTC))
    assert checklist.today(workshop.id, DAY).complete


def test_morning_checks_by_name_count_for_entries_without_staff_ids(db):
    workshop = WorkshopFactory()
    person(db, workshop, "林德福", DAY + timedelta(days=10))
    note(workshop, LedgerKind.MORNING_CHECK, at(DAY, 7), {"checks": [{"staff": "林德福"}]})
    assert by_kind(checklist.today(workshop.id, DAY), "morning_check")[0].done


def test_a_corrected_entry_gives_way_to_its_correction(db):
    workshop = WorkshopFactory()
    lin = person(db, workshop, "林德福", DAY + timedelta(days=10))
    wang = person(db, workshop, "王秀英", DAY + timedelta(days=10))
    first = note(
        workshop,
        LedgerKind.MORNING_CHECK,
        at(DAY, 7),
        {"checks": [{"staff_id": lin.id}, {"staff_id": wang.id}]},
    )
    assert all(i.done for i in by_kind(checklist.today(workshop.id, DAY), "morning_check"))
    # The correction says Wang was not checked after all: only Lin is done.
    fix = note(
        workshop,
        LedgerKind.MORNING_CHECK,
        at(DAY, 8),
        {"checks": [{"staff_id": lin.id}]},
        corrects=first,
    )
    items = by_kind(checklist.today(workshop.id, DAY), "morning_check")
    assert [(i.subject, i.done, i.entry_id) for i in items] == [
        ("林德福", True, fix.id),
        ("王秀英", False, None),
    ]


def test_deliveries_open_batches_additives_and_sales(db):
    workshop = WorkshopFactory()
    product = ProductFactory(workshop=workshop)
    lot = lot_for(db, workshop, DAY)
    lot_for(db, workshop, DAY - timedelta(days=1), "YL-old")  # another day: not due
    batch = BatchFactory(product=product, batch_no="B-OPEN", produced_on=DAY)
    change_state(batch, BatchState.IN_PRODUCTION, at=at(DAY, 8))
    draft = BatchFactory(product=product, batch_no="B-DRAFT", produced_on=DAY)
    buyer = Buyer(workshop_id=workshop.id, name="半里便民超市")
    db.session.add(buyer)
    db.session.flush()
    shipment = Shipment(
        workshop_id=workshop.id, buyer_id=buyer.id, document_no="XS-1", shipped_on=DAY
    )
    db.session.add(shipment)
    db.session.flush()

    result = checklist.today(workshop.id, DAY)
    assert [(i.kind, i.subject, i.done) for i in result.items] == [
        ("raw_acceptance", "YL-1", False),
        ("production", "B-OPEN", False),
        ("cleaning", "", False),
        ("sale", "XS-1", False),
    ]
    assert draft.batch_no not in {i.subject for i in result.items}

    # Once a batch of the product used an additive, open batches owe an additive record.
    db.session.add(
        AdditiveUse(batch_id=draft.id, additive_name="葡萄糖酸-δ-内酯", amount=1, unit="kg")
    )
    db.session.flush()
    assert ("additive_use", "B-OPEN", False) in [
        (i.kind, i.subject, i.done) for i in checklist.today(workshop.id, DAY).items
    ]

    note(workshop, LedgerKind.RAW_ACCEPTANCE, at(DAY, 7), raw_lot=lot)
    note(workshop, LedgerKind.PRODUCTION, at(DAY, 9), batch=batch)
    note(workshop, LedgerKind.ADDITIVE_USE, at(DAY, 9), batch=batch)
    note(workshop, LedgerKind.CLEANING, at(DAY, 18))
    note(workshop, LedgerKind.SALE, at(DAY, 14), shipment=shipment)
    result = checklist.today(workshop.id, DAY)
    assert result.complete and result.missing == []
    assert all(i.entry_id for i in result.items)


def test_open_batches_follow_the_state_history(db):
    workshop = WorkshopFactory()
    product = ProductFactory(workshop=workshop)
    batch = BatchFactory(product=product, batch_no="B-HIST", produced_on=DAY)
    change_state(batch, BatchState.IN_PRODUCTION, at=at(DAY, 8))
    change_state(batch, BatchState.PENDING_RELEASE, at=at(DAY + timedelta(days=2), 17))
    before, during, last, after = (DAY + timedelta(days=n) for n in (-1, 1, 2, 3))
    assert checklist.open_batches(workshop.id, before) == []
    assert checklist.open_batches(workshop.id, DAY) == [batch]
    assert checklist.open_batches(workshop.id, during) == [batch]
    assert checklist.open_batches(workshop.id, last) == [batch]
    assert checklist.open_batches(workshop.id, after) == []
    # A batch put in production by hand, without history, counts from its production day.
    manual = BatchFactory(product=product, batch_no="B-HAND", produced_on=DAY)
    manual.state = BatchState.IN_PRODUCTION
    db.session.flush()
    assert manual in checklist.open_batches(workshop.id, DAY)
    assert manual not in checklist.open_batches(workshop.id, before)


def test_workshops_that_do_not_produce_owe_nothing(db):
    for status in (WorkshopStatus.FILED, WorkshopStatus.SUSPENDED, WorkshopStatus.CANCELLED):
        workshop = WorkshopFactory(status=status)
        person(db, workshop, "林德福", DAY + timedelta(days=10))
        result = checklist.today(workshop.id, DAY)
        assert result.items == [] and result.complete
    assert checklist.today(999_999, DAY).complete


def test_other_workshops_entries_do_not_count(db):
    mine, theirs = WorkshopFactory(), WorkshopFactory()
    note(theirs, LedgerKind.CLEANING, at(DAY, 18))
    assert not checklist.today(mine.id, DAY).complete
