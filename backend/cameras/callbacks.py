"""What Yipin answers the streaming server: who may publish, who may play, who went offline.

nginx-rtmp (``on_publish``, ``on_update``, ``on_publish_done``, ``on_play``) and SRS
(``http_hooks``: ``on_publish``, ``on_unpublish``, ``on_play``) ask the same questions in
different shapes; :mod:`backend.cameras.hooks` reads the shapes, this module decides.

- **Publish** is allowed only for a known, enabled camera of an open workshop, carried by
  this kind of server, pushing to our application with the camera's *current* key. Refusals
  of a known camera are recorded as ``publish_refused`` events with the reason.
- **Update** (nginx-rtmp asks every ``notify_update_timeout`` while a camera publishes)
  repeats the check, so a rotated key or a disabled camera drops the stream within one
  interval; an allowed update keeps ``last_seen_at`` fresh.
- **Publish done** marks the camera offline, unless it comes from another connection than
  the one publishing (a second connection the server refused with "already publishing").
- **Play** (RTMP) needs a signed token like our HLS links (``expires`` and ``token``).

Everything flushes and nothing commits: the hook view commits once the decision is made.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.cameras.links import playback_key
from backend.cameras.models import Camera, CameraEventKind, StreamProvider
from backend.cameras.signing import STREAM_NAME, BadSignature, verify_token
from backend.cameras.status import add_event, mark_live, mark_offline
from backend.config import address_allowed
from backend.extensions import db
from backend.registry.models import WorkshopStatus

log = logging.getLogger(__name__)

# Why a publish (or an update) was refused; stable words, kept in the event's detail.
UNKNOWN_STREAM = "unknown_stream"
WRONG_APP = "wrong_app"
WRONG_PROVIDER = "wrong_provider"
DISABLED = "camera_disabled"
WORKSHOP_CLOSED = "workshop_closed"
WRONG_KEY = "wrong_key"
CLOSED_STATUSES = (WorkshopStatus.CANCELLED,)  # a suspended workshop stays watched


@dataclass(frozen=True)
class Decision:
    """The answer to the streaming server: allowed or not, and why (a stable word)."""

    allowed: bool
    reason: str = "ok"
    camera_id: int | None = None


@dataclass(frozen=True)
class Publisher:
    """Who is talking to the streaming server: its address and connection id."""

    addr: str = ""
    client_id: str = ""

    @property
    def id(self) -> str:
        """The connection's identity as stored on the camera."""
        return f"{self.addr}#{self.client_id}"[:80]


def trusted_caller(remote_addr: str | None, secret: str | None) -> bool:
    """Whether a callback comes from our streaming server.

    Trusted: the shared STREAMING_CALLBACK_SECRET (compared in constant time), or an address
    inside STREAMING_ALLOWED_ADDRS. With neither configured nobody is trusted.
    """
    config = current_app.config
    expected = config.get("STREAMING_CALLBACK_SECRET")
    if expected and secret and hmac.compare_digest(expected.encode(), secret.encode()):
        return True
    return address_allowed(remote_addr, config.get("STREAMING_ALLOWED_ADDRS"))


def find_camera(stream: str) -> Camera | None:
    """The camera streaming as *stream* (with its workshop), or None."""
    if not STREAM_NAME.match(stream or ""):
        return None
    return db.session.scalar(
        select(Camera).options(selectinload(Camera.workshop)).where(Camera.stream_name == stream)
    )


def _refusal(camera: Camera | None, app: str, key: str, provider: StreamProvider) -> str | None:
    """Why *camera* may not publish with *key* to *app* on *provider*'s server (None: it may)."""
    if camera is None:
        return UNKNOWN_STREAM
    if app != current_app.config["STREAMING_APP"]:
        return WRONG_APP
    if camera.provider is not provider:
        return WRONG_PROVIDER
    if not camera.enabled:
        return DISABLED
    if camera.workshop.status in CLOSED_STATUSES:
        return WORKSHOP_CLOSED
    if not key or not hmac.compare_digest(camera.stream_key.encode(), key.encode()):
        return WRONG_KEY
    return None


def _stale(camera: Camera, now: datetime) -> bool:
    """Whether the streaming server has not mentioned live *camera* for STREAM_STALE_AFTER."""
    limit = timedelta(seconds=current_app.config["STREAM_STALE_AFTER"])
    return camera.last_seen_at is None or camera.last_seen_at < now - limit


def on_publish(
    *,
    stream: str,
    key: str,
    app: str,
    publisher: Publisher,
    provider: StreamProvider,
    now: datetime,
) -> Decision:
    """May *publisher* publish *stream* with *key*? Marks the camera live when it may."""
    camera = find_camera(stream)
    reason = _refusal(camera, app, key, provider)
    if reason is not None:
        if camera is not None:
            add_event(camera, CameraEventKind.PUBLISH_REFUSED, now, publisher.addr, reason)
            db.session.flush()
        log.info("publish of %r from %s refused: %s", stream[:64], publisher.addr, reason)
        return Decision(False, reason, camera.id if camera else None)
    if camera.is_live and camera.publisher_id != publisher.id:
        if not _stale(camera, now):
            # Another connection is publishing and was heard of lately: the server turns
            # this one away itself ("already publishing"); nothing changes here.
            return Decision(True, "already_live", camera.id)
        mark_offline(camera, camera.last_seen_at or now, CameraEventKind.PROBE_DOWN, detail="stale")
    mark_live(camera, now, CameraEventKind.PUBLISH, addr=publisher.addr, publisher_id=publisher.id)
    return Decision(True, "ok", camera.id)


def on_update(
    *,
    stream: str,
    key: str,
    app: str,
    publisher: Publisher,
    provider: StreamProvider,
    now: datetime,
) -> Decision:
    """A publishing camera is still there: still allowed? (A refusal drops the stream.)"""
    camera = find_camera(stream)
    reason = _refusal(camera, app, key, provider)
    if reason is not None:
        if camera is not None:
            add_event(camera, CameraEventKind.PUBLISH_REFUSED, now, publisher.addr, reason)
            db.session.flush()
        log.info("stream %r from %s dropped: %s", stream[:64], publisher.addr, reason)
        return Decision(False, reason, camera.id if camera else None)
    # The connection that keeps reporting is the one publishing (it may have replaced one
    # whose end the server never told us about).
    mark_live(camera, now, CameraEventKind.PUBLISH, addr=publisher.addr, publisher_id=publisher.id)
    return Decision(True, "ok", camera.id)


def on_publish_done(*, stream: str, publisher: Publisher, now: datetime) -> Decision:
    """A connection stopped publishing *stream*: offline, if it was the one publishing."""
    camera = find_camera(stream)
    if camera is None or not camera.is_live:
        return Decision(True, "not_live", camera.id if camera else None)
    if camera.publisher_id and camera.publisher_id != publisher.id:
        return Decision(True, "other_connection", camera.id)
    mark_offline(camera, now, CameraEventKind.PUBLISH_DONE, addr=publisher.addr)
    return Decision(True, "ok", camera.id)


def on_play(*, stream: str, expires: str, token: str, now: datetime) -> Decision:
    """May someone play *stream* over RTMP? Only with a signed, unexpired token."""
    camera = find_camera(stream)
    if camera is None or not camera.enabled:
        return Decision(False, UNKNOWN_STREAM if camera is None else DISABLED)
    try:
        verify_token(playback_key(), stream, expires or "", token or "", now)
    except BadSignature as exc:
        return Decision(False, str(exc).replace(" ", "_"), camera.id)
    return Decision(True, "ok", camera.id)
