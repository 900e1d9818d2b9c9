"""A small fake of WeChat's HTTP API on 127.0.0.1, so the real wechatpy code path runs.

It answers the token endpoint, getwxacodeunlimit, jscode2session, phone numbers and the text
check msgSecCheck (87014 for text holding one of ``risky_words``) the way
WeChat's documentation describes, records every call, and can be told to fail next.
"""

from __future__ import annotations

import io
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image


@dataclass
class FakeWeChat:
    """State of the fake: issued tokens, recorded calls and queued failures."""

    appid: str = "wx-test-appid"
    secret: str = "test-secret"
    tokens: list[str] = field(default_factory=list)
    calls: list[dict] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)
    url: str = ""
    risky_words: list[str] = field(default_factory=lambda: ["违规广告"])

    def fail_next(self, errcode: int, errmsg: str = "fake error") -> None:
        """Make the next API call (not the token call) answer with this error."""
        self.failures.append({"errcode": errcode, "errmsg": errmsg})

    def delay_next(self, seconds: float) -> None:
        """Make the next API call (not the token call) answer only after *seconds*."""
        self.delays.append(seconds)

    def _wait(self) -> None:
        """Sleep as a queued delay asks."""
        if self.delays:
            time.sleep(self.delays.pop(0))

    def calls_to(self, path: str) -> list[dict]:
        """Recorded calls to *path*."""
        return [c for c in self.calls if c["path"] == path]


def png_bytes() -> bytes:
    """A small real PNG, standing in for a mini-program code image."""
    buffer = io.BytesIO()
    Image.new("RGB", (43, 43), "white").save(buffer, format="PNG")
    return buffer.getvalue()


def make_handler(state: FakeWeChat):
    """The request handler bound to *state*."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output quiet
            pass

        def _send(self, body: bytes, content_type: str = "application/json") -> None:
            try:
                self.send_response(200)  # WeChat answers errors with 200 and an errcode
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a delayed answer)

        def _json(self, data: dict) -> None:
            self._send(json.dumps(data, ensure_ascii=False).encode())

        def _record(self, body: dict | None) -> tuple[str, dict]:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            state.calls.append({"path": parts.path, "query": query, "body": body})
            return parts.path, query

        def do_GET(self):
            path, query = self._record(None)
            if path == "/cgi-bin/token":
                if query.get("appid") != state.appid or query.get("secret") != state.secret:
                    return self._json({"errcode": 40013, "errmsg": "invalid appid"})
                token = secrets.token_hex(16)
                state.tokens.append(token)
                return self._json({"access_token": token, "expires_in": 7200})
            if path == "/sns/jscode2session":
                state._wait()
                if state.failures:
                    return self._json(state.failures.pop(0))
                code = query.get("js_code", "")
                return self._json(
                    {
                        "openid": f"openid-{code}",
                        "session_key": "sk-" + code,
                        "unionid": f"unionid-{code}",
                    }
                )
            self.send_error(404)

        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else {}
            path, query = self._record(body)
            if query.get("access_token") not in state.tokens:
                return self._json({"errcode": 40001, "errmsg": "invalid credential"})
            state._wait()
            if state.failures:
                return self._json(state.failures.pop(0))
            if path == "/wxa/getwxacodeunlimit":
                if not body.get("scene") or len(body["scene"]) > 32:
                    return self._json({"errcode": 40169, "errmsg": "invalid scene"})
                return self._send(png_bytes(), "image/png")
            if path == "/wxa/business/getuserphonenumber":
                return self._json(
                    {
                        "errcode": 0,
                        "errmsg": "ok",
                        "phone_info": {
                            "phoneNumber": "13800138000",
                            "purePhoneNumber": "13800138000",
                            "countryCode": "86",
                        },
                    }
                )
            if path == "/wxa/msg_sec_check":
                content = body.get("content", "")
                if any(word in content for word in state.risky_words):
                    return self._json({"errcode": 87014, "errmsg": "risky content"})
                return self._json({"errcode": 0, "errmsg": "ok"})
            if path == "/cgi-bin/message/subscribe/send":
                return self._json({"errcode": 0, "errmsg": "ok"})
            self.send_error(404)

    return Handler


@pytest.fixture()
def fake_wechat(app, monkeypatch):
    """Run the fake on a loopback port and point the app's WeChat settings at it."""
    state = FakeWeChat()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/"
    monkeypatch.setitem(app.config, "WECHAT_APPID", state.appid)
    monkeypatch.setitem(app.config, "WECHAT_SECRET", state.secret)
    monkeypatch.setitem(app.config, "WECHAT_API_BASE_URL", state.url)
    app.extensions.pop("wechat_storage", None)  # no token from an earlier fake
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        app.extensions.pop("wechat_storage", None)
