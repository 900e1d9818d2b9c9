from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text

from backend.core.errors import Conflict, ValidationError
from backend.ledgers.chain import (
    RETAIN_AFTER_SHELF_LIFE,
    RETAIN_WITHOUT_SHELF_LIFE,
    append_entry,
    compute_hash,
    verify_chain,
)
from backend.ledgers.models import LedgerKind
from tests.factories import BatchFactory, WorkshopFactory

WHEN = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)  # 07:30 on the 21st in Shanghai


def morning_check(workshop, n, **extra):
    return append_entry(
        workshop_id=workshop.id,
        kind=LedgerKind.MORNING_CHECK,
        payload={"checks": [{"staff": "林秀英", "temperature": 36.5 + n / 10}]},
        occurred_at=WHEN + timedelta(hours=n),
        **extra,
    )


def test_entries_form_a_hash_chain(db):
    workshop = WorkshopFactory()
    first, second, third = (morning_check(workshop, n) for n in range(3))
    assert [e.seq for e in (first, second, third)] == [1, 2, 3]
    assert first.prev_hash is None
    assert second.prev_hash == first.entry_hash and third.prev_hash == second.entry_hash
    assert all(len(e.entry_hash) == 64 for e in (first, second, third))
    result = verify_chain(workshop)
    assert result.ok and result.entries == 3


def test_chains_are_per_workshop(db):
    a, b = WorkshopFactory(), WorkshopFactory()
    morning_check(a, 0)
    entry_b = morning_check(b, 0)
    assert entry_b.seq == 1 and entry_b.prev_hash is None


def test_hash_survives_the_database_round_trip(db):
    workshop = WorkshopFactory()
    entry = morning_check(workshop, 0)
    stored_hash = entry.entry_hash
    db.session.expire_all()
    reloaded = db.session.get(type(entry), entry.id)
    assert compute_hash(reloaded) == stored_hash
    assert reloaded.occurred_at == WHEN


def test_tampering_is_detected(db, runner):
    workshop = WorkshopFactory()
    entries = [morning_check(workshop, n) for n in range(3)]
    db.session.execute(
        text("UPDATE ledger_entries SET payload = :p WHERE id = :id"),
        {"p": '{"checks": []}', "id": entries[1].id},
    )
    db.session.expire_all()
    result = verify_chain(workshop)
    assert not result.ok
    assert result.broken_at_seq == 2
    assert "hash" in result.reason

    outcome = runner.invoke(args=["ledger", "verify", "--workshop", workshop.registration_no])
    assert outcome.exit_code == 1
    assert "BROKEN at entry 2" in outcome.output


def test_verify_command_reports_intact_chains_and_unknown_workshops(db, runner):
    workshop = WorkshopFactory()
    morning_check(workshop, 0)
    ok = runner.invoke(args=["ledger", "verify", "--workshop", workshop.registration_no])
    assert ok.exit_code == 0, ok.output
    assert "1 entries, chain intact" in ok.output
    unknown = runner.invoke(args=["ledger", "verify", "--workshop", "NO-SUCH"])
    assert unknown.exit_code != 0
    assert "NO-SUCH" in unknown.output and "Traceback" not in unknown.output


def test_a_correction_is_a_new_entry_naming_the_old_one(db):
    workshop = WorkshopFactory()
    wrong = morning_check(workshop, 0)
    fixed = morning_check(workshop, 1, corrects=wrong)
    assert fixed.corrects_id == wrong.id and fixed.seq == 2
    assert wrong.payload["checks"][0]["temperature"] == 36.5  # the original stays
    assert verify_chain(workshop).ok

    other = WorkshopFactory()
    with pytest.raises(ValidationError):
        morning_check(other, 0, corrects=wrong)


def test_an_idempotency_key_returns_the_first_entry(db):
    workshop = WorkshopFactory()
    first = morning_check(workshop, 0, idempotency_key="k-1")
    again = morning_check(workshop, 0, idempotency_key="k-1")
    assert again.id == first.id
    with pytest.raises(Conflict):
        morning_check(workshop, 5, idempotency_key="k-1")  # same key, other content


def test_entries_link_only_to_their_own_workshop(db):
    batch = BatchFactory()
    stranger = WorkshopFactory()
    with pytest.raises(ValidationError):
        append_entry(
            workshop_id=stranger.id,
            kind=LedgerKind.PRODUCTION,
            payload={"batch_no": batch.batch_no},
            occurred_at=WHEN,
            batch=batch,
        )


def test_retention_follows_food_safety_law_article_50(db):
    batch = BatchFactory(produced_on=date(2026, 11, 1), expires_on=date(2026, 11, 4))
    with_shelf_life = append_entry(
        workshop_id=batch.workshop_id,
        kind=LedgerKind.PRODUCTION,
        payload={"batch_no": batch.batch_no},
        occurred_at=WHEN,
        business_date=date(2026, 11, 1),
        batch=batch,
    )
    assert with_shelf_life.retain_until == date(2026, 11, 4) + timedelta(
        days=RETAIN_AFTER_SHELF_LIFE
    )
    no_shelf_life = morning_check(batch.workshop, 1)
    assert no_shelf_life.retain_until == no_shelf_life.business_date + timedelta(
        days=RETAIN_WITHOUT_SHELF_LIFE
    )
