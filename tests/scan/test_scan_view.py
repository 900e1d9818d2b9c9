"""The consumer scan: API, H5 page, GS1 Digital Link, alerts, counting and bad input."""

import re
from datetime import date
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from backend.batches.models import BatchState
from backend.batches.states import change_state
from backend.codes.models import ScanEvent, UnitCode
from backend.codes.services import issue_codes
from backend.scan import recorder
from tests.factories import WorkshopFactory

HOST = "https://yipin.test"


def events(db):
    recorder.flush()
    return db.session.scalar(select(func.count(ScanEvent.id)))


def test_api_scan_shows_the_whole_story(client, db, wine):
    batch, codes = wine
    response = client.get(f"/api/v1/scan/{codes[0]}?region=福建省漳州市")
    assert response.status_code == 200, response.get_data(as_text=True)
    view = response.get_json()
    assert view["code"]["code"] == codes[0]
    assert view["code"]["url"] == f"{HOST}/t/{codes[0]}"
    assert view["code"]["digital_link"] == (
        f"{HOST}/01/06941234567010/10/LIN-20261120-01/21/{codes[0]}"
    )
    assert view["alerts"] == []
    assert view["product"]["name"] == "半里红曲酒"
    assert view["workshop"]["name"] == "半里林氏红曲酒坊"
    assert view["batch"]["batch_no"] == "LIN-20261120-01"
    assert view["batch"]["state"] == "released"
    material = view["batch"]["raw_materials"][0]
    assert material["supplier"]["name"] == "古田县红曲米厂"
    assert material["acceptance"]["result"] == "accepted"
    test = view["tests"][0]
    assert (test["item_code"], test["verdict"], test["kind"]) == ("lead", "pass", "lab")
    assert test["limit"]["value"] == "0.5" and test["limit"]["verified"] is False
    assert view["inspection"]["outcome"] == "satisfactory"
    camera = view["cameras"][0]
    assert camera["live"] is False and camera["live_from"] == "06:00"
    assert camera["playback_url"] is None  # only live cameras get a (signed) link
    assert view["scan"]["number"] == 1 and view["scan"]["repeat"] is False


def test_a_second_scan_says_so_neutrally(client, db, wine):
    _, codes = wine
    client.get(f"/api/v1/scan/{codes[0]}")
    second = client.get(f"/api/v1/scan/{codes[0]}").get_json()
    scan = second["scan"]
    assert scan["number"] == 2 and scan["repeat"] is True and scan["visitor_repeat"] is True
    assert re.fullmatch(r"第 2 次查询，首次查询于 \d{4}年\d{2}月\d{2}日", scan["notice"])
    assert second["alerts"] == []  # the same client again is no evidence of anything
    page = client.get(f"/t/{codes[0]}").get_data(as_text=True)
    assert "谨防假冒" not in page and "第 3 次查询，首次查询于" in page
    assert "本次为第 3 次查询" in page
    english = client.get(f"/api/v1/scan/{codes[0]}", headers={"Accept-Language": "en"})
    notice = english.get_json()["scan"]["notice"]
    assert re.search(r"first on \d{4}-\d{2}-\d{2}$", notice) and "年" not in notice


def test_scans_are_recorded_with_hashed_visitors(client, db, wine):
    _, codes = wine
    for _ in range(3):
        assert client.get(f"/api/v1/scan/{codes[1]}?region=福建省厦门市").status_code == 200
    assert client.get(f"/t/{codes[1]}").status_code == 200
    assert events(db) == 4
    code = db.session.scalar(select(UnitCode).where(UnitCode.code == codes[1]))
    db.session.refresh(code)
    assert code.scan_count == 4
    rows = db.session.scalars(select(ScanEvent).where(ScanEvent.code_id == code.id)).all()
    assert code.first_scanned_at == min(r.scanned_at for r in rows)
    assert code.last_scanned_at == max(r.scanned_at for r in rows)
    assert code.first_scanned_at.tzinfo is not None
    rows = db.session.scalars(select(ScanEvent).where(ScanEvent.code_id == code.id)).all()
    assert {r.channel.value for r in rows} == {"miniprogram", "h5"}
    assert all(len(r.visitor_hash) == 64 and "127.0.0.1" not in r.visitor_hash for r in rows)
    assert {r.region for r in rows} == {None}  # ?region= is ignored; loopback has none
    assert len({r.network_hash for r in rows}) == 1 and rows[0].network_hash != "127.0.0.0/24"


