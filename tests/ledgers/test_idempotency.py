"""Idempotency-Key on ledger writes: the entry, its claim and its answer are one transaction.

A write with a key commits once (entry, key and answer together), so an acknowledged entry
always has its answer and an entry whose answer could not be stored is not kept either.
The answer is the entry as stored, and a write costs a fixed, small number of statements.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import Text, cast, event, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from backend.accounts.models import IdempotencyRecord
from backend.ledgers.history import describe
from backend.ledgers.models import LedgerEntry
from miniprogram_api import idempotency
from miniprogram_api.ledgers import EntrySchema
from tests.factories import StoredFileFactory
from tests.ledgers.test_api import API, entries, valid_bodies

STATEMENTS_PER_WRITE = 6  # token+user, claim, membership+staff+lock, chain tip, entry, answer


def records(db) -> int:
    return db.session.scalar(select(func.count(IdempotencyRecord.id)))


@contextmanager
def commits():
    """Count the session commits made inside the block."""
    seen: list[int] = []

    def count(session):
        seen.append(1)

    event.listen(Session, "after_commit", count)
    try:
        yield seen
    finally:
        event.remove(Session, "after_commit", count)


@contextmanager
def statements(db):
    """The SQL statements sent inside the block (savepoints of the test's transaction aside)."""
    sent: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            sent.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def cleaning(shop):
    return f"{API}/{shop.workshop.id}/ledgers/cleaning", valid_bodies(shop)["cleaning"]


def test_a_keyed_write_commits_once_and_its_answer_is_stored(client, db, shop):
    url, body = cleaning(shop)
    with commits() as seen:
        first = client.post(url, json=body, headers={**shop.staff_headers, "Idempotency-Key": "c1"})
    assert first.status_code == 201
    assert len(seen) == 1  # the entry, the claim and the answer together
    record = db.session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.key == "c1"))
    assert record.status_code == 201 and record.response_body == first.get_json()


def test_the_answer_is_stored_as_sent_and_replayed_unchanged(client, db, shop):
    """The answer is encoded once: on PostgreSQL the stored JSON is the response's own text
    (elsewhere the same document); a replay gives the same document back."""
    url, body = cleaning(shop)
    headers = {**shop.staff_headers, "Idempotency-Key": "as-sent"}
    first = client.post(url, json=body, headers=headers)
    assert first.status_code == 201
    column = IdempotencyRecord.response_body
    text = db.session.scalar(select(cast(column, Text)).where(IdempotencyRecord.key == "as-sent"))
    if db.engine.dialect.name == "postgresql":
        assert text == first.get_data(as_text=True)
    stored = db.session.scalar(select(column).where(IdempotencyRecord.key == "as-sent"))
    assert stored == first.get_json()
    replay = client.post(url, json=body, headers=headers)
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json() == first.get_json() and entries(db) == 1


def test_if_the_answer_cannot_be_stored_the_entry_is_not_kept(client, db, shop, monkeypatch):
    url, body = cleaning(shop)
    headers = {**shop.staff_headers, "Idempotency-Key": "c2"}

    def lost(claim, response):
        raise OperationalError("UPDATE idempotency_records", {}, Exception("connection lost"))

    with monkeypatch.context() as patched:
        patched.setattr(idempotency, "_store_answer", lost)
        refused = client.post(url, json=body, headers=headers)
    assert refused.status_code == 503
    assert refused.get_json()["error"] == "database_unavailable"
    assert entries(db) == 0 and records(db) == 0  # nothing half-kept: no entry, no claim
    again = client.post(url, json=body, headers=headers)  # the phone retries: written once
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert entries(db) == 1
    replay = client.post(url, json=body, headers=headers)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json() == again.get_json() and entries(db) == 1


