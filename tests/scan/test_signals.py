"""Honest repeat-scan and counterfeit signals (issue 15, item 5).

The region of a scan is read on the server from the client address with the IP-region
database the package ships (real look-ups of real public addresses here); nothing the
client sends is trusted; the counterfeit warning fires only on evidence, and names it.
Each case runs without Redis (the database path) and on the machine's Redis (the fast path).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from backend.batches.models import BatchState
from backend.codes.models import ScanEvent, UnitCode
from backend.codes.services import void_code
from backend.scan import regions

BEIJING = "202.106.0.20"  # the shipped database: 中国|0|北京|北京市|联通
URUMQI = "61.128.114.133"  # 中国|0|新疆|乌鲁木齐市|电信
FUZHOU = "117.25.0.1"  # 中国|0|福建省|福州市|电信


@pytest.fixture(params=["database", "redis"])
def path(request):
    """Run the test on the database path, then on the Redis fast path."""
    if request.param == "redis":
        request.getfixturevalue("on_redis")
    return request.param


@pytest.fixture()
def still_clock(monkeypatch):
    """Hold the rate limiter's clock still, so no test straddles a window boundary."""
    import backend.core.ratelimit as ratelimit

    monkeypatch.setattr(ratelimit, "clock", lambda: 1_800_000_010.0)