def test_held_and_recalled_batches_say_so_first(client, db, wine):
    batch, codes = wine
    assert client.get(f"/api/v1/scan/{codes[0]}").get_json()["alerts"] == []
    change_state(batch, BatchState.HELD, reason="苯甲酸快检阳性")
    view = client.get(f"/api/v1/scan/{codes[0]}").get_json()
    assert view["alerts"][0]["kind"] == "held" and view["alerts"][0]["level"] == "danger"
    assert view["alerts"][0]["reason"] == "苯甲酸快检阳性"
    change_state(batch, BatchState.RECALLED, reason="实验室确认不合格")
    page = client.get(f"/t/{codes[0]}").get_data(as_text=True)
    assert "已召回" in page
    # the status panel says so first, before the product's name; the alert follows it
    panel = page.index('class="status-panel tone-danger status-recalled"')
    assert panel < page.index("已召回</p>") < page.index("半里红曲酒</h1>")
    assert page.index("半里红曲酒</h1>") < page.index("该批次产品已召回")


def test_expired_and_suspicious_codes_are_flagged(client, db, wine, app):
    batch, codes = wine
    batch.expires_on = date(2026, 11, 21)
    db.session.flush()
    client.get(f"/api/v1/scan/{codes[2]}", environ_base={"REMOTE_ADDR": "117.25.0.1"})  # 福建
    view = client.get(
        f"/api/v1/scan/{codes[2]}", environ_base={"REMOTE_ADDR": "61.128.114.133"}
    ).get_json()  # 新疆
    kinds = [a["kind"] for a in view["alerts"]]
    assert "counterfeit_suspected" in kinds
    # expiry is read when the view is built; this batch's view was cached before the change
    db.session.expire_all()
    from backend.scan.caching import forget_batch

    forget_batch(batch.id)
    kinds = [a["kind"] for a in client.get(f"/api/v1/scan/{codes[2]}").get_json()["alerts"]]
    assert "expired" in kinds


def test_the_printed_link_from_wechat(client, db, wine):
    _, codes = wine
    link = f"{HOST}/t/{codes[0]}"
    once = client.get(f"/api/v1/scan?q={quote(link, safe='')}&scancode_time=1764000000")
    assert once.status_code == 200 and once.get_json()["code"]["code"] == codes[0]
    twice = client.get(f"/api/v1/scan?q={quote(quote(link, safe=''), safe='')}")
    assert twice.status_code == 200
    digital = f"{HOST}/01/06941234567010/10/LIN-20261120-01/21/{codes[1]}"
    assert client.get(f"/api/v1/scan?q={quote(digital, safe='')}").status_code == 200


@pytest.mark.parametrize(
    "link, slug",
    [
        ("https://evil.example.com/t/{code}", "foreign_link"),
        ("https://yipin.test.evil.com/t/{code}", "foreign_link"),
        ("ftp://yipin.test/t/{code}", "foreign_link"),
        ("https://yipin.test/x/{code}", "foreign_link"),
        ("https://yipin.test/01/06941234567011/10/LIN-20261120-01/21/{code}", "bad_gtin"),
        ("https://yipin.test/t/{lower}", "malformed_code"),
        ("javascript:alert(1)", "foreign_link"),
    ],
)
def test_links_that_are_not_ours_are_refused(client, db, wine, link, slug):
    _, codes = wine
    q = link.format(code=codes[0], lower=codes[0].lower())
    response = client.get(f"/api/v1/scan?q={quote(q, safe='')}")
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == slug and set(body) == {"code", "status", "error", "message", "errors"}
    assert events(db) == 0


