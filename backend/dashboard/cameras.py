"""Cameras of the workshops on file: online now, enabled, all."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, case, func, select

from backend.cameras.models import Camera
from backend.dashboard.days import Ratio
from backend.extensions import db
from backend.registry.models import Workshop, WorkshopStatus


@dataclass(frozen=True)
class Cameras:
    """Cameras of the workshops on file: online now, enabled, all."""

    online: int
    enabled: int
    total: int

    @property
    def online_ratio(self) -> Ratio:
        """Online cameras out of enabled ones."""
        return Ratio(self.online, self.enabled)


def cameras_online() -> Cameras:
    """Cameras of workshops on file (not cancelled): ``total``, ``enabled`` (switched on
    by their workshop or the bureau) and ``online`` now: enabled and ``is_live`` (the
    streaming server reported the stream published and not yet ended). One query."""
    total, enabled, online = db.session.execute(
        select(
            func.count(Camera.id),
            func.sum(case((Camera.enabled.is_(True), 1), else_=0)),
            func.sum(case((and_(Camera.enabled.is_(True), Camera.is_live.is_(True)), 1), else_=0)),
        )
        .join(Workshop, Workshop.id == Camera.workshop_id)
        .where(Workshop.status != WorkshopStatus.CANCELLED)
    ).one()
    return Cameras(online=int(online or 0), enabled=int(enabled or 0), total=int(total or 0))
