"""Keeping ``is_live`` honest where no callback tells us.

- Cameras on **Tencent Cloud live** send us no callbacks: their signed playlist is fetched
  every STREAM_PROBE_INTERVAL seconds; a playlist with segments means live (``probe_up``),
  anything else offline (``probe_down``).
- Cameras on **our servers** are reported by callbacks, and nginx-rtmp repeats
  ``on_update`` while they publish. One the server has not mentioned for
  STREAM_STALE_AFTER seconds (the server crashed, a ``publish_done`` got lost) is marked
  offline as of the last time it was heard of.

Functions flush; :func:`check_streams` calls *checkpoint* (a commit, in the task) after each
camera, so one slow playlist does not hold the others' news.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from backend.cameras.links import playback_url
from backend.cameras.models import Camera, CameraEventKind, StreamProvider
from backend.cameras.status import mark_live, mark_offline
from backend.core.time import utcnow
from backend.extensions import db

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 5.0  # seconds for one playlist
MAX_PLAYLIST = 256 * 1024  # bytes read of a playlist
CALLBACK_PROVIDERS = (StreamProvider.NGINX_RTMP, StreamProvider.SRS)
PROBED_PROVIDERS = (StreamProvider.TENCENT,)
Fetch = Callable[[str, float], tuple[int, bytes]]


def fetch_playlist(url: str, timeout: float) -> tuple[int, bytes]:
    """GET *url*: (status, first bytes of the body); status 0 when it could not be reached."""
    request = urllib.request.Request(url, headers={"User-Agent": "Yipin stream probe"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read(MAX_PLAYLIST)
    except urllib.error.HTTPError as exc:
        return exc.code, b""
    except (urllib.error.URLError, OSError, ValueError) as exc:
        log.info("probe of %s failed: %s", url.split("?")[0], exc)
        return 0, b""


def playlist_is_live(status: int, body: bytes) -> bool:
    """An HLS playlist that names at least one segment."""
    return status == 200 and body.lstrip().startswith(b"#EXTM3U") and b"#EXTINF" in body


@dataclass
class CheckReport:
    """What one round of checks found."""

    probed: int = 0
    went_live: list[int] = field(default_factory=list)
    went_offline: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        """The report as JSON-able values (a task's result)."""
        return {
            "probed": self.probed,
            "went_live": self.went_live,
            "went_offline": self.went_offline,
        }


def probe_camera(camera: Camera, now: datetime, fetch: Fetch | None = None) -> bool | None:
    """Fetch *camera*'s playlist and record what it shows; None when it cannot be probed."""
    url = playback_url(camera, now, ttl=120)
    if url is None:
        return None
    status, body = (fetch or fetch_playlist)(url, PROBE_TIMEOUT)
    if playlist_is_live(status, body):
        mark_live(camera, now, CameraEventKind.PROBE_UP)
        return True
    mark_offline(camera, now, CameraEventKind.PROBE_DOWN, detail=f"playlist status {status}")
    return False


def sweep_stale(now: datetime) -> list[int]:
    """Mark offline the live cameras of our servers not heard of for STREAM_STALE_AFTER."""
    limit = now - timedelta(seconds=current_app.config["STREAM_STALE_AFTER"])
    stale = db.session.scalars(
        select(Camera).where(
            Camera.is_live.is_(True),
            Camera.provider.in_(CALLBACK_PROVIDERS),
            (Camera.last_seen_at < limit) | Camera.last_seen_at.is_(None),
        )
    ).all()
    for camera in stale:
        mark_offline(camera, camera.last_seen_at or now, CameraEventKind.PROBE_DOWN, detail="stale")
    return [c.id for c in stale]


def check_streams(
    now: datetime | None = None,
    *,
    fetch: Fetch | None = None,
    checkpoint: Callable[[], None] = lambda: None,
) -> CheckReport:
    """Sweep stale cameras, then probe every enabled camera without callbacks."""
    now = now or utcnow()
    report = CheckReport(went_offline=sweep_stale(now))
    checkpoint()
    cameras = db.session.scalars(
        select(Camera)
        .where(Camera.provider.in_(PROBED_PROVIDERS), Camera.enabled.is_(True))
        .order_by(Camera.id)
    ).all()
    for camera in cameras:
        was_live = camera.is_live
        live = probe_camera(camera, now, fetch)
        if live is None:
            continue
        report.probed += 1
        if live and not was_live:
            report.went_live.append(camera.id)
        elif not live and was_live:
            report.went_offline.append(camera.id)
        checkpoint()
    return report
