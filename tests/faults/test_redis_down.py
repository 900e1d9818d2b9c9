"""Redis crashed in the middle of a scan load, then started again.

A private redis-server (a free loopback port, a temporary directory, an append-only file
written on every command, as production should run it) carries the cache, the scan queue and
the rate limits of an app on a committed database of the test's own. While Redis is dead,
scans are still served and written straight to the database, scan limits let them through
and console logins are refused with a retryable 503; once it is back the queue it kept is
flushed, and every scan answered with 200 is in the database exactly once.
"""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import func, select

from backend.codes.models import ScanEvent, UnitCode
from backend.extensions import db
from tests.faults.helpers import PrivateRedis, build_app, own_database, wait_for


@pytest.fixture()
def stack(tmp_path):
    """The private Redis (started) and an app on it with a seeded batch of codes."""
    server = PrivateRedis(tmp_path, durable=True)
    server.start()
    try:
        with own_database(tmp_path) as database_url:
            app = build_app(
                {
                    "SQLALCHEMY_DATABASE_URI": database_url,
                    "REDIS_URL": server.url,
                    "SCAN_RATE_LIMIT": "100000/minute",
                }
            )
            yield server, app
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
    finally:
        server.stop()


def seed(app) -> tuple[list[str], object]:
    """Twenty codes of a released batch and a console account (committed)."""
    from backend.batches.models import BatchState
    from backend.codes.services import issue_codes
    from tests.factories import BatchFactory, ProductFactory, WorkshopFactory
    from tests.support.console import console_user

    with app.app_context():
        product = ProductFactory(workshop=WorkshopFactory(), shelf_life_days=None)
        batch = BatchFactory(
            product=product, state=BatchState.RELEASED, produced_on=date(2026, 11, 20)
        )
        issuance = issue_codes(batch, 20)
        user = console_user()
        db.session.commit()
        codes = list(
            db.session.scalars(select(UnitCode.code).where(UnitCode.issuance_id == issuance.id))
        )
        account = type("Account", (), {"username": user.username})()
        db.session.remove()
    return codes, account


def test_scans_outlive_redis(stack):
    from backend.scan import recorder
    from tests.support.console import login

    server, app = stack
    codes, user = seed(app)
    client = app.test_client()
    answered = {"ok": 0, "other": []}
    phase = {"name": "up"}
    stop = threading.Event()

    def load():
        n = 0
        while not stop.is_set():
            code = codes[0] if n % 10 else codes[1 + n % 19]  # mostly one hot code
            response = client.get(f"/api/v1/scan/{code}?region=福建省漳州市")
            if response.status_code == 200:
                answered["ok"] += 1
            else:
                answered["other"].append((phase["name"], response.status_code))
            n += 1

    thread = threading.Thread(target=load)
    thread.start()
    wait_for(lambda: answered["ok"] >= 100, 60, "scans while Redis is up")
    phase["name"] = "down"
    server.kill()
    before = answered["ok"]
    wait_for(lambda: answered["ok"] >= before + 100, 60, "scans while Redis is down")
    refused = login(app.test_client(), user)
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "30"
    phase["name"] = "back"
    server.start()  # reloads its append-only file: the queue it held is back
    before = answered["ok"]
    wait_for(lambda: answered["ok"] >= before + 100, 60, "scans after Redis is back")
    stop.set()
    thread.join(30)

    assert answered["other"] == []  # every scan served, in every phase
    assert login(app.test_client(), user).status_code == 302  # logins work again
    with app.app_context():
        recorder.flush()
        assert app.extensions["scan_recorder"].pending() == 0
        written = db.session.scalar(select(func.count(ScanEvent.id)))
        counted = db.session.scalar(select(func.sum(UnitCode.scan_count)))
        db.session.remove()
    assert written == answered["ok"] == counted  # each scan recorded once, none lost
