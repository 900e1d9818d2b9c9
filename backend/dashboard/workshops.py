"""Workshops on file: the registry's figures on the dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, case, func, select

from backend.core.time import local_today
from backend.extensions import db
from backend.registry.models import Workshop, WorkshopStatus

EXPIRING_DAYS = 30  # registration certificates ending within this many days are flagged


@dataclass(frozen=True)
class RegistryFigures:
    """Workshops on file (see :func:`registry_figures`)."""

    filed: int
    in_zone: int
    upgraded: int
    suspended: int
    cert_expiring: int
    by_status: dict[WorkshopStatus, int]


def registry_figures(today: date | None = None) -> RegistryFigures:
    """Workshops on file, by one GROUP BY status query.

    - ``filed``: workshops whose status is not cancelled (filed, active, suspended, upgraded);
    - ``in_zone``: of those, the ones in a centralized processing zone (``zone_id`` set);
    - ``upgraded``: status upgraded (grown into an enterprise with a production licence);
    - ``suspended``: status suspended (ordered to stop and rectify);
    - ``cert_expiring``: not cancelled, not upgraded, not long-term, and the registration
      certificate's ``cert_valid_until`` is on or before *today* + 30 days (ended or ending);
    - ``by_status``: workshops of each status, cancelled included (0 for a status without).
    """
    today = today or local_today()
    expiring = and_(
        Workshop.status != WorkshopStatus.UPGRADED,
        Workshop.cert_long_term.is_(False),
        Workshop.cert_valid_until <= today + timedelta(days=EXPIRING_DAYS),
    )
    rows = db.session.execute(
        select(
            Workshop.status,
            func.count(Workshop.id),
            func.sum(case((Workshop.zone_id.is_not(None), 1), else_=0)),
            func.sum(case((expiring, 1), else_=0)),
        ).group_by(Workshop.status)
    ).all()
    by_status = {status: 0 for status in WorkshopStatus}
    in_zone = expiring_count = 0
    for status, count, zoned, ending in rows:  # one row per status, at most five
        by_status[status] = count
        if status is not WorkshopStatus.CANCELLED:
            in_zone += zoned or 0
            expiring_count += ending or 0
    return RegistryFigures(
        filed=sum(n for s, n in by_status.items() if s is not WorkshopStatus.CANCELLED),
        in_zone=in_zone,
        upgraded=by_status[WorkshopStatus.UPGRADED],
        suspended=by_status[WorkshopStatus.SUSPENDED],
        cert_expiring=expiring_count,
        by_status=by_status,
    )
