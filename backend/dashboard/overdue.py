"""Overdue rectifications: hazards not closed whose deadline has passed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from backend.core.time import local_today
from backend.extensions import db
from backend.inspections.checklist import ITEM_LABELS
from backend.inspections.models import ChecklistItem, Hazard, HazardStatus
from backend.registry.models import Workshop

OVERDUE_LISTED = 50  # overdue hazards listed on the page (all are counted)


@dataclass(frozen=True)
class OverdueHazard:
    """A hazard whose rectification deadline has passed and that is not closed."""

    id: int
    workshop_id: int
    workshop_name: str
    item: ChecklistItem
    description: str
    deadline: date
    status: HazardStatus
    days_overdue: int

    @property
    def item_name(self) -> str:
        """The checklist item's Chinese name (a msgid)."""
        return ITEM_LABELS.get(self.item, str(self.item))


@dataclass(frozen=True)
class Overdue:
    """Overdue rectifications: how many, and the first of them by deadline."""

    count: int
    hazards: list[OverdueHazard]


def overdue_rectifications(today: date | None = None, limit: int = OVERDUE_LISTED) -> Overdue:
    """Overdue rectifications: hazards whose status is not closed (open or rectifying) and
    whose ``deadline`` is before *today* (a hazard due today is not overdue yet).

    ``count`` is a COUNT over all of them; ``hazards`` lists the first *limit* by deadline
    (oldest first), with their workshop and the days past the deadline.
    """
    today = today or local_today()
    overdue = Hazard.is_overdue(today)
    count = db.session.scalar(select(func.count(Hazard.id)).where(overdue)) or 0
    rows = db.session.execute(
        select(
            Hazard.id,
            Hazard.workshop_id,
            Workshop.name,
            Hazard.item,
            Hazard.description,
            Hazard.deadline,
            Hazard.status,
        )
        .join(Workshop, Workshop.id == Hazard.workshop_id)
        .where(overdue)
        .order_by(Hazard.deadline, Hazard.id)
        .limit(limit)
    ).all()
    return Overdue(
        count=count,
        hazards=[OverdueHazard(*row, days_overdue=(today - row.deadline).days) for row in rows],
    )
