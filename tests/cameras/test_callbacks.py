"""The streaming server's callbacks: who may publish and play, who is live, whom we trust.

Posted as nginx-rtmp and SRS send them (tests/support/video.py); the decisions, the
camera's state and the events recorded are checked, and that an untrusted caller changes
nothing.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from backend.cameras.links import playback_key
from backend.cameras.models import CameraEvent, CameraEventKind, StreamProvider
from backend.cameras.signing import playback_token, signed_hls_url
from backend.core.time import utcnow
from backend.registry.models import WorkshopStatus
from tests.factories import WorkshopFactory
from tests.support.video import SECRET, make_camera, nginx_call


def events(db, camera) -> list[tuple]:
    """(kind, detail) of the camera's events, oldest first."""
    return [
        (e.kind, e.detail)
        for e in db.session.scalars(
            select(CameraEvent)
            .where(CameraEvent.camera_id == camera.id)
            .order_by(CameraEvent.at, CameraEvent.id)
        )
    ]


def event_count(db) -> int:
    return db.session.scalar(select(func.count(CameraEvent.id)))


# --- publish ---------------------------------------------------------------------------------


def test_a_known_camera_with_its_key_may_publish_and_shows_live(client, db):
    camera = make_camera()
    response = nginx_call(client, "publish", camera)
    assert response.status_code == 200
    assert response.get_json() == {"code": 0, "result": "ok"}
    db.session.refresh(camera)
    assert camera.is_live is True
    assert camera.last_seen_at is not None
    assert camera.publisher_id == "10.0.0.21#1"
    assert events(db, camera) == [(CameraEventKind.PUBLISH, None)]
    event = db.session.scalars(select(CameraEvent)).one()
    assert event.client_addr == "10.0.0.21"


def test_a_wrong_key_is_refused_and_recorded(client, db):
    camera = make_camera()
    response = nginx_call(client, "publish", camera, key="guessed")
    assert response.status_code == 403
    body = response.get_json()
    assert body["code"] == 403 and body["error"] == "stream_refused"
    assert body["errors"] == {"reason": ["wrong_key"]}
    assert set(body) == {"code", "status", "error", "message", "errors"}
    db.session.refresh(camera)
    assert camera.is_live is False
    assert events(db, camera) == [(CameraEventKind.PUBLISH_REFUSED, "wrong_key")]


def test_a_missing_key_is_refused(client, db):
    camera = make_camera()
    assert nginx_call(client, "publish", camera, key=None).status_code == 403
    assert events(db, camera) == [(CameraEventKind.PUBLISH_REFUSED, "wrong_key")]


def test_a_disabled_camera_may_not_publish(client, db):
    camera = make_camera(enabled=False)
    response = nginx_call(client, "publish", camera)
    assert response.status_code == 403
    assert response.get_json()["errors"]["reason"] == ["camera_disabled"]
    db.session.refresh(camera)
    assert camera.is_live is False


def test_a_rotated_key_no_longer_publishes_and_the_new_one_does(client, db):
    camera = make_camera()
    old_key = camera.stream_key
    camera.stream_key = "the-new-key-0123456789abcdef"
    db.session.flush()
    assert nginx_call(client, "publish", camera, key=old_key).status_code == 403
    assert nginx_call(client, "publish", camera).status_code == 200
    assert [k for k, _ in events(db, camera)] == [
        CameraEventKind.PUBLISH_REFUSED,
        CameraEventKind.PUBLISH,
    ]


def test_a_rotated_key_drops_a_running_stream_at_the_next_update(client, db):
    camera = make_camera()
    old_key = camera.stream_key
    assert nginx_call(client, "publish", camera).status_code == 200
    assert nginx_call(client, "update_publish", camera, time="30").status_code == 200
    camera.stream_key = "rotated-key-0123456789abcdef"
    db.session.flush()
    response = nginx_call(client, "update_publish", camera, key=old_key, time="60")
    assert response.status_code == 403  # nginx drops the stream, then says publish_done
    assert nginx_call(client, "publish_done", camera).status_code == 200
    db.session.refresh(camera)
    assert camera.is_live is False
    assert events(db, camera)[-2:] == [
        (CameraEventKind.PUBLISH_REFUSED, "wrong_key"),
        (CameraEventKind.PUBLISH_DONE, None),
    ]