def scan(client, code: str, address: str = "127.0.0.1", **kwargs):
    """One API scan from *address*; the JSON body."""
    response = client.get(f"/api/v1/scan/{code}", environ_base={"REMOTE_ADDR": address}, **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def counterfeit(body: dict) -> dict | None:
    """The counterfeit alert of a scan's answer, or None."""
    found = [a for a in body["alerts"] if a["kind"] == "counterfeit_suspected"]
    return found[0] if found else None


def recorded(db, code: str) -> int:
    """Scan events of *code* in the database (after a flush of any queue)."""
    from backend.scan import recorder

    recorder.flush()
    code_id = db.session.scalar(select(UnitCode.id).where(UnitCode.code == code))
    return db.session.scalar(select(func.count(ScanEvent.id)).where(ScanEvent.code_id == code_id))


def test_the_shipped_database_places_real_addresses_far_apart():
    beijing, urumqi = regions.region_of(BEIJING), regions.region_of(URUMQI)
    assert beijing.province == "北京市" and urumqi.province == "新疆维吾尔自治区"
    assert urumqi.text == "新疆维吾尔自治区乌鲁木齐市"
    assert 2300 < regions.distance_km("北京市", "新疆维吾尔自治区") < 2500
    assert regions.distance_km("福建省", "广东省") < 1000  # neighbours are not "far apart"
    for private in ("127.0.0.1", "10.1.2.3", "192.168.1.1", "::1", "fe80::1", "", None, "x"):
        assert regions.region_of(private) is None  # loopback and private: no region


def test_a_repeat_scan_by_the_same_client_is_neutral(client, db, wine, path, app):
    _, codes = wine
    first = scan(client, codes[0], FUZHOU)
    second = scan(client, codes[0], FUZHOU)
    assert first["scan"]["number"] == 1 and first["scan"]["notice"] is None
    assert second["scan"]["number"] == 2 and second["scan"]["visitor_repeat"] is True
    assert second["alerts"] == [] and counterfeit(second) is None
    notice = second["scan"]["notice"]
    assert re.fullmatch(r"第 2 次查询，首次查询于 \d{4}年\d{2}月\d{2}日", notice)
    assert "谨防假冒" not in notice
    if path == "redis":  # these went through the fast path, not the database
        assert app.extensions["redis"].llen("yipin:scan:queue") == 2
    other = scan(client, codes[0], BEIJING, headers={"User-Agent": "another phone"})
    assert other["scan"]["visitor_repeat"] is False and other["scan"]["number"] == 3
    # the H5 page: its own cookie recognises the reload, and says nothing of counterfeits
    client.get(f"/t/{codes[1]}")
    page = client.get(f"/t/{codes[1]}").get_data(as_text=True)
    assert "谨防假冒" not in page and "第 2 次查询，首次查询于" in page
    assert "您此前查询过此码。" in page


def test_two_far_apart_provinces_within_hours_warn_and_name_them(client, db, wine, path):
    _, codes = wine
    assert counterfeit(scan(client, codes[0], BEIJING)) is None
    body = scan(client, codes[0], URUMQI)
    alert = counterfeit(body)
    assert alert is not None and alert["level"] == "warning"
    (evidence,) = alert["evidence"]
    assert evidence["kind"] == "distant_regions"
    assert evidence["message"] == (
        "此码在 6 小时内分别在北京市和新疆维吾尔自治区被查询，两地相距约 2410 公里。"
    )
    assert alert["message"] == "谨防假冒：" + evidence["message"]
    page = client.get(f"/t/{codes[0]}").get_data(as_text=True)
    assert evidence["message"] in page  # the H5 page names the evidence
    english = scan(client, codes[0], "127.0.0.1", headers={"Accept-Language": "en"})
    assert "Beijing and in Xinjiang within 6 hours" in counterfeit(english)["message"]
    rows = db.session.scalars(select(ScanEvent.region).order_by(ScanEvent.id)).all()
    if path == "database":
        assert rows[:2] == ["北京市", "新疆维吾尔自治区乌鲁木齐市"]


def test_neighbouring_provinces_are_no_evidence(client, db, wine, path):
    _, codes = wine
    scan(client, codes[0], FUZHOU)
    guangzhou = "113.108.0.1"
    assert regions.region_of(guangzhou).province == "广东省"
    assert counterfeit(scan(client, codes[0], guangzhou)) is None


def test_the_region_parameter_changes_nothing(client, db, wine, path):
    _, codes = wine
    plain = scan(client, codes[0])
    planted = [
        scan(client, codes[0], query_string={"region": "北京市"}),
        scan(client, codes[0], query_string={"region": "新疆维吾尔自治区"}),
    ]
    for body in planted:
        assert body["alerts"] == plain["alerts"] == []
        assert {k: v for k, v in body.items() if k != "scan"} == {
            k: v for k, v in plain.items() if k != "scan"
        }
    link = f"https://yipin.test/t/{codes[0]}"
    via_link = client.get("/api/v1/scan", query_string={"q": link, "region": "新疆维吾尔自治区"})
    assert via_link.get_json()["alerts"] == []
    from backend.scan import recorder

    recorder.flush()
    assert set(db.session.scalars(select(ScanEvent.region))) == {None}  # nothing stored


def test_21_scans_from_one_client_raise_no_warning(client, db, wine, path, still_clock):
    _, codes = wine
    bodies = [scan(client, codes[0], FUZHOU) for _ in range(21)]
    assert [b["scan"]["number"] for b in bodies] == list(range(1, 22))
    assert all(b["alerts"] == [] for b in bodies)
    # nor 21 page loads that each throw the visitor cookie away
    for _ in range(21):
        client.delete_cookie("yipin_visitor")
        page = client.get(f"/t/{codes[1]}", environ_base={"REMOTE_ADDR": FUZHOU})
        assert "谨防假冒" not in page.get_data(as_text=True)


def test_many_distinct_networks_on_one_unit_code_warn(client, db, wine, path, still_clock):
    _, codes = wine
    for n in range(1, 21):  # twenty consumers: a family, a banquet table
        body = scan(client, codes[0], f"10.{n}.0.7")
        assert counterfeit(body) is None
    body = scan(client, codes[0], "10.21.0.7")
    (evidence,) = counterfeit(body)["evidence"]
    assert evidence["kind"] == "many_visitors"
    assert "21 个不同网络" in evidence["message"] and "超过 20 个" in evidence["message"]
    again = scan(client, codes[0], "10.21.0.9")  # the same network again adds nothing
    assert "21 个不同网络" in counterfeit(again)["evidence"][0]["message"]


def test_head_requests_and_link_previews_are_not_scans(client, db, wine, path):
    _, codes = wine
    assert client.head(f"/t/{codes[0]}").status_code == 200
    assert client.head(f"/api/v1/scan/{codes[0]}").status_code == 200
    for agent in (
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "TelegramBot (like TwitterBot)",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "WhatsApp/2.23.18.78 i",
        "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    ):
        page = client.get(f"/t/{codes[0]}", headers={"User-Agent": agent})
        assert page.status_code == 200 and "半里红曲酒" in page.get_data(as_text=True)
        body = client.get(f"/api/v1/scan/{codes[0]}", headers={"User-Agent": agent}).get_json()
        assert body["scan"]["recorded"] is False and body["scan"]["number"] == 0
    assert recorded(db, codes[0]) == 0
    first = scan(client, codes[0], headers={"User-Agent": "Mozilla/5.0 (iPhone) MicroMessenger"})
    assert first["scan"]["number"] == 1 and first["scan"]["recorded"] is True
    assert recorded(db, codes[0]) == 1


def test_a_voided_code_warns_naming_why(client, db, wine, path):
    _, codes = wine
    scan(client, codes[0])
    void_code(codes[0], "标签损坏")
    db.session.commit()
    refused = client.get(f"/api/v1/scan/{codes[0]}")
    body = refused.get_json()
    assert refused.status_code == 404 and body["error"] == "code_not_found"
    (alert,) = body["errors"]["alerts"]
    assert alert["kind"] == "counterfeit_suspected"
    assert [e["kind"] for e in alert["evidence"]] == ["voided_code"]
    assert body["message"] == alert["message"] and "作废" in body["message"]
    page = client.get(f"/t/{codes[0]}")
    assert page.status_code == 404 and "此码已被生产者作废" in page.get_data(as_text=True)


def test_a_code_of_an_unreleased_batch_warns(client, db, wine, path):
    batch, codes = wine
    batch.state = BatchState.PENDING_RELEASE
    from backend.scan.caching import forget_batch

    forget_batch(batch.id)
    db.session.commit()
    alert = counterfeit(scan(client, codes[0]))
    assert [e["kind"] for e in alert["evidence"]] == ["not_released"]
    assert "尚未放行" in alert["message"]


def test_a_fresh_redis_state_keeps_the_database_history(client, db, wine, on_redis):
    """The fast path's base state (Redis lost the code's state) carries provinces, visitors
    and networks from the database."""
    _, codes = wine
    scan(client, codes[0], BEIJING)
    from backend.scan import recorder

    recorder.flush()
    for key in on_redis.scan_iter("yipin:scan:code:*"):
        on_redis.delete(key)
    on_redis.incr("yipin:gen:codes")  # every worker looks the code up again
    body = scan(client, codes[0], URUMQI)
    assert body["scan"]["number"] == 2
    assert counterfeit(body)["evidence"][0]["kind"] == "distant_regions"
    again = scan(client, codes[0], BEIJING)
    assert again["scan"]["visitor_repeat"] is True


def test_without_redis_a_hold_reaches_another_workers_copies_at_once(
    client, db, wine, app, monkeypatch
):
    """Each worker's copies of a view (and of its rendered page) are checked against the
    batch's generation in the database: the other worker's next scan shows the hold."""
    from backend.batches.states import change_state
    from backend.scan.caching import LocalEntries

    batch, codes = wine
    other = LocalEntries()
    monkeypatch.setitem(app.extensions, "scan_entries", other)
    assert scan(client, codes[0])["alerts"] == []
    assert "暂停销售" not in client.get(f"/t/{codes[0]}").get_data(as_text=True)
    assert other.view(batch.id) is not None  # this worker holds the released view
    monkeypatch.setitem(app.extensions, "scan_entries", LocalEntries())  # another worker
    change_state(batch, BatchState.HELD, reason="复检")
    db.session.commit()
    monkeypatch.setitem(app.extensions, "scan_entries", other)
    assert scan(client, codes[0])["alerts"][0]["kind"] == "held"
    assert "暂停销售" in client.get(f"/t/{codes[1]}").get_data(as_text=True)
    from backend.scan.path import scan_path

    assert scan_path().batch_view(batch.id)["batch"]["state"] == "held"  # what other pages read


def test_far_apart_scans_count_only_within_hours_and_then_stay(client, db, wine, path):
    import time_machine

    _, codes = wine
    start = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        scan(client, codes[0], BEIJING)
        scan(client, codes[1], BEIJING)
    with time_machine.travel(start + timedelta(hours=7), tick=False):
        assert counterfeit(scan(client, codes[0], URUMQI)) is None  # 7 h apart: travel
    with time_machine.travel(start + timedelta(hours=5), tick=False):
        assert counterfeit(scan(client, codes[1], URUMQI)) is not None  # 5 h: evidence
    with time_machine.travel(start + timedelta(days=2), tick=False):
        later = scan(client, codes[1], BEIJING)  # the evidence outlives later scans
        assert counterfeit(later)["evidence"][0]["kind"] == "distant_regions"
