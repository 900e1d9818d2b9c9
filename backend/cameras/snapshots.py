"""A still picture of each live camera, for pages and the dashboard, taken with ffmpeg.

ffmpeg reads the camera's own signed playback link (so it goes through the same checks as
any viewer), decodes one frame and writes a JPEG to its standard output. The picture must
be a real JPEG (its bytes are checked) of at most MAX_BYTES; it is stored through the file
storage, replaces the camera's previous snapshot, and the previous file is removed.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from backend.cameras.links import playback_url
from backend.cameras.models import Camera
from backend.core.time import utcnow
from backend.extensions import db
from backend.files.models import StoredFile
from backend.files.storage import delete_file, save_stream
from backend.files.uploads import sniff

log = logging.getLogger(__name__)

MAX_BYTES = 2 * 1024 * 1024
WIDTH = 640  # pixels; the height keeps the aspect ratio
Grab = Callable[[str], bytes | None]


class SnapshotFailed(Exception):
    """ffmpeg could not produce a picture; the message says why (for the logs)."""


def ffmpeg_command(source: str, ffmpeg: str = "ffmpeg") -> list[str]:
    """The ffmpeg command that writes one JPEG frame of *source* to standard output."""
    return [
        ffmpeg,
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostdin",
        "-i",
        source,
        "-frames:v",
        "1",
        "-vf",
        f"scale='min({WIDTH},iw)':-2",
        "-f",
        "image2pipe",
        "-c:v",
        "mjpeg",
        "-q:v",
        "5",
        "pipe:1",
    ]


def grab_frame(source: str) -> bytes:
    """One JPEG frame of *source* by ffmpeg (FFMPEG_PATH, SNAPSHOT_TIMEOUT seconds)."""
    config = current_app.config
    try:
        done = subprocess.run(  # noqa: S603 (fixed program, URL as one argument)
            ffmpeg_command(source, config["FFMPEG_PATH"]),
            capture_output=True,
            timeout=config["SNAPSHOT_TIMEOUT"],
            check=False,
        )
    except FileNotFoundError:
        raise SnapshotFailed(f"ffmpeg not found at {config['FFMPEG_PATH']!r}") from None
    except subprocess.TimeoutExpired:
        raise SnapshotFailed("ffmpeg timed out") from None
    if done.returncode != 0:
        raise SnapshotFailed(done.stderr.decode(errors="replace").strip()[-300:] or "failed")
    return done.stdout


def take_snapshot(camera: Camera, now: datetime, grab: Grab = grab_frame) -> StoredFile:
    """Store a fresh picture of *camera* as its snapshot; :class:`SnapshotFailed` if none."""
    source = playback_url(camera, now, ttl=120)
    if source is None:
        raise SnapshotFailed("the camera's provider is not configured")
    data = grab(source) or b""
    if len(data) > MAX_BYTES or sniff(data[:16]) != "image/jpeg":
        raise SnapshotFailed(f"not a JPEG picture ({len(data)} bytes)")
    stored = save_stream(
        lambda out: out.write(data),
        filename=f"{camera.stream_name}-{now:%Y%m%d%H%M%S}.jpg",
        content_type="image/jpeg",
        prefix="snapshots",
    )
    previous = (
        db.session.get(StoredFile, camera.snapshot_file_id) if camera.snapshot_file_id else None
    )
    camera.snapshot_file_id = stored.id
    db.session.flush()
    if previous is not None:
        delete_file(previous)
    return stored


@dataclass
class SnapshotReport:
    """What one round of snapshots did."""

    taken: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """The report as JSON-able values (a task's result)."""
        return {"taken": self.taken, "failed": {str(k): v for k, v in self.failed.items()}}


def take_snapshots(
    now: datetime | None = None,
    *,
    grab: Grab = grab_frame,
    checkpoint: Callable[[], None] = lambda: None,
    rollback: Callable[[], None] = lambda: None,
) -> SnapshotReport:
    """A snapshot of every enabled live camera; failures are reported, not raised."""
    now = now or utcnow()
    report = SnapshotReport()
    ids = db.session.scalars(
        select(Camera.id)
        .where(Camera.is_live.is_(True), Camera.enabled.is_(True))
        .order_by(Camera.id)
    ).all()
    for camera_id in ids:
        camera = db.session.get(Camera, camera_id)
        try:
            take_snapshot(camera, now, grab)
        except SnapshotFailed as exc:
            log.info("no snapshot of camera %s: %s", camera_id, exc)
            report.failed[camera_id] = str(exc)
            rollback()
            continue
        report.taken.append(camera_id)
        checkpoint()
    return report
