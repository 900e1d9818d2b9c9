"""This year's inspection coverage: workshops on file with an inspection this year."""

from __future__ import annotations

from datetime import date

from sqlalchemy import case, exists, func, select

from backend.dashboard.days import Ratio
from backend.extensions import db
from backend.inspections.models import Inspection
from backend.registry.models import Workshop, WorkshopStatus


def inspection_coverage(year: int) -> Ratio:
    """This year's inspection coverage.

    ``whole``: workshops on file, i.e. whose status is not cancelled (filed, active,
    suspended or upgraded: every workshop the bureau supervises). ``part``: those of them
    with at least one inspection whose ``inspected_on`` falls in *year* (1 January to
    31 December; ``inspected_on`` is already a local date). Several inspections of one
    workshop count once. One query: COUNT and SUM(CASE WHEN EXISTS …).
    """
    inspected = (
        exists()
        .where(
            Inspection.workshop_id == Workshop.id,
            Inspection.inspected_on >= date(year, 1, 1),
            Inspection.inspected_on <= date(year, 12, 31),
        )
        .correlate(Workshop)
    )
    whole, part = db.session.execute(
        select(func.count(Workshop.id), func.sum(case((inspected, 1), else_=0))).where(
            Workshop.status != WorkshopStatus.CANCELLED
        )
    ).one()
    return Ratio(int(part or 0), int(whole or 0))
