"""Simultaneous ledger writes on PostgreSQL, with real transactions (not the suite's one).

A retry sent while the first request is still writing waits on the key's unique index and
then replays the first answer; writes to one workshop from two phones at once are
serialised by the workshop's row lock and the hash chain stays intact. Runs on the
PostgreSQL pass (TEST_DATABASE_URL), in a throwaway database of its own on that server.
"""

from __future__ import annotations

import os
import threading
import uuid

import pytest
from sqlalchemy import func, select

from backend.extensions import db

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
    reason="needs PostgreSQL (runs on the PostgreSQL pass)",
)


@pytest.fixture()
def app():
    """An app on a database of this test's own (created, migrated, dropped)."""
    import psycopg
    from sqlalchemy.engine import make_url

    from backend.config import normalise_database_url
    from tests.faults.helpers import build_app

    server = make_url(normalise_database_url(os.environ["TEST_DATABASE_URL"]))
    name = f"yipin_idem_{uuid.uuid4().hex[:10]}"
    admin = server.set(drivername="postgresql", database="postgres")
    dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    application = None
    try:
        application = build_app(
            {"SQLALCHEMY_DATABASE_URI": server.set(database=name).render_as_string(False)}
        )
        yield application
    finally:
        if application is not None:
            with application.app_context():
                db.session.remove()
                db.engine.dispose()
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seeded(app) -> tuple[int, int, dict, dict]:
    """A workshop with a staff member and two operators' tokens (committed)."""
    from datetime import timedelta

    from backend.accounts.models import MemberRole
    from backend.accounts.tokens import issue_token
    from backend.core.time import local_today
    from tests.factories import UserFactory, WorkshopFactory, WorkshopMembershipFactory
    from tests.support.workshop_day import person

    with app.app_context():
        workshop = WorkshopFactory(name="坊洋黑豆腐坊")
        users = [UserFactory(display_name=name) for name in ("王师傅", "林老板")]
        for user in users:
            WorkshopMembershipFactory(user=user, workshop_id=workshop.id, role=MemberRole.STAFF)
        staff = person(db, workshop, "王秀英", local_today() + timedelta(days=100))
        headers = [{"Authorization": f"Bearer {issue_token(user)}"} for user in users]
        db.session.commit()
        ids = workshop.id, staff.id
        db.session.remove()
    return *ids, *headers


def body(staff_id: int, what: str) -> dict:
    from tests.support.workshop_day import now_iso

    return {
        "occurred_at": now_iso(),
        "what": what,
        "how": "清水冲洗后消毒液擦拭",
        "disinfectant": "84消毒液（1:200）",
        "by_staff_id": staff_id,
    }


@pytest.fixture()
def slow_first_write(monkeypatch):
    """The first cleaning write waits, uncommitted, until the test lets it go on."""
    from backend.ledgers import recording as ledgers
    from backend.ledgers.models import LedgerKind

    written, go_on = threading.Event(), threading.Event()
    real = ledgers.RECORDERS[LedgerKind.CLEANING]

    def recorder(workshop_id, user, data):
        entry = real(workshop_id, user, data)
        if not written.is_set():
            written.set()
            go_on.wait(10)
        return entry

    monkeypatch.setitem(ledgers.RECORDERS, LedgerKind.CLEANING, recorder)
    return written, go_on


def post_in_thread(app, url, json, headers, answers, name):
    def send():
        response = app.test_client().post(url, json=json, headers=headers)
        answers[name] = response

    thread = threading.Thread(target=send)
    thread.start()
    return thread


def test_a_retry_during_the_first_write_waits_and_replays(app, slow_first_write):
    from backend.accounts.models import IdempotencyRecord
    from backend.ledgers.models import LedgerEntry

    written, go_on = slow_first_write
    workshop_id, staff_id, headers, _ = seeded(app)
    url = f"/api/v1/workshops/{workshop_id}/ledgers/cleaning"
    sent, keyed = body(staff_id, "操作台 1"), {**headers, "Idempotency-Key": "same"}
    answers: dict = {}
    first = post_in_thread(app, url, sent, keyed, answers, "first")
    assert written.wait(10)
    retry = post_in_thread(app, url, sent, keyed, answers, "retry")
    retry.join(0.5)
    assert retry.is_alive()  # waiting on the first request's claim of the key
    go_on.set()
    first.join(10)
    retry.join(10)
    assert answers["first"].status_code == answers["retry"].status_code == 201
    assert "Idempotent-Replayed" not in answers["first"].headers
    assert answers["retry"].headers["Idempotent-Replayed"] == "true"
    assert answers["retry"].get_json() == answers["first"].get_json()
    with app.app_context():
        assert db.session.scalar(select(func.count(LedgerEntry.id))) == 1
        record = db.session.scalar(select(IdempotencyRecord))
        assert record.status_code == 201
        assert record.response_body == answers["first"].get_json()
        db.session.remove()


def test_two_phones_writing_to_one_workshop_keep_the_chain(app, slow_first_write):
    from backend.ledgers.chain import verify_chain
    from backend.ledgers.models import LedgerEntry
    from backend.registry.models import Workshop

    written, go_on = slow_first_write
    workshop_id, staff_id, first_phone, second_phone = seeded(app)
    url = f"/api/v1/workshops/{workshop_id}/ledgers/cleaning"
    answers: dict = {}
    first = post_in_thread(
        app,
        url,
        body(staff_id, "操作台 1"),
        {**first_phone, "Idempotency-Key": "a"},
        answers,
        "first",
    )
    assert written.wait(10)
    second = post_in_thread(
        app,
        url,
        body(staff_id, "地面 2"),
        {**second_phone, "Idempotency-Key": "a"},  # another user's key: no clash
        answers,
        "second",
    )
    second.join(0.5)
    assert second.is_alive()  # waiting on the workshop's row lock
    go_on.set()
    first.join(10)
    second.join(10)
    assert answers["first"].status_code == answers["second"].status_code == 201
    assert [answers[n].get_json()["seq"] for n in ("first", "second")] == [1, 2]
    assert answers["second"].get_json()["prev_hash"] == answers["first"].get_json()["entry_hash"]
    with app.app_context():
        assert db.session.scalar(select(func.count(LedgerEntry.id))) == 2
        assert verify_chain(db.session.get(Workshop, workshop_id)).ok
        db.session.remove()
