"""The production services on the machine's real Redis: shared rate limits that fail open for
scans and closed for logins, the cache and its invalidation, the scan queue's claims, and one
WeChat token refresh at a time.

Each run claims a Redis database of its own (tests/faults/helpers.py) and empties it.
"""

from __future__ import annotations

import threading
import time

import pytest
import redis
from sqlalchemy import func, select

from backend.codes.models import ScanEvent, UnitCode
from backend.core import ratelimit
from backend.core.ratelimit import RedisStore
from backend.extensions import db as _db
from backend.integrations import wechat
from backend.scan import recorder
from backend.scan.recorder import RedisRecorder
from tests.faults.helpers import free_port
from tests.support.console import console_user, login
from tests.support.redis import use_redis


@pytest.fixture()
def redis_down(app, monkeypatch):
    """The app pointed at a loopback port where no Redis listens."""
    client = use_redis(app, monkeypatch, f"redis://127.0.0.1:{free_port()}/0")
    yield client
    app.extensions.pop("wechat_storage", None)


@pytest.fixture()
def still_clock(monkeypatch):
    """Rate-limit windows that do not roll over in the middle of a test."""
    monkeypatch.setattr(ratelimit, "clock", lambda: 1_800_000_000.0 + 30)


def db_events() -> int:
    """Scan events written to the database."""
    return _db.session.scalar(select(func.count(ScanEvent.id)))


# -- rate limits --------------------------------------------------------------------------


def test_scan_limits_are_shared_by_every_worker(
    client, wine, on_redis, app, monkeypatch, redis_url, still_clock
):
    monkeypatch.setitem(app.config, "SCAN_RATE_LIMIT", "3/minute")
    _, codes = wine
    for _ in range(3):
        assert client.get(f"/api/v1/scan/{codes[0]}").status_code == 200
    assert client.get(f"/api/v1/scan/{codes[0]}").status_code == 429
    # another worker: its own connection, the same counters
    other = redis.Redis.from_url(redis_url)
    monkeypatch.setitem(app.extensions, "rate_limits", RedisStore(other))
    refused = client.get(f"/api/v1/scan/{codes[1]}")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert refused.get_json()["error"] == "too_many_requests"
    other.close()


def test_without_redis_scans_are_served_and_written_at_once(client, db, wine, redis_down):
    batch, codes = wine
    beijing, xinjiang = {"REMOTE_ADDR": "202.106.0.20"}, {"REMOTE_ADDR": "61.128.114.133"}
    first = client.get(f"/api/v1/scan/{codes[0]}", environ_base=beijing)
    assert first.status_code == 200  # limits fail open, the cache misses
    body = first.get_json()
    assert body["scan"]["number"] == 1 and body["batch"]["batch_no"] == batch.batch_no
    assert db_events() == 1  # no queue: written in the request
    second = client.get(f"/api/v1/scan/{codes[0]}", environ_base=xinjiang).get_json()
    assert second["scan"]["number"] == 2 and second["scan"]["repeat"]
    assert "counterfeit_suspected" in [a["kind"] for a in second["alerts"]]
    assert client.get(f"/t/{codes[0]}").status_code == 200
    assert db_events() == 3
    code = db.session.scalar(select(UnitCode).where(UnitCode.code == codes[0]))
    db.session.refresh(code)
    assert code.scan_count == 3


def test_without_redis_console_logins_are_refused_with_a_retry(client, db, redis_down):
    user = console_user()
    response = login(client, user)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(ratelimit.UNAVAILABLE_RETRY_AFTER)
    assert "服务繁忙" in response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    assert client.get("/console/").status_code == 302  # not logged in


# -- the cache and what drops it -----------------------------------------------------------


def cached_batch_keys(client: redis.Redis) -> set[str]:
    """The scan path's cached batch keys."""
    return {k.decode() for k in client.scan_iter("yipin:cache:batch*")}


@pytest.mark.parametrize("change", ["workshop", "product", "supplier", "lot", "category"])
def test_a_view_is_dropped_when_a_row_it_shows_changes(client, db, wine, on_redis, change):
    from backend.ledgers.models import RawMaterialLot
    from backend.registry.models import Supplier

    batch, codes = wine
    assert client.get(f"/api/v1/scan/{codes[0]}").status_code == 200
    assert client.get(f"/t/{codes[0]}").status_code == 200
    assert f"yipin:cache:batchview:{batch.id}" in cached_batch_keys(on_redis)
    lot = db.session.scalar(select(RawMaterialLot).where(RawMaterialLot.lot_no == "YL-1"))
    if change == "workshop":
        batch.workshop.name = "半里林氏红曲酒厂"
    elif change == "product":
        batch.product.name = "半里红曲老酒"
    elif change == "supplier":
        db.session.get(Supplier, lot.supplier_id).name = "古田县红曲米二厂"
    elif change == "lot":
        lot.material_name = "古田红曲米"
    else:  # a category, brand or zone: every batch view goes
        batch.product.category.name_en = "Huangjiu (test)"
    db.session.flush()
    assert cached_batch_keys(on_redis) == set()
    db.session.commit()
    body = client.get(f"/api/v1/scan/{codes[0]}").get_json()
    shown = {
        "workshop": body["workshop"]["name"],
        "product": body["product"]["name"],
        "supplier": body["batch"]["raw_materials"][0]["supplier"]["name"],
        "lot": body["batch"]["raw_materials"][0]["material"],
        "category": body["product"]["category"]["name_en"],
    }[change]
    assert shown in (
        "半里林氏红曲酒厂",
        "半里红曲老酒",
        "古田县红曲米二厂",
        "古田红曲米",
        "Huangjiu (test)",
    )


