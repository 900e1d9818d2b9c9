"""PostgreSQL stopped and started again while operators write ledger entries.

A private throwaway cluster (initdb and pg_ctl in a temporary directory, on a free loopback
port) serves the app; a client writes cleaning records, each with its own Idempotency-Key,
retrying as it is told. While the database is away the answers are 503 in the one error
shape with Retry-After; after it is back every acknowledged entry is there exactly once and
the workshop's hash chain still verifies. Runs on the PostgreSQL pass of the suite
(TEST_DATABASE_URL), skipped on SQLite runs.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.extensions import db
from tests.faults.helpers import PrivatePostgres, build_app

WRITES = 60

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
    reason="needs PostgreSQL (runs on the PostgreSQL pass)",
)


@pytest.fixture()
def cluster():
    """A private cluster, started; deleted after the test."""
    server = PrivatePostgres()
    try:
        server.start()
        yield server
    finally:
        server.remove()


def seeded(app) -> tuple[int, int, dict]:
    """A workshop with a staff member and an operator's token (committed)."""
    from backend.accounts.models import MemberRole
    from backend.accounts.tokens import issue_token
    from backend.core.time import local_today
    from tests.factories import UserFactory, WorkshopFactory, WorkshopMembershipFactory
    from tests.support.workshop_day import person

    with app.app_context():
        workshop = WorkshopFactory(name="坊洋黑豆腐坊")
        user = UserFactory(display_name="王师傅")
        WorkshopMembershipFactory(user=user, workshop_id=workshop.id, role=MemberRole.STAFF)
        staff = person(db, workshop, "王秀英", local_today() + timedelta(days=100))
        headers = {"Authorization": f"Bearer {issue_token(user)}"}
        db.session.commit()
        ids = workshop.id, staff.id
        db.session.remove()
    return *ids, headers


def test_ledger_writes_survive_a_database_restart(cluster):
    from backend.ledgers.models import LedgerEntry
    from backend.registry.models import Workshop
    from tests.support.workshop_day import now_iso

    app = build_app({"SQLALCHEMY_DATABASE_URI": cluster.url})
    workshop_id, staff_id, headers = seeded(app)
    client = app.test_client()
    url = f"/api/v1/workshops/{workshop_id}/ledgers/cleaning"
    acknowledged: dict[str, int] = {}
    unanswered: set[str] = set()
    unavailable: list[dict] = []
    problems: list[str] = []
    halfway = threading.Event()

    def writer():
        for n in range(WRITES):
            key = f"clean-{n}"
            body = {
                "occurred_at": now_iso(),
                "what": f"操作台 {n}",
                "how": "清水冲洗后消毒液擦拭",
                "disinfectant": "84消毒液（1:200）",
                "by_staff_id": staff_id,
            }
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                response = client.post(url, json=body, headers={**headers, "Idempotency-Key": key})
                answer = response.get_json(silent=True) or {}
                if response.status_code == 201:
                    acknowledged[key] = answer["id"]
                    break
                if response.status_code == 503:
                    unavailable.append(
                        {**answer, "retry_after": response.headers.get("Retry-After")}
                    )
                    time.sleep(0.2)
                    continue
                if response.status_code == 409 and answer.get("error") == (
                    "idempotency_key_unanswered"
                ):
                    unanswered.add(key)  # written, its answer lost in the restart
                    break
                problems.append(f"{key}: {response.status_code} {answer}")
                break
            else:
                problems.append(f"{key}: no answer within 60 s")
            if n == WRITES // 3:
                halfway.set()
            time.sleep(0.02)

    thread = threading.Thread(target=writer)
    thread.start()
    assert halfway.wait(60)
    cluster.stop("fast")  # every connection is ended; new ones are refused
    time.sleep(1.5)
    cluster.start()
    thread.join(180)
    assert not thread.is_alive()

    assert not problems, problems
    assert unavailable, "no write met the stopped database"
    for answer in unavailable:
        assert answer["code"] == 503 and answer["error"] == "database_unavailable"
        assert answer["status"] == "Service Unavailable" and answer["message"]
        assert answer["retry_after"] == "5"
    assert len(acknowledged) + len(unanswered) == WRITES
    with app.app_context():
        entries = db.session.scalars(
            select(LedgerEntry).where(LedgerEntry.workshop_id == workshop_id)
        ).all()
        per_key: dict[str, list[int]] = {}
        for entry in entries:  # each write's "what" names its key
            per_key.setdefault("clean-" + entry.payload["what"].split()[-1], []).append(entry.id)
        for key, entry_id in acknowledged.items():
            assert per_key.get(key) == [entry_id], key  # there, exactly once
        assert set(per_key) == {f"clean-{n}" for n in range(WRITES)}
        assert len(entries) == WRITES  # nothing written twice
        from backend.ledgers.chain import verify_chain

        result = verify_chain(db.session.get(Workshop, workshop_id))
        assert result.ok, result
        db.session.remove()
        db.engine.dispose()
