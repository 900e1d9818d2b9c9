"""A camera going live or dark: its flags, its events, and the pages that show it.

Every change of ``Camera.is_live`` goes through :func:`mark_live` or :func:`mark_offline`,
which write the :class:`CameraEvent` the online rate is computed from and drop the
workshop's cached scan views (they list the cameras that are live). Functions flush and
never commit.
"""

from __future__ import annotations

from datetime import datetime

from backend.cameras.models import Camera, CameraEvent, CameraEventKind
from backend.extensions import db


def add_event(
    camera: Camera,
    kind: CameraEventKind,
    at: datetime,
    addr: str | None = None,
    detail: str | None = None,
) -> CameraEvent:
    """Record what the streaming server (or our probe) said about *camera*."""
    event = CameraEvent(
        camera_id=camera.id,
        kind=kind,
        at=at,
        client_addr=(addr or None) and addr[:64],
        detail=(detail or None) and detail[:100],
    )
    db.session.add(event)
    return event


def mark_live(
    camera: Camera,
    at: datetime,
    kind: CameraEventKind,
    *,
    addr: str | None = None,
    publisher_id: str | None = None,
) -> bool:
    """*camera* is live from *at* (published or probed up); True when it was not before."""
    camera.last_seen_at = at
    if publisher_id is not None:
        camera.publisher_id = publisher_id[:80]
    if camera.is_live:
        db.session.flush()
        return False
    camera.is_live = True
    add_event(camera, kind, at, addr)
    db.session.flush()
    return True


def mark_offline(
    camera: Camera,
    at: datetime,
    kind: CameraEventKind,
    *,
    addr: str | None = None,
    detail: str | None = None,
) -> bool:
    """*camera* stopped at *at*; True when it was live until then."""
    if not camera.is_live:
        return False
    camera.is_live = False
    camera.publisher_id = None
    if camera.last_seen_at is None or camera.last_seen_at < at:
        camera.last_seen_at = at
    add_event(camera, kind, at, addr, detail)
    db.session.flush()
    return True