def test_the_digital_link_page(client, db, wine):
    _, codes = wine
    good = f"/01/06941234567010/10/LIN-20261120-01/21/{codes[0]}"
    # The resolver answers 307 to the default link, the scan page counted as a Digital Link.
    response = client.get(good)
    assert response.status_code == 307
    assert response.headers["Location"] == f"/t/{codes[0]}?via=dl"
    assert client.get(response.headers["Location"]).status_code == 200
    # A wrong check digit makes the URI malformed: 400 under GS1's resolver rules.
    assert client.get(f"/01/06941234567011/10/LIN-20261120-01/21/{codes[0]}").status_code == 400
    for bad in (
        f"/01/06941234567010/10/OTHER-BATCH/21/{codes[0]}",  # batch does not match
        f"/01/09506000134352/10/LIN-20261120-01/21/{codes[0]}",  # another product
    ):
        response = client.get(bad)
        assert response.status_code == 404, bad
        assert "12315" in response.get_data(as_text=True)
    assert events(db) == 1


def malformed(code):
    return [
        code[:-1],  # wrong length
        code[:-1] + ("0" if code[-1] != "0" else "1"),  # bad check character
        code.lower(),
        code[:5] + "码" + code[6:],  # non-ASCII
        "A" * 10_000,
        "' OR '1'='1",
        "<script>alert(1)</script>",
        "1; DROP TABLE unit_codes",
    ]


def test_malformed_codes_get_a_clear_error_and_write_nothing(client, db, wine, app):
    _, codes = wine
    for text in malformed(codes[0]):
        app.extensions["rate_limits"].reset()  # this test is about the answers, not limits
        api = client.get(f"/api/v1/scan/{quote(text, safe='')}")
        assert api.status_code in (404, 422), text
        body = api.get_json()
        assert body["error"] in ("malformed_code", "not_found"), body
        page = client.get(f"/t/{quote(text, safe='')}")
        assert page.status_code == 404 and page.mimetype == "text/html"
        assert "<script>alert(1)</script>" not in page.get_data(as_text=True)
    app.extensions["rate_limits"].reset()
    unknown = "0" * 16
    from backend.codes.codegen import check_character

    unknown += check_character(unknown)
    assert client.get(f"/api/v1/scan/{unknown}").get_json()["error"] == "code_not_found"
    assert events(db) == 0


def test_voided_codes_are_not_ours_any_more(client, db, wine, runner):
    _, codes = wine
    assert client.get(f"/api/v1/scan/{codes[0]}").status_code == 200
    result = runner.invoke(args=["codes", "void", "--code", codes[0], "--reason", "标签损坏"])
    assert result.exit_code == 0, result.output
    assert client.get(f"/api/v1/scan/{codes[0]}").status_code == 404
    assert client.get(f"/t/{codes[0]}").status_code == 404


@pytest.fixture()
def still_clock(monkeypatch):
    """Hold the rate limiter's clock still, so no test straddles a window boundary."""
    import backend.core.ratelimit as ratelimit

    monkeypatch.setattr(ratelimit, "clock", lambda: 1_800_000_010.0)


def test_guessing_codes_is_throttled(client, db, wine, app, still_clock):
    _, codes = wine
    from backend.codes.codegen import generate_codes

    statuses = [client.get(f"/api/v1/scan/{c}").status_code for c in generate_codes(12)]
    assert statuses[:10] == [404] * 10
    assert statuses[10:] == [429, 429]
    blocked = client.get(f"/api/v1/scan/{codes[0]}")
    body = blocked.get_json()
    assert body["error"] == "too_many_requests"  # the failure limit blocks this client now
    assert blocked.headers["Retry-After"] == "51"  # the minute window ends in 50 s
    assert client.get(f"/t/{codes[0]}").status_code == 429
    assert set(body) == {"code", "status", "error", "message", "errors"}


def test_genuine_scans_have_a_higher_limit(client, db, wine, still_clock):
    _, codes = wine
    statuses = [client.get(f"/api/v1/scan/{codes[0]}").status_code for _ in range(61)]
    assert statuses[:60] == [200] * 60 and statuses[60] == 429


def test_the_wechat_verification_file(client, db):
    response = client.get("/t/WxVerify123.txt")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "wx-verify-content-123"


def test_the_scan_is_documented_with_examples(client, db):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/scan/{code}"]["get"]
    assert operation["summary"].startswith("Show the consumer view")
    schema = spec["components"]["schemas"]["ScanView"]
    assert "alerts" in schema["properties"] and "example" in schema["properties"]["batch"]
    assert "/api/v1/scan" in spec["paths"]


