"""The scan on Redis in one round trip (backend/scan/on_redis.py), on the machine's real Redis.

A "worker" here is a set of local entries: swapping `scan_entries` plays a second gunicorn
worker holding its own copies, so what one worker changes must reach the other's next scan.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from sqlalchemy import select

from backend.batches.models import BatchState
from backend.batches.states import change_state
from backend.codes.models import UnitCode
from backend.codes.services import void_code
from backend.core import ratelimit
from backend.core.cache import cache
from backend.scan import recorder
from backend.scan.caching import LocalEntries, batch_key

HOST = "https://yipin.test"


@pytest.fixture()
def commands(on_redis, monkeypatch):
    """The Redis commands the app sends, by name."""
    sent: list[str] = []
    original = on_redis.execute_command

    def counting(*args, **options):
        sent.append(str(args[0]).upper())
        return original(*args, **options)

    monkeypatch.setattr(on_redis, "execute_command", counting)
    return sent


def as_worker(app, monkeypatch, entries: LocalEntries) -> None:
    """Make *entries* the current worker's copies."""
    monkeypatch.setitem(app.extensions, "scan_entries", entries)


def test_a_scan_of_a_held_code_is_one_round_trip(client, db, wine, on_redis, commands):
    _, codes = wine
    assert client.get(f"/api/v1/scan/{codes[0]}").status_code == 200  # first: look-ups
    commands.clear()
    second = client.get(f"/api/v1/scan/{codes[0]}")
    assert second.status_code == 200 and second.get_json()["scan"]["number"] == 2
    assert commands == ["EVALSHA"]
    commands.clear()
    assert client.get(f"/t/{codes[0]}").status_code == 200  # the page, the same way
    assert client.get(f"/t/{codes[0]}").status_code == 200
    assert commands == ["EVALSHA", "EVALSHA"]
    assert on_redis.llen("yipin:scan:queue") == 4


def test_a_code_voided_by_one_worker_is_refused_by_another(
    client, db, wine, on_redis, app, monkeypatch
):
    _, codes = wine
    other = LocalEntries()
    as_worker(app, monkeypatch, other)
    assert client.get(f"/api/v1/scan/{codes[0]}").status_code == 200
    assert other.code(codes[0]) is not None  # the other worker holds the code
    as_worker(app, monkeypatch, LocalEntries())
    void_code(codes[0], "标签损坏")
    db.session.commit()
    as_worker(app, monkeypatch, other)
    queued = on_redis.llen("yipin:scan:queue")
    refused = client.get(f"/api/v1/scan/{codes[0]}")
    assert refused.status_code == 404 and refused.get_json()["error"] == "code_not_found"
    assert on_redis.llen("yipin:scan:queue") == queued  # nothing recorded
    assert client.get(f"/api/v1/scan/{codes[1]}").status_code == 200  # the others still scan


def test_a_hold_made_by_one_worker_shows_at_once_on_another(
    client, db, wine, on_redis, app, monkeypatch
):
    batch, codes = wine
    other = LocalEntries()
    as_worker(app, monkeypatch, other)
    assert client.get(f"/api/v1/scan/{codes[0]}").get_json()["alerts"] == []
    assert "暂停销售" not in client.get(f"/t/{codes[0]}").get_data(as_text=True)
    as_worker(app, monkeypatch, LocalEntries())
    change_state(batch, BatchState.HELD, reason="快检阳性，待复检")
    db.session.commit()
    as_worker(app, monkeypatch, other)
    body = client.get(f"/api/v1/scan/{codes[0]}").get_json()
    assert body["alerts"][0]["kind"] == "held" and body["batch"]["state"] == "held"
    assert "暂停销售" in client.get(f"/t/{codes[0]}").get_data(as_text=True)


def test_a_shared_view_built_before_a_change_is_not_reused(client, db, wine, on_redis, app):
    batch, codes = wine
    body = client.get(f"/api/v1/scan/{codes[0]}").get_json()
    stale = {**cache().get(batch_key(batch.id))}
    change_state(batch, BatchState.HELD, reason="复检")
    db.session.commit()
    # a slow worker puts back the copy it built before the change, under the old generations
    cache().set(batch_key(batch.id), stale, 60)
    app.extensions["scan_entries"].clear()
    again = client.get(f"/api/v1/scan/{codes[0]}").get_json()
    assert body["batch"]["state"] == "released" and again["batch"]["state"] == "held"


def test_the_limits_are_counted_in_the_same_round_trip(
    client, db, wine, on_redis, app, monkeypatch, commands
):
    monkeypatch.setattr(ratelimit, "clock", lambda: 1_800_000_000.0 + 30)
    monkeypatch.setitem(app.config, "SCAN_RATE_LIMIT", "3/minute")
    _, codes = wine
    for _ in range(3):
        assert client.get(f"/api/v1/scan/{codes[0]}").status_code == 200
    commands.clear()
    refused = client.get(f"/api/v1/scan/{codes[0]}")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert refused.get_json()["error"] == "too_many_requests"
    assert commands == ["EVALSHA"]
    assert on_redis.llen("yipin:scan:queue") == 3  # the refused scan is not recorded
    english = client.get(f"/api/v1/scan/{codes[0]}", headers={"Accept-Language": "en"})
    assert english.status_code == 429 and "请求" not in english.get_json()["message"]