def test_unknown_streams_wrong_application_and_wrong_provider_are_refused(client, db):
    camera = make_camera()
    srs_camera = make_camera(provider=StreamProvider.SRS)
    response = nginx_call(client, "publish", None, name="nobody", key="x")
    assert response.get_json()["errors"]["reason"] == ["unknown_stream"]
    response = nginx_call(client, "publish", None, name="../../etc", key="x")
    assert response.status_code == 403
    response = nginx_call(client, "publish", camera, app="other")
    assert response.get_json()["errors"]["reason"] == ["wrong_app"]
    response = nginx_call(client, "publish", srs_camera)
    assert response.get_json()["errors"]["reason"] == ["wrong_provider"]
    db.session.refresh(camera)
    assert camera.is_live is False


def test_a_cancelled_workshops_cameras_may_not_publish_but_a_suspended_ones_may(client, db):
    cancelled = make_camera(WorkshopFactory(status=WorkshopStatus.CANCELLED))
    suspended = make_camera(WorkshopFactory(status=WorkshopStatus.SUSPENDED))
    response = nginx_call(client, "publish", cancelled)
    assert response.get_json()["errors"]["reason"] == ["workshop_closed"]
    assert nginx_call(client, "publish", suspended).status_code == 200


# --- trust -------------------------------------------------------------------------------------


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", SECRET + "x"])
def test_callers_without_the_secret_are_refused_and_change_nothing(client, db, secret):
    camera = make_camera()
    response = nginx_call(client, "publish", camera, secret=secret)
    assert response.status_code == 403
    assert response.get_json()["error"] == "streaming_caller_untrusted"
    db.session.refresh(camera)
    assert camera.is_live is False
    assert event_count(db) == 0


def test_the_secret_may_come_in_a_header(client, db):
    camera = make_camera()
    response = client.post(
        "/streaming/nginx-rtmp",
        data={
            "call": "publish",
            "app": "live",
            "name": camera.stream_name,
            "key": camera.stream_key,
        },
        headers={"X-Streaming-Secret": SECRET},
    )
    assert response.status_code == 200


def test_an_allowed_address_is_trusted_without_the_secret(app, client, db, monkeypatch):
    camera = make_camera()
    monkeypatch.setitem(app.config, "STREAMING_CALLBACK_SECRET", None)
    monkeypatch.setitem(app.config, "STREAMING_ALLOWED_ADDRS", "10.9.0.0/16, 127.0.0.1")
    assert nginx_call(client, "publish", camera, secret=None).status_code == 200
    other = make_camera()
    response = client.post(
        "/streaming/nginx-rtmp",
        data={"call": "publish", "app": "live", "name": other.stream_name, "key": other.stream_key},
        environ_base={"REMOTE_ADDR": "192.0.2.7"},
    )
    assert response.status_code == 403


def test_with_neither_secret_nor_addresses_nobody_is_trusted(app, client, db, monkeypatch):
    camera = make_camera()
    monkeypatch.setitem(app.config, "STREAMING_CALLBACK_SECRET", None)
    monkeypatch.setitem(app.config, "STREAMING_ALLOWED_ADDRS", "")
    assert nginx_call(client, "publish", camera, secret=None).status_code == 403
    assert nginx_call(client, "publish", camera, secret="anything").status_code == 403


def test_unknown_calls_and_methods_are_refused_in_the_error_shape(client, db):
    response = nginx_call(client, "explode")
    assert response.status_code == 400
    assert response.get_json()["error"] == "unknown_call"
    for call in ("connect", "play_done", "done", "update_play"):
        assert nginx_call(client, call).status_code == 200


# --- publish done, duplicates, staleness -------------------------------------------------------


def test_publish_done_marks_the_camera_offline(client, db):
    camera = make_camera()
    nginx_call(client, "publish", camera)
    assert nginx_call(client, "publish_done", camera).status_code == 200
    db.session.refresh(camera)
    assert camera.is_live is False and camera.publisher_id is None
    assert [k for k, _ in events(db, camera)] == [
        CameraEventKind.PUBLISH,
        CameraEventKind.PUBLISH_DONE,
    ]
    # A second "done" (or one for a camera that is not live) changes nothing.
    assert nginx_call(client, "publish_done", camera).status_code == 200
    assert len(events(db, camera)) == 2