def test_operators_issue_codes_for_their_own_batches(client, db, wine):
    from backend.accounts.models import MemberRole, Role, WorkshopMembership
    from backend.accounts.tokens import issue_token
    from tests.factories import UserFactory

    batch, _ = wine
    owner, stranger = UserFactory(role=Role.OPERATOR), UserFactory(role=Role.OPERATOR)
    db.session.add(
        WorkshopMembership(user_id=owner.id, workshop_id=batch.workshop_id, role=MemberRole.OWNER)
    )
    other = WorkshopFactory()
    db.session.add(
        WorkshopMembership(user_id=stranger.id, workshop_id=other.id, role=MemberRole.OWNER)
    )
    db.session.flush()
    mine = {"Authorization": f"Bearer {issue_token(owner)}"}
    theirs = {"Authorization": f"Bearer {issue_token(stranger)}"}
    url = f"/api/v1/batches/{batch.batch_no}/codes"

    created = client.post(url, json={"count": 50}, headers=mine)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["first_serial"] == 4 and created.get_json()["last_serial"] == 53
    assert client.post(url, json={"count": 5}, headers=theirs).status_code == 403
    assert client.post(url, json={"count": 5}).status_code == 401
    for count in (0, -1, 10**9, "many"):
        bad = client.post(url, json={"count": count}, headers=mine)
        assert bad.status_code == 422 and bad.get_json()["error"] == "validation_failed"
    assert (
        client.post("/api/v1/batches/NOPE/codes", json={"count": 1}, headers=mine).status_code
        == 404
    )
    total = db.session.scalar(select(func.count()).where(UnitCode.batch_id == batch.id))
    assert total == 53

    voided = client.post(
        "/api/v1/codes/void",
        headers=mine,
        json={"batch_no": batch.batch_no, "first": 4, "last": 13, "reason": "印刷错误"},
    )
    assert voided.status_code == 200 and voided.get_json() == {"voided": 10}
    refused = client.post(
        "/api/v1/codes/void",
        headers=theirs,
        json={"batch_no": batch.batch_no, "first": 14, "last": 20, "reason": "x"},
    )
    assert refused.status_code == 403


def test_the_cli_issues_many_codes_in_bulk(runner, db, wine):
    batch, _ = wine
    result = runner.invoke(args=["codes", "issue", "--batch", batch.batch_no, "--count", "2000"])
    assert result.exit_code == 0, result.output
    codes = db.session.scalars(select(UnitCode.code).where(UnitCode.batch_id == batch.id)).all()
    assert len(codes) == len(set(codes)) == 2003
    for count in ("0", "1000000000"):
        refused = runner.invoke(
            args=["codes", "issue", "--batch", batch.batch_no, "--count", count]
        )
        assert refused.exit_code != 0 and "100000" in refused.output
    loose = runner.invoke(
        args=["codes", "issue", "--batch", batch.batch_no, "--count", "1", "--batch-code"]
    )
    assert loose.exit_code == 0 and "batch code" in loose.output


def test_recalled_batches_get_no_new_codes(db, wine):
    batch, _ = wine
    change_state(batch, BatchState.RECALLED, reason="召回")
    from backend.core.errors import Conflict

    with pytest.raises(Conflict):
        issue_codes(batch, 1)


def test_a_scan_without_a_link_or_with_a_silly_region(client, db, wine):
    _, codes = wine
    missing = client.get("/api/v1/scan")
    assert missing.status_code == 422 and missing.get_json()["error"] == "bad_link"
    long_link = client.get("/api/v1/scan?q=" + "x" * 3000)
    assert long_link.status_code == 422
    odd = client.get(f"/api/v1/scan/{codes[0]}?region=" + quote("<b>x</b>" * 20))
    assert odd.status_code == 200
    recorder.flush()
    assert db.session.scalar(select(ScanEvent.region)) is None  # implausible: not kept


def test_query_parameters_are_documented(client, db):
    spec = client.get("/api/v1/openapi.json").get_json()
    names = {p["name"] for p in spec["paths"]["/api/v1/scan"]["get"]["parameters"]}
    assert {"q", "scancode_time", "region"} <= names
