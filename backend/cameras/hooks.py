"""The streaming server's door into Yipin, under ``/streaming/`` (not the console: no login,
no CSRF; only the streaming server is trusted, by shared secret or address).

- ``POST /streaming/nginx-rtmp``: every nginx-rtmp callback (``on_publish``, ``on_update``,
  ``on_publish_done``, ``on_play``), form-encoded with ``call``, ``app``, ``name``, ``addr``,
  ``clientid`` and the stream URL's own arguments (``key``, or ``expires`` and ``token``).
  2xx allows, 403 refuses (nginx then drops the connection).
- ``POST /streaming/srs``: SRS ``http_hooks`` (JSON with ``action``); allowed answers are
  200 with ``{"code": 0}``, refusals 403 with a non-zero code.
- ``GET /streaming/playback-auth``: nginx's ``auth_request`` for every HLS request; the
  original path (``X-Original-URI``) must be a signed, unexpired playback link.

The shared secret comes in the ``secret`` argument of the callback URL (nginx-rtmp cannot
add headers) or the ``X-Streaming-Secret`` header. Refusals use the one JSON error shape.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from urllib.parse import parse_qs

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from backend.cameras import callbacks
from backend.cameras.callbacks import Decision, Publisher
from backend.cameras.links import playback_key
from backend.cameras.models import StreamProvider
from backend.cameras.signing import BadSignature, verify_signed_path
from backend.core.errors import DomainError
from backend.core.i18n import gettext as _
from backend.core.time import utcnow
from backend.core.transactions import keep_writes
from backend.extensions import db

log = logging.getLogger(__name__)

blueprint = Blueprint("camera_hooks", __name__, url_prefix="/streaming")
# nginx-rtmp calls that need no decision (the connection is allowed to go on).
NGINX_NOOP = {"connect", "done", "play_done", "update_play", "record_done"}
SRS_NOOP = {"on_connect", "on_close", "on_stop", "on_dvr", "on_hls", "on_hls_notify"}


def json_error(status: int, slug: str, message: str, errors: dict | None = None):
    """The one error shape, as the API uses it (the streaming server reads only the status)."""
    body = {
        "code": status,
        "status": HTTPStatus(status).phrase,
        "error": slug,
        "message": message,
        "errors": errors or {},
    }
    return jsonify(body), status


@blueprint.errorhandler(DomainError)
def domain_error(exc: DomainError):
    """A service said no: nothing is kept."""
    db.session.rollback()
    return json_error(exc.status_code, exc.slug, exc.message, exc.errors)


@blueprint.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    """Werkzeug's errors (bad JSON, wrong method) in the same shape."""
    db.session.rollback()
    status = exc.code or 500
    slug = (exc.name or "error").lower().replace(" ", "_")
    return json_error(status, slug, exc.description or exc.name)


@blueprint.before_request
def only_the_streaming_server():
    """Refuse every caller but the streaming server (shared secret or allowed address)."""
    secret = request.args.get("secret") or request.headers.get("X-Streaming-Secret")
    if callbacks.trusted_caller(request.remote_addr, secret):
        return None
    log.warning("streaming callback from untrusted %s refused", request.remote_addr)
    return json_error(403, "streaming_caller_untrusted", _("只接受直播服务器的回调。"))


def _answer(decision: Decision):
    """Answer the streaming server; what the decision recorded is kept, refused or not."""
    keep_writes()
    if decision.allowed:
        return jsonify(code=0, result=decision.reason)
    return json_error(
        403,
        "stream_refused",
        _("直播服务器的请求被拒绝：%(reason)s。", reason=decision.reason),
        {"reason": [decision.reason]},
    )


@blueprint.post("/nginx-rtmp")
def nginx_rtmp():
    """Decide an nginx-rtmp callback (publish, update, publish done, play)."""
    form = request.form
    call = form.get("call", "")
    stream = form.get("name", "")
    now = utcnow()
    publisher = Publisher(form.get("addr", ""), form.get("clientid", ""))
    provider = StreamProvider.NGINX_RTMP
    if call == "publish":
        decision = callbacks.on_publish(
            stream=stream,
            key=form.get("key", ""),
            app=form.get("app", ""),
            publisher=publisher,
            provider=provider,
            now=now,
        )
    elif call == "update_publish":
        decision = callbacks.on_update(
            stream=stream,
            key=form.get("key", ""),
            app=form.get("app", ""),
            publisher=publisher,
            provider=provider,
            now=now,
        )
    elif call == "publish_done":
        decision = callbacks.on_publish_done(stream=stream, publisher=publisher, now=now)
    elif call == "play":
        decision = callbacks.on_play(
            stream=stream, expires=form.get("expires", ""), token=form.get("token", ""), now=now
        )
    elif call in NGINX_NOOP:
        decision = Decision(True, "ignored")
    else:
        return json_error(
            400, "unknown_call", _("未知的回调类型。"), {"call": [_("未知的回调类型。")]}
        )
    return _answer(decision)


@blueprint.post("/srs")
def srs():
    """Decide an SRS http_hooks callback (on_publish, on_unpublish, on_play)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return json_error(400, "bad_request", _("回调内容须为 JSON 对象。"))
    action = str(body.get("action", ""))
    stream = str(body.get("stream", ""))
    params = parse_qs(str(body.get("param", "")).lstrip("?"))
    now = utcnow()
    publisher = Publisher(str(body.get("ip", "")), str(body.get("client_id", "")))
    if action == "on_publish":
        decision = callbacks.on_publish(
            stream=stream,
            key=params.get("key", [""])[0],
            app=str(body.get("app", "")),
            publisher=publisher,
            provider=StreamProvider.SRS,
            now=now,
        )
    elif action == "on_unpublish":
        decision = callbacks.on_publish_done(stream=stream, publisher=publisher, now=now)
    elif action == "on_play":
        decision = callbacks.on_play(
            stream=stream,
            expires=params.get("expires", [""])[0],
            token=params.get("token", [""])[0],
            now=now,
        )
    elif action in SRS_NOOP:
        decision = Decision(True, "ignored")
    else:
        return json_error(
            400, "unknown_call", _("未知的回调类型。"), {"action": [_("未知的回调类型。")]}
        )
    return _answer(decision)


@blueprint.route("/playback-auth", methods=["GET", "POST"])
def playback_auth():
    """nginx auth_request: 204 for a signed, unexpired HLS path, 403 otherwise."""
    original = request.headers.get("X-Original-URI", "")
    try:
        verify_signed_path(original, playback_key(), utcnow())
    except BadSignature as exc:
        if current_app.debug:
            log.info("playback of %r refused: %s", original[:200], exc)
        return json_error(403, "playback_refused", _("播放链接无效或已过期。"))
    return "", 204