def test_a_client_past_the_failure_limit_cannot_scan_a_real_code(
    client, db, wine, on_redis, app, monkeypatch
):
    monkeypatch.setattr(ratelimit, "clock", lambda: 1_800_000_000.0 + 30)
    monkeypatch.setitem(app.config, "SCAN_FAILURE_LIMIT", "2/minute")
    _, codes = wine
    assert client.get(f"/api/v1/scan/{codes[0]}").status_code == 200  # held by this worker
    for unknown in ("4WT99VXVC0RYZQ1QW", "4WT99VXVC0RYZQ1QX"):
        assert client.get(f"/api/v1/scan/{unknown}").status_code in (404, 422)
    refused = client.get(f"/api/v1/scan/{codes[0]}")
    assert refused.status_code == 429
    assert on_redis.llen("yipin:scan:queue") == 1


def test_a_code_redis_has_forgotten_goes_on_from_the_database(client, db, wine, on_redis):
    _, codes = wine
    first = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
    code = db.session.scalar(select(UnitCode).where(UnitCode.code == codes[0]))
    code.scan_count, code.first_scanned_at = 5, first
    code.last_scanned_at = first + timedelta(days=1)
    db.session.commit()
    body = client.get(f"/api/v1/scan/{codes[0]}").get_json()
    assert body["scan"]["number"] == 6 and body["scan"]["repeat"]
    assert body["scan"]["first_scanned_at"].startswith("2026-11-21T10:00:00")
    on_redis.delete(f"yipin:scan:code:{code.id}")  # Redis lost it (eviction, a restart)
    assert recorder.flush() == 1
    again = client.get(f"/api/v1/scan/{codes[0]}").get_json()
    assert again["scan"]["number"] == 7


def test_a_digital_link_of_another_batch_is_refused_without_recording(client, db, wine, on_redis):
    _, codes = wine
    digital = f"{HOST}/01/06941234567010/10/LIN-20261120-01/21/{codes[1]}"
    assert client.get(f"/api/v1/scan?q={quote(digital, safe='')}").status_code == 200
    wrong = f"{HOST}/01/06941234567010/10/LIN-20261120-09/21/{codes[1]}"
    refused = client.get(f"/api/v1/scan?q={quote(wrong, safe='')}")
    assert refused.status_code == 404 and refused.get_json()["error"] == "code_not_found"
    assert on_redis.llen("yipin:scan:queue") == 1


def test_the_scans_reach_the_database_exactly_once(client, db, wine, on_redis):
    _, codes = wine
    for n in range(30):
        assert client.get(f"/api/v1/scan/{codes[n % 3]}").status_code == 200
    assert recorder.flush() == 30
    db.session.expire_all()
    counts = db.session.scalars(select(UnitCode.scan_count).where(UnitCode.code.in_(codes))).all()
    assert sorted(counts) == [10, 10, 10]


def test_generations_counted_again_after_redis_lost_its_data_do_not_match(
    client, db, wine, on_redis
):
    batch, codes = wine
    change_state(batch, BatchState.HELD, reason="快检阳性，待复检")
    db.session.commit()
    assert client.get(f"/api/v1/scan/{codes[0]}").get_json()["batch"]["state"] == "held"
    raised = on_redis.get(f"yipin:gen:batch:{batch.id}")
    on_redis.flushdb()  # Redis restarted without its data
    change_state(batch, BatchState.RELEASED, reason="复检合格")
    db.session.commit()
    assert on_redis.get(f"yipin:gen:batch:{batch.id}") == raised  # the same number again ...
    body = client.get(f"/api/v1/scan/{codes[0]}").get_json()
    assert body["batch"]["state"] == "released"  # ... under a new epoch: not mistaken


def test_a_checked_copy_lives_longer_but_not_past_half_a_playback_link(
    client, db, wine, on_redis, app, monkeypatch
):
    batch, codes = wine
    client.get(f"/api/v1/scan/{codes[0]}")
    left = app.extensions["scan_entries"].view(batch.id).expires - time.monotonic()
    assert 590 < left <= 600  # SCAN_VIEW_CHECKED_TTL, not SCAN_VIEW_TTL (30 s)
    monkeypatch.setitem(app.config, "PLAYBACK_LINK_TTL", 120)
    app.extensions["scan_entries"].clear()
    client.get(f"/api/v1/scan/{codes[0]}")
    left = app.extensions["scan_entries"].view(batch.id).expires - time.monotonic()
    assert 50 < left <= 60