def test_a_second_connection_turned_away_does_not_end_the_first(client, db):
    camera = make_camera()
    nginx_call(client, "publish", camera, clientid="7")
    # nginx asks about a second connection with the right key; we allow it, nginx then
    # refuses it ("already publishing") and reports its end.
    response = nginx_call(client, "publish", camera, clientid="9")
    assert response.get_json()["result"] == "already_live"
    nginx_call(client, "publish_done", camera, clientid="9")
    db.session.refresh(camera)
    assert camera.is_live is True and camera.publisher_id == "10.0.0.21#7"
    assert [k for k, _ in events(db, camera)] == [CameraEventKind.PUBLISH]
    nginx_call(client, "publish_done", camera, clientid="7")
    db.session.refresh(camera)
    assert camera.is_live is False


def test_a_reconnect_after_a_silent_drop_takes_over(client, db):
    camera = make_camera()
    nginx_call(client, "publish", camera, clientid="7")
    # Ten minutes ago; nginx crashed five minutes ago and never said "done".
    published = db.session.scalars(select(CameraEvent)).one()
    published.at = utcnow() - timedelta(minutes=10)
    camera.last_seen_at = utcnow() - timedelta(minutes=5)
    db.session.flush()
    assert nginx_call(client, "publish", camera, clientid="1").get_json()["result"] == "ok"
    db.session.refresh(camera)
    assert camera.is_live is True and camera.publisher_id == "10.0.0.21#1"
    assert events(db, camera) == [
        (CameraEventKind.PUBLISH, None),
        (CameraEventKind.PROBE_DOWN, "stale"),
        (CameraEventKind.PUBLISH, None),
    ]


def test_updates_keep_the_camera_fresh_and_revive_a_lost_state(client, db):
    camera = make_camera()
    nginx_call(client, "publish", camera)
    db.session.refresh(camera)
    first = camera.last_seen_at
    camera.is_live, camera.publisher_id = False, None  # e.g. marked stale by the sweep
    db.session.flush()
    assert nginx_call(client, "update_publish", camera, time="30").status_code == 200
    db.session.refresh(camera)
    assert camera.is_live is True and camera.last_seen_at >= first
    assert camera.publisher_id == "10.0.0.21#1"


# --- play ------------------------------------------------------------------------------------


def test_rtmp_play_needs_a_signed_token(app, client, db):
    camera = make_camera()
    expires = int(utcnow().timestamp()) + 600
    with app.test_request_context():
        token = playback_token(playback_key(), camera.stream_name, expires)
    ok = nginx_call(client, "play", camera, expires=str(expires), token=token)
    assert ok.status_code == 200
    assert nginx_call(client, "play", camera).status_code == 403
    assert (
        nginx_call(client, "play", camera, expires=str(expires), token="x" * 43).status_code == 403
    )
    past = int(utcnow().timestamp()) - 1
    with app.test_request_context():
        old = playback_token(playback_key(), camera.stream_name, past)
    assert nginx_call(client, "play", camera, expires=str(past), token=old).status_code == 403
    assert event_count(db) == 0  # plays are not camera events


# --- SRS ---------------------------------------------------------------------------------------


def srs_call(client, action: str, camera, param: str = "", secret: str | None = SECRET, **extra):
    body = {
        "server_id": "vid-0xk9a40",
        "action": action,
        "client_id": "341w361a",
        "ip": "10.0.0.31",
        "vhost": "__defaultVhost__",
        "app": "live",
        "tcUrl": "rtmp://127.0.0.1:1935/live",
        "stream": camera.stream_name,
        "param": param,
        **extra,
    }
    url = "/streaming/srs" + (f"?secret={secret}" if secret else "")
    return client.post(url, json=body)


