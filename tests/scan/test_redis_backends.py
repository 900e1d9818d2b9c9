"""The scan path on Redis: shared cache, scan counts and queue, rate limits.

Uses the machine's Redis on 127.0.0.1:6379 (a database of this run's own, emptied around each
test: tests/support/redis.py).
"""

import pytest
from sqlalchemy import func, select

from backend.codes.models import ScanEvent, UnitCode
from backend.core.ratelimit import RedisStore, Window
from backend.scan import recorder
from backend.scan.recorder import RedisRecorder


def test_scans_are_counted_and_queued_in_redis(client, db, wine, on_redis):
    _, codes = wine
    first = client.get(f"/api/v1/scan/{codes[0]}?region=新疆维吾尔自治区").get_json()
    beijing = {"REMOTE_ADDR": "202.106.0.20"}  # the server reads 北京市 from the address
    second = client.get(f"/api/v1/scan/{codes[0]}", environ_base=beijing).get_json()
    assert first["scan"]["number"] == 1 and second["scan"]["number"] == 2
    assert first["alerts"] == second["alerts"] == []  # ?region= is never trusted
    xinjiang = {"REMOTE_ADDR": "61.128.114.133"}
    third = client.get(f"/api/v1/scan/{codes[0]}", environ_base=xinjiang).get_json()
    (alert,) = [a for a in third["alerts"] if a["kind"] == "counterfeit_suspected"]
    assert [e["kind"] for e in alert["evidence"]] == ["distant_regions"]
    assert "北京市" in alert["message"] and "新疆维吾尔自治区" in alert["message"]
    assert on_redis.llen(RedisRecorder.QUEUE) == 3
    assert on_redis.exists(f"yipin:cache:batchview:{wine[0].id}")

    assert recorder.flush() == 3
    assert on_redis.llen(RedisRecorder.QUEUE) == 0
    assert db.session.scalar(select(func.count(ScanEvent.id))) == 3
    code = db.session.scalar(select(UnitCode).where(UnitCode.code == codes[0]))
    db.session.refresh(code)
    assert code.scan_count == 3
    regions = db.session.scalars(select(ScanEvent.region).order_by(ScanEvent.id)).all()
    assert regions == [None, "北京市", "新疆维吾尔自治区乌鲁木齐市"]


def test_a_failed_write_puts_the_events_back(db, wine, on_redis, app, monkeypatch):
    _, codes = wine
    code_id = db.session.scalar(select(UnitCode.id).where(UnitCode.code == codes[1]))
    rec = app.extensions["scan_recorder"]
    from backend.core.time import utcnow

    rec.record(
        code_id,
        {
            "code_id": code_id,
            "scanned_at": utcnow(),
            "channel": "h5",
            "region": None,
            "visitor_hash": "0" * 64,
        },
    )

    def broken(events):
        raise RuntimeError("database away")

    with monkeypatch.context() as patch:
        patch.setattr(recorder, "write_events", broken)
        with pytest.raises(RuntimeError):
            recorder.flush()
    assert rec.pending() == 1  # evidence is kept, not dropped
    assert recorder.flush() == 1 and rec.pending() == 0


def test_the_cache_is_shared_and_forgotten_on_change(client, db, wine, on_redis, app):
    from backend.batches.models import BatchState
    from backend.batches.states import change_state

    batch, codes = wine
    client.get(f"/t/{codes[0]}")
    keys = {k.decode() for k in on_redis.scan_iter("yipin:cache:*")}
    assert f"yipin:cache:batchview:{batch.id}" in keys  # shared by every worker
    entry = app.extensions["scan_entries"].view(batch.id)  # this worker's copy and page
    assert entry is not None and "zh_CN" in entry.pages
    change_state(batch, BatchState.HELD, reason="复检")
    keys = {k.decode() for k in on_redis.scan_iter("yipin:cache:*")}
    assert not any(k.startswith("yipin:cache:batch") for k in keys)
    assert int(on_redis.get(f"yipin:gen:batch:{batch.id}")) >= 1  # every worker's copy is stale
    assert client.get(f"/api/v1/scan/{codes[0]}").get_json()["alerts"][0]["kind"] == "held"
    assert "暂停销售" in client.get(f"/t/{codes[0]}").get_data(as_text=True)


def test_rate_limit_windows_in_redis(on_redis):
    store, windows = RedisStore(on_redis), (Window(2, 60), Window(5, 3600))
    assert store.add("c", windows, 1, 120.0) == [1, 1]
    assert store.add("c", windows, 1, 130.0) == [2, 2]
    assert store.add("c", windows, 0, 131.0) == [2, 2]
    assert store.add("c", windows, 1, 185.0) == [1, 3]  # a new minute, the same hour
    ttl = on_redis.ttl(f"yipin:rl:c:60:{185 // 60}")
    assert 0 < ttl <= 61
