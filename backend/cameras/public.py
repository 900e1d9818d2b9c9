"""What consumers and portal visitors see of the cameras: no login, live ones playable.

A camera is shown when it is enabled and its workshop is not cancelled. Only a live camera
gets a playback link (signed, expiring after PLAYBACK_LINK_TTL); the others show their
hours and "not broadcasting now". Snapshots are served by the portal's live pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.cameras.links import playback_url
from backend.cameras.models import Camera
from backend.core.errors import NotFound
from backend.core.i18n import gettext as _
from backend.core.time import utcnow
from backend.extensions import db
from backend.files.models import StoredFile
from backend.registry.models import Workshop, WorkshopStatus


def snapshot_url(camera: Camera) -> str | None:
    """The public address of *camera*'s latest snapshot (None when it has none)."""
    if camera.snapshot_file_id is None:
        return None
    config = current_app.config
    return (
        f"{config['PUBLIC_SCHEME']}://{config['PUBLIC_HOST']}/live/cameras/{camera.id}"
        f"/snapshot.jpg?v={camera.snapshot_file_id}"
    )


def camera_view(camera: Camera, now: datetime) -> dict:
    """One camera as consumers get it (the scan view's ``cameras`` entries)."""
    return {
        "id": camera.id,
        "area": str(camera.area),
        "name": camera.name,
        "live": camera.is_live,
        "live_from": camera.live_from.strftime("%H:%M") if camera.live_from else None,
        "live_until": camera.live_until.strftime("%H:%M") if camera.live_until else None,
        "playback_url": playback_url(camera, now) if camera.is_live else None,
        "snapshot_url": snapshot_url(camera),
    }


def _shown():
    """The condition of cameras the public sees."""
    return Camera.enabled.is_(True) & (Workshop.status != WorkshopStatus.CANCELLED)


def workshop_cameras(workshop_id: int, now: datetime | None = None) -> list[dict]:
    """The public view of a workshop's cameras, in the order they were registered."""
    now = now or utcnow()
    cameras = db.session.scalars(
        select(Camera)
        .join(Workshop, Camera.workshop_id == Workshop.id)
        .where(Camera.workshop_id == workshop_id, _shown())
        .order_by(Camera.id)
    ).all()
    return [camera_view(c, now) for c in cameras]


@dataclass
class WallWorkshop:
    """A workshop on the live wall with its cameras (live ones first)."""

    workshop: Workshop
    cameras: list[dict]

    @property
    def live_count(self) -> int:
        """How many of its cameras are live."""
        return sum(1 for c in self.cameras if c["live"])


def wall(now: datetime | None = None) -> list[WallWorkshop]:
    """Every workshop with cameras the public may see; workshops with live cameras first."""
    now = now or utcnow()
    cameras = db.session.scalars(
        select(Camera)
        .join(Workshop, Camera.workshop_id == Workshop.id)
        .where(_shown())
        .options(selectinload(Camera.workshop))
        .order_by(Workshop.name, Camera.id)
    ).all()
    groups: dict[int, WallWorkshop] = {}
    for camera in cameras:
        group = groups.setdefault(camera.workshop_id, WallWorkshop(camera.workshop, []))
        group.cameras.append(camera_view(camera, now))
    for group in groups.values():
        group.cameras.sort(key=lambda c: not c["live"])
    return sorted(groups.values(), key=lambda g: g.live_count == 0)


def public_workshop(workshop_id: int) -> Workshop:
    """A workshop whose live page may be shown (not cancelled), or NotFound."""
    workshop = db.session.get(Workshop, workshop_id)
    if workshop is None or workshop.status is WorkshopStatus.CANCELLED:
        raise NotFound(_("作坊不存在。"), slug="workshop_not_found")
    return workshop


def snapshot_of(camera_id: int) -> StoredFile:
    """The latest snapshot of a camera the public may see, or NotFound."""
    row = db.session.execute(
        select(Camera, StoredFile)
        .join(Workshop, Camera.workshop_id == Workshop.id)
        .join(StoredFile, Camera.snapshot_file_id == StoredFile.id)
        .where(Camera.id == camera_id, _shown())
    ).first()
    if row is None:
        raise NotFound(_("暂无画面。"), slug="snapshot_not_found")
    return row[1]
