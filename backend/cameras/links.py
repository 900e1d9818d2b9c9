"""The links a camera needs, from the app's settings: where it pushes, where people watch.

Cameras of our own streaming servers (nginx-rtmp, SRS) push to ``STREAMING_RTMP_URL`` with
their stream key and are watched through HMAC-signed HLS links under
``STREAMING_HLS_BASE_URL`` (see :mod:`backend.cameras.signing`). Tencent Cloud cameras push
to ``TENCENT_LIVE_PUSH_DOMAIN`` and are watched on ``TENCENT_LIVE_PLAY_DOMAIN``, both signed
with Tencent's ``txSecret``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app

from backend.cameras.models import Camera, StreamProvider
from backend.cameras.signing import derive_key, signed_hls_url, tencent_url
from backend.core.time import utcnow


def playback_key() -> bytes:
    """The HMAC key of playback links (PLAYBACK_SIGNING_KEY, else derived from SECRET_KEY)."""
    config = current_app.config
    explicit = config.get("PLAYBACK_SIGNING_KEY")
    if explicit:
        return explicit.encode()
    return derive_key(config["SECRET_KEY"], "playback")


def _public_host() -> str:
    """PUBLIC_HOST without its port (e.g. for the RTMP URL)."""
    return urlsplit(f"//{current_app.config['PUBLIC_HOST']}").hostname or "localhost"


def hls_base_url() -> str:
    """Where the signed HLS paths start (STREAMING_HLS_BASE_URL, else <public host>/hls)."""
    config = current_app.config
    base = config.get("STREAMING_HLS_BASE_URL")
    if base:
        return base.rstrip("/")
    return f"{config['PUBLIC_SCHEME']}://{config['PUBLIC_HOST']}/hls"


def rtmp_base_url() -> str:
    """Where cameras of our own servers push (STREAMING_RTMP_URL, else rtmp://<host>/live)."""
    config = current_app.config
    base = config.get("STREAMING_RTMP_URL")
    if base:
        return base.rstrip("/")
    return f"rtmp://{_public_host()}/{config['STREAMING_APP']}"


def tencent_configured(kind: str = "play") -> bool:
    """Whether Tencent Cloud live's *kind* ("push" or "play") domain and key are set."""
    config = current_app.config
    name = kind.upper()
    return bool(
        config.get(f"TENCENT_LIVE_{name}_DOMAIN") and config.get(f"TENCENT_LIVE_{name}_KEY")
    )


def link_expiry(now: datetime | None = None, ttl: int | None = None) -> int:
    """The Unix time a playback link made *now* stops working (PLAYBACK_LINK_TTL later)."""
    now = now or utcnow()
    ttl = ttl if ttl is not None else current_app.config["PLAYBACK_LINK_TTL"]
    return int(now.timestamp()) + ttl


def playback_url(camera: Camera, now: datetime | None = None, ttl: int | None = None) -> str | None:
    """A signed HLS link to *camera*'s stream, or None when its provider is not configured."""
    expires = link_expiry(now, ttl)
    if camera.provider is StreamProvider.TENCENT:
        if not tencent_configured("play"):
            return None
        config = current_app.config
        return tencent_url(
            "https",
            config["TENCENT_LIVE_PLAY_DOMAIN"],
            config["TENCENT_LIVE_APP"],
            camera.stream_name,
            config["TENCENT_LIVE_PLAY_KEY"],
            expires,
        )
    return signed_hls_url(hls_base_url(), playback_key(), camera.stream_name, expires)


def push_url(camera: Camera, now: datetime | None = None) -> str | None:
    """Where *camera* pushes, credentials included (for regulators setting it up).

    Our servers: ``<STREAMING_RTMP_URL>/<stream>?key=<stream key>``; Tencent: a push URL
    signed for TENCENT_LIVE_PUSH_DAYS days (None when Tencent is not configured).
    """
    if camera.provider is StreamProvider.TENCENT:
        if not tencent_configured("push"):
            return None
        config = current_app.config
        expires = (now or utcnow()) + timedelta(days=config["TENCENT_LIVE_PUSH_DAYS"])
        return tencent_url(
            "rtmp",
            config["TENCENT_LIVE_PUSH_DOMAIN"],
            config["TENCENT_LIVE_APP"],
            camera.stream_name,
            config["TENCENT_LIVE_PUSH_KEY"],
            int(expires.timestamp()),
        )
    return f"{rtmp_base_url()}/{camera.stream_name}?key={camera.stream_key}"