def test_srs_hooks_publish_unpublish_and_refuse(client, db):
    camera = make_camera(provider=StreamProvider.SRS)
    response = srs_call(client, "on_publish", camera, f"?key={camera.stream_key}")
    assert response.status_code == 200 and response.get_json()["code"] == 0
    db.session.refresh(camera)
    assert camera.is_live is True and camera.publisher_id == "10.0.0.31#341w361a"
    assert srs_call(client, "on_unpublish", camera).get_json()["code"] == 0
    db.session.refresh(camera)
    assert camera.is_live is False
    refused = srs_call(client, "on_publish", camera, "?key=wrong")
    assert refused.status_code == 403 and refused.get_json()["code"] != 0
    assert srs_call(client, "on_connect", camera).status_code == 200
    assert srs_call(client, "on_publish", camera, secret=None).status_code == 403


def test_srs_play_needs_a_signed_token_and_bad_bodies_are_refused(app, client, db):
    camera = make_camera(provider=StreamProvider.SRS)
    expires = int(utcnow().timestamp()) + 600
    with app.test_request_context():
        token = playback_token(playback_key(), camera.stream_name, expires)
    ok = srs_call(client, "on_play", camera, f"?expires={expires}&token={token}")
    assert ok.status_code == 200
    assert srs_call(client, "on_play", camera).status_code == 403
    bad = client.post(f"/streaming/srs?secret={SECRET}", data="not json")
    assert bad.status_code == 400 and bad.get_json()["error"] == "bad_request"
    assert srs_call(client, "on_fly", camera).status_code == 400


# --- playback auth (nginx auth_request) --------------------------------------------------------


def auth(client, uri: str, secret: str | None = SECRET):
    headers = {"X-Original-URI": uri}
    if secret:
        headers["X-Streaming-Secret"] = secret
    return client.get("/streaming/playback-auth", headers=headers)


def test_playback_auth_allows_signed_links_only(app, client, db):
    with app.test_request_context():
        key = playback_key()
    now = int(utcnow().timestamp())
    good = signed_hls_url("/hls", key, "w1-production-abc", now + 600)
    assert auth(client, good).status_code == 204
    assert auth(client, good.replace("index.m3u8", "12.ts")).status_code == 204
    assert auth(client, good + "?x=1").status_code == 204
    expired = signed_hls_url("/hls", key, "w1-production-abc", now - 1)
    assert auth(client, expired).status_code == 403
    forged = signed_hls_url("/hls", b"not our key", "w1-production-abc", now + 600)
    assert auth(client, forged).status_code == 403
    assert auth(client, "/hls/w1-production-abc/index.m3u8").status_code == 403
    assert auth(client, "").status_code == 403
    other_stream = good.replace("w1-production-abc", "w2-production-abc")
    assert auth(client, other_stream).status_code == 403
    refused = auth(client, good, secret=None)
    assert refused.status_code == 403
    assert refused.get_json()["error"] == "streaming_caller_untrusted"


# --- what consumers see ------------------------------------------------------------------------


def test_going_live_and_dark_shows_at_once_in_the_cached_scan_view(client, db, wine):
    from backend.cameras.models import Camera

    batch, codes = wine
    camera = db.session.scalars(select(Camera).where(Camera.workshop_id == batch.workshop_id)).one()
    camera.stream_key = "k" * 20
    db.session.flush()
    first = client.get(f"/api/v1/scan/{codes[0]}").get_json()["cameras"][0]
    assert first["live"] is False and first["playback_url"] is None
    nginx_call(client, "publish", camera)
    live = client.get(f"/api/v1/scan/{codes[0]}").get_json()["cameras"][0]
    assert live["live"] is True
    assert live["playback_url"].startswith("https://live.yipin.test/hls/")
    assert live["playback_url"].endswith(f"/{camera.stream_name}/index.m3u8")
    page = client.get(f"/t/{codes[1]}").get_data(as_text=True)
    assert live["playback_url"] in page and "hls.light.min.js" in page
    nginx_call(client, "publish_done", camera)
    dark = client.get(f"/api/v1/scan/{codes[0]}").get_json()["cameras"][0]
    assert dark["live"] is False and dark["playback_url"] is None
    page = client.get(f"/t/{codes[1]}").get_data(as_text=True)
    assert "当前未直播" in page and "hls.light.min.js" not in page
