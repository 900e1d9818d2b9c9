"""The cleaning write's one access statement, and the chain lock it leaves held.

``write_lock.lock_for_operator`` checks the caller's membership, finds the person named and
locks the workshop's row in one statement; the refusals are those of the other writes, in
the same order, and a refused write stores nothing. ``append_entry`` takes the lock itself
unless this very transaction already holds it.
"""

from __future__ import annotations

from sqlalchemy import func, select

from backend.accounts.models import IdempotencyRecord
from backend.ledgers import chain as ledger
from backend.ledgers.models import LedgerEntry
from tests.factories import UserFactory, WorkshopMembershipFactory
from tests.ledgers.test_api import API, valid_bodies
from tests.support.workshop_day import bearer, person


def stored(db) -> tuple[int, int]:
    entries = db.session.scalar(select(func.count(LedgerEntry.id)))
    return entries, db.session.scalar(select(func.count(IdempotencyRecord.id)))


def test_a_cleaning_by_another_workshops_person_is_refused_and_stores_nothing(client, db, shop):
    from backend.core.time import local_today

    elsewhere = person(db, shop.other, "外坊人员", local_today())
    db.session.commit()
    body = {**valid_bodies(shop)["cleaning"], "by_staff_id": elsewhere.id}
    answer = client.post(
        f"{API}/{shop.workshop.id}/ledgers/cleaning",
        json=body,
        headers={**shop.staff_headers, "Idempotency-Key": "other-person"},
    )
    assert answer.status_code == 422 and answer.get_json()["error"] == "staff_not_found"
    assert answer.get_json()["errors"] == {"by_staff_id": ["not staff here"]}
    assert stored(db) == (0, 0)


def test_cleaning_refusals_keep_their_order(client, db, shop):
    url = f"{API}/{shop.workshop.id}/ledgers/cleaning"
    body = valid_bodies(shop)["cleaning"]
    late = {**body, "occurred_at": "2000-01-01T08:00:00+08:00", "by_staff_id": 10**9}
    # membership first: a stranger is refused before the time or the person is looked at
    stranger = client.post(url, json=late, headers=shop.other_headers)
    assert stranger.status_code == 403 and stranger.get_json()["error"] == "not_your_workshop"
    # then the times, then the person
    too_old = client.post(url, json=late, headers=shop.staff_headers)
    assert too_old.status_code == 422 and too_old.get_json()["error"] == "time_too_old"
    regulator = client.post(url, json=body, headers=shop.regulator_headers)
    assert regulator.status_code == 403 and regulator.get_json()["error"] == "operators_only"
    nowhere = client.post(f"{API}/999999/ledgers/cleaning", json=body, headers=shop.staff_headers)
    assert nowhere.status_code == 403 and nowhere.get_json()["error"] == "not_your_workshop"
    assert stored(db) == (0, 0)


def test_an_inactive_membership_is_refused(client, db, shop):
    user = UserFactory(display_name="离职员工")
    WorkshopMembershipFactory(user=user, workshop_id=shop.workshop.id, active=False)
    db.session.commit()
    answer = client.post(
        f"{API}/{shop.workshop.id}/ledgers/cleaning",
        json=valid_bodies(shop)["cleaning"],
        headers=bearer(user),
    )
    assert answer.status_code == 403 and answer.get_json()["error"] == "not_your_workshop"


def test_the_lock_is_remembered_only_by_the_transaction_that_took_it(db, shop):
    ledger._lock_workshop(shop.workshop.id)
    assert ledger._holds_lock(shop.workshop.id)
    assert not ledger._holds_lock(shop.other.id)
    db.session.commit()
    assert not ledger._holds_lock(shop.workshop.id)  # a new transaction locks again
    db.session.execute(select(1))
    ledger.note_locked(shop.workshop.id)
    db.session.rollback()
    assert not ledger._holds_lock(shop.workshop.id)
