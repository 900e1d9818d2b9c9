"""Registry rules and queries. Services flush, never commit."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from backend.core.errors import NotFound
from backend.extensions import db
from backend.registry.models import Brand, Workshop, WorkshopStatus, Zone


@dataclass(frozen=True)
class ZoneOverview:
    """A zone with the figures the home page and the mini-program show."""

    zone: Zone
    workshop_count: int
    district_workshop_count: int
    upgraded: list[Workshop]

    def __getattr__(self, name):
        """Expose the zone's own fields (for schemas and templates)."""
        return getattr(self.zone, name)

    @property
    def brands(self) -> list[Brand]:
        """The zone's brands."""
        return self.zone.brands


def list_zones() -> list[ZoneOverview]:
    """Return every zone with its counts, oldest first."""
    zones = db.session.scalars(
        select(Zone).options(selectinload(Zone.brands)).order_by(Zone.id)
    ).all()
    return [_overview(zone) for zone in zones]


def get_zone(code: str) -> ZoneOverview:
    """Return the zone with *code*, or raise NotFound."""
    zone = db.session.scalar(
        select(Zone).options(selectinload(Zone.brands)).where(Zone.code == code)
    )
    if zone is None:
        raise NotFound(f"没有代码为 {code} 的加工区。", slug="zone_not_found")
    return _overview(zone)


def _overview(zone: Zone) -> ZoneOverview:
    """Count the zone's workshops, the district's, and list the upgraded ones."""
    in_zone = db.session.scalar(
        select(func.count(Workshop.id)).where(
            Workshop.zone_id == zone.id, Workshop.status != WorkshopStatus.CANCELLED
        )
    )
    in_district = db.session.scalar(
        select(func.count(Workshop.id)).where(
            Workshop.district == zone.district, Workshop.status != WorkshopStatus.CANCELLED
        )
    )
    upgraded = db.session.scalars(
        select(Workshop)
        .where(Workshop.district == zone.district, Workshop.status == WorkshopStatus.UPGRADED)
        .order_by(Workshop.id)
    ).all()
    return ZoneOverview(zone, in_zone or 0, in_district or 0, list(upgraded))