def test_an_unrelated_change_keeps_the_view(client, db, wine, on_redis):
    from tests.factories import WorkshopFactory

    batch, codes = wine
    other = WorkshopFactory(name="另一家作坊")
    db.session.flush()
    client.get(f"/api/v1/scan/{codes[0]}")
    other.name = "另一家作坊二"
    db.session.flush()
    assert f"yipin:cache:batchview:{batch.id}" in cached_batch_keys(on_redis)


# -- the scan queue -----------------------------------------------------------------------


def test_a_claim_left_by_a_dead_flusher_is_written_after_its_lease(
    client, db, wine, on_redis, app, monkeypatch
):
    _, codes = wine
    for _ in range(3):
        client.get(f"/api/v1/scan/{codes[0]}")
    rec = app.extensions["scan_recorder"]
    claim = rec.claim(100)  # a flusher took the batch ... and died before writing it
    assert claim is not None and len(claim.events) == 3
    assert on_redis.llen(RedisRecorder.QUEUE) == 0 and rec.pending() == 3
    assert recorder.flush() == 0  # the lease (60 s) has not run out: the claim is left alone
    assert db_events() == 0
    monkeypatch.setitem(app.config, "SCAN_FLUSH_LEASE", 0)
    client.get(f"/api/v1/scan/{codes[1]}")  # a newer scan waits behind the recovered ones
    assert recorder.flush() == 4
    assert rec.pending() == 0 and db_events() == 4
    assert on_redis.zcard(RedisRecorder.CLAIMS) == 0
    assert not list(on_redis.scan_iter("yipin:scan:claim:*"))


def test_the_flush_task_writes_the_queue(client, db, wine, on_redis):
    _, codes = wine
    client.get(f"/api/v1/scan/{codes[0]}")
    assert recorder.flush_scans.run() == 1
    assert db_events() == 1


# -- the WeChat access token ------------------------------------------------------------------


def test_concurrent_workers_fetch_one_token(app, db, on_redis, fake_wechat, monkeypatch):
    """Eight workers need a token at once: one fetches it under the lock, the others wait
    and use it (a second fetch would invalidate the first worker's token)."""
    real_fetch = wechat.YipinWeChatClient._fetch_token

    def slow_fetch(self):
        time.sleep(0.3)  # WeChat takes its time: every worker arrives during the fetch
        return real_fetch(self)

    monkeypatch.setattr(wechat.YipinWeChatClient, "_fetch_token", slow_fetch)
    results, errors = [], []
    start = threading.Barrier(8)

    def worker():
        try:
            with app.app_context():
                start.wait()
                results.append(wechat.wxa_code_png("ABCDEFGH"))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert not errors
    assert len(results) == 8 and all(r.startswith(b"\x89PNG") for r in results)
    assert len(fake_wechat.calls_to("/cgi-bin/token")) == 1
    assert on_redis.exists(f"yipin:wechat:{fake_wechat.appid}_access_token")
    assert not on_redis.exists(wechat.TOKEN_LOCK_KEY)  # released


def test_a_refused_token_is_not_fetched_again_when_another_worker_already_did(
    app, db, on_redis, fake_wechat
):
    with app.app_context():
        first = wechat.client()
        stale = first.access_token
        second = wechat.client()  # another worker refreshes meanwhile
        second._fetch_token()
        fresh = second.session.get(second.access_token_key)
        assert fresh != stale
        answer = first.fetch_access_token()  # what wechatpy does after a 40001
        assert answer == {"access_token": fresh}
    assert len(fake_wechat.calls_to("/cgi-bin/token")) == 2


def test_an_event_already_written_is_not_written_again(client, db, wine, on_redis, app):
    """Redis applied a scan's queueing and died before answering, so the request wrote the
    scan directly too: the copy coming back with the queue is skipped."""
    import json

    _, codes = wine
    client.get(f"/api/v1/scan/{codes[0]}")
    queued = on_redis.lrange(RedisRecorder.QUEUE, 0, -1)
    assert recorder.flush() == 1 and db_events() == 1
    on_redis.rpush(RedisRecorder.QUEUE, *queued)  # the same event, back again
    client.get(f"/api/v1/scan/{codes[1]}")  # and a new one behind it
    assert recorder.flush() == 2  # both taken from the queue ...
    assert db_events() == 2  # ... one written
    assert json.loads(queued[0])["code_id"] is not None
    code = db.session.scalar(select(UnitCode).where(UnitCode.code == codes[0]))
    db.session.refresh(code)
    assert code.scan_count == 1
