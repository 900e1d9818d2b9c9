"""Secrets never reach the logs.

The app's JSON logs (and every library's records, at DEBUG as well as at the default INFO)
are captured while people log in to the console (right and wrong passwords), operators log
in with WeChat against the fake WeChat server (code2session's session key, the API token,
WeChat's access token for the content check of a complaint), consumers scan, cameras publish
with their stream keys, the HLS server checks signed playback links and Prometheus scrapes
with its token. No password, token, session key, stream key, signing key, callback secret,
WeChat secret or SECRET_KEY may appear in what was logged.
"""

from __future__ import annotations

import io
import logging

import pytest

from backend.cameras.links import playback_key
from backend.cameras.signing import playback_token, signed_hls_url
from backend.core.time import utcnow
from backend.observability.logs import configure_logging
from tests.support.console import PASSWORD, console_user, login
from tests.support.video import SECRET, make_camera, nginx_call

METRICS_TOKEN = "metrics-token-9f8e7d6c5b4a"


@pytest.fixture(params=["INFO", "DEBUG"])
def captured(app, monkeypatch, request):
    """Everything logged during the test, as text (JSON lines), at the level given."""
    buffer = io.StringIO()
    root = logging.getLogger()
    level = root.level
    monkeypatch.setitem(app.config, "LOG_FORMAT", "json")
    monkeypatch.setitem(app.config, "LOG_LEVEL", request.param)
    configure_logging(app, stream=buffer)
    yield buffer
    for handler in list(root.handlers):
        if getattr(handler, "_yipin_handler", False):
            root.removeHandler(handler)
    root.setLevel(level)


def test_no_secret_is_ever_logged(app, client, db, wine, fake_wechat, captured, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", METRICS_TOKEN)
    monkeypatch.setitem(app.config, "METRICS_ALLOWED_ADDRS", "")
    batch, codes = wine
    secrets = {
        "password": PASSWORD,
        "SECRET_KEY": app.config["SECRET_KEY"],
        "WeChat secret": fake_wechat.secret,
        "callback secret": SECRET,
        "playback key": app.config["PLAYBACK_SIGNING_KEY"],
        "Tencent push key": app.config["TENCENT_LIVE_PUSH_KEY"],
        "Tencent play key": app.config["TENCENT_LIVE_PLAY_KEY"],
        "metrics token": METRICS_TOKEN,
    }

    # console: a wrong password, then the right one; the session cookie
    user = console_user()
    assert login(client, user, password=PASSWORD + "-wrong").status_code in (200, 401, 422)
    assert login(client, user).status_code == 302
    secrets["wrong password"] = PASSWORD + "-wrong"
    cookie = client.get_cookie("session")
    secrets["session cookie"] = cookie.value

    # WeChat login against the fake; the token it answers; a complaint checked by WeChat
    response = client.post("/api/v1/auth/wechat/login", json={"code": "logcode1"})
    assert response.status_code == 200, response.get_json()
    token = response.get_json()["token"]
    secrets |= {"session key": "sk-logcode1", "API token": token}
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}x"}).status_code == 401
    )
    complaint = client.post(
        "/api/v1/complaints",
        json={"content": "酒味不对", "code": codes[0]},
        headers=headers,
    )
    assert complaint.status_code == 201, complaint.get_json()
    for number, access_token in enumerate(fake_wechat.tokens):
        secrets[f"WeChat access token {number}"] = access_token

    # scans
    assert client.get(f"/t/{codes[0]}").status_code == 200
    assert client.get(f"/api/v1/scan/{codes[1]}").status_code == 200

    # cameras publish with their keys; the HLS server checks signed links
    camera = make_camera(workshop=batch.product.workshop)
    secrets["stream key"] = camera.stream_key
    assert nginx_call(client, "publish", camera).status_code == 200
    assert nginx_call(client, "publish", camera, key=camera.stream_key + "x").status_code == 403
    with app.test_request_context():
        key = playback_key()
    expires = int(utcnow().timestamp()) + 600
    link = signed_hls_url("https://live.yipin.test/hls", key, camera.stream_name, expires)
    secrets["playback token"] = playback_token(key, camera.stream_name, expires)
    path = "/" + link.split("/", 3)[3]
    auth = {"X-Original-URI": path, "X-Streaming-Secret": SECRET}
    assert client.get("/streaming/playback-auth", headers=auth).status_code == 204
    tampered = {**auth, "X-Original-URI": path.replace("/index", "/other")}
    assert client.get("/streaming/playback-auth", headers=tampered).status_code == 403

    # Prometheus with its token (and someone guessing)
    bearer = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    outside = {"REMOTE_ADDR": "203.0.113.7"}
    assert client.get("/metrics", headers=bearer, environ_base=outside).status_code == 200
    assert client.get("/metrics", environ_base=outside).status_code == 403

    logged = captured.getvalue()
    assert '"request_id"' in logged and "/api/v1/auth/wechat/login" in logged  # it did log
    leaked = {name for name, value in secrets.items() if value and value in logged}
    assert not leaked, f"secrets in the logs: {sorted(leaked)}"


def test_library_records_are_redacted():
    from backend.core.security import redact

    line = '"GET /cgi-bin/token?grant_type=client_credential&appid=wx1&secret=s3cr3t HTTP/1.1" 200'
    assert "s3cr3t" not in redact(line) and "appid=wx1" in redact(line)
    assert "abc.def" not in redact("Authorization: Bearer abc.def.ghi-123")
    assert redact("errcode=40001 errmsg=invalid") == "errcode=40001 errmsg=invalid"