def test_if_the_commit_fails_nothing_is_kept(client, db, shop, monkeypatch):
    url, body = cleaning(shop)
    real_commit = Session.commit

    def failing_commit(session):
        if records_pending(session):
            raise OperationalError("COMMIT", {}, Exception("server closed the connection"))
        return real_commit(session)

    def records_pending(session):
        return session.execute(
            select(func.count(IdempotencyRecord.id)).where(IdempotencyRecord.status_code == 201)
        ).scalar()

    monkeypatch.setattr(Session, "commit", failing_commit)
    refused = client.post(url, json=body, headers={**shop.staff_headers, "Idempotency-Key": "c3"})
    monkeypatch.undo()
    assert refused.status_code == 503
    assert entries(db) == 0 and records(db) == 0


def test_a_refused_write_keeps_neither_entry_nor_key(client, db, shop):
    url, body = cleaning(shop)
    headers = {**shop.staff_headers, "Idempotency-Key": "c4"}
    other = client.post(url, json={**body, "by_staff_id": 10**9}, headers=headers)
    assert other.status_code == 422 and other.get_json()["error"] == "staff_not_found"
    bad = client.post(url, json={**body, "what": ""}, headers=headers)
    assert bad.status_code == 422
    assert entries(db) == 0 and records(db) == 0
    assert client.post(url, json=body, headers=headers).status_code == 201
    assert entries(db) == 1 and records(db) == 1


def test_an_old_claim_without_its_answer_is_still_reported(client, db, shop):
    """Claims saved by earlier versions whose answer was lost (status 0) are not rewritten."""
    url, body = cleaning(shop)
    headers = {**shop.staff_headers, "Idempotency-Key": "c5"}
    first = client.post(url, json=body, headers=headers)
    record = db.session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.key == "c5"))
    record.status_code, record.response_body = 0, {}
    db.session.flush()
    again = client.post(url, json=body, headers=headers)
    assert first.status_code == 201
    assert again.status_code == 409 and again.get_json()["error"] == "idempotency_key_unanswered"
    clash = client.post(url, json={**body, "what": "墙面"}, headers=headers)
    assert clash.status_code == 409 and clash.get_json()["error"] == "idempotency_key_reused"
    assert entries(db) == 1


@pytest.mark.parametrize("keyed", [True, False])
def test_the_answer_is_the_entry_as_stored(client, db, shop, keyed):
    """For every kind, with and without a key: the answer describes the entry just as a
    fresh read of it does (recorder, batch, lot, document, photos in their order)."""
    photos = [
        StoredFileFactory(uploaded_by_id=shop.staff_user.id, content_type="image/jpeg").id
        for _ in range(2)
    ]
    for n, (kind, body) in enumerate(valid_bodies(shop).items()):
        headers = {**shop.staff_headers, **({"Idempotency-Key": f"k-{n}"} if keyed else {})}
        answer = client.post(
            f"{API}/{shop.workshop.id}/ledgers/{kind}",
            json={**body, "photos": photos[::-1] if n % 2 else photos},
            headers=headers,
        )
        assert answer.status_code == 201, (kind, answer.get_json())
        db.session.expire_all()
        stored = EntrySchema().dump(describe(answer.get_json()["id"]))
        assert answer.get_json() == stored, kind
    entry = db.session.scalar(select(LedgerEntry).order_by(LedgerEntry.id.desc()).limit(1))
    correction = client.post(
        f"{API}/{shop.workshop.id}/ledgers/entries/{entry.id}/corrections",
        json={"reason": "写错了", "changes": {"note": "改"}},
        headers={**shop.staff_headers, **({"Idempotency-Key": "fix-1"} if keyed else {})},
    )
    assert correction.status_code == 201, correction.get_json()
    db.session.expire_all()
    assert correction.get_json() == EntrySchema().dump(describe(correction.get_json()["id"]))


def test_a_cleaning_write_costs_a_fixed_number_of_statements(client, db, shop):
    url, body = cleaning(shop)
    client.post(url, json=body, headers={**shop.staff_headers, "Idempotency-Key": "warm"})
    with statements(db) as sent:
        answer = client.post(
            url, json=body, headers={**shop.staff_headers, "Idempotency-Key": "counted"}
        )
    assert answer.status_code == 201
    assert len(sent) <= STATEMENTS_PER_WRITE, "\n".join(s.split("\n")[0] for s in sent)
