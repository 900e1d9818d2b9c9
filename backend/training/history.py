"""Training history per workshop and per person: sessions, attendance and hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func, select

from backend.accounts.models import Role, User
from backend.accounts.permissions import require_role
from backend.core.errors import NotFound
from backend.core.i18n import gettext as _
from backend.extensions import db
from backend.registry.models import Staff, Workshop
from backend.training.attendance import find_workshop, staff_of
from backend.training.listing import one_if_attended
from backend.training.models import Training, TrainingAttendance
from backend.training.sessions import STAFF_ONLY


@dataclass
class WorkshopSession:
    """A session some of a workshop's staff were recorded at."""

    training: Training
    attended: int
    passed: int
    absent: int


@dataclass
class StaffFigures:
    """A staff member's training over all time."""

    staff: Staff
    sessions: int
    hours: int
    last_held_on: date | None


@dataclass
class WorkshopHistory:
    """A workshop's training history: sessions, and each person's figures."""

    workshop: Workshop
    sessions: list[WorkshopSession]
    people: list[StaffFigures]


@dataclass
class StaffHistory:
    """A staff member's trainings."""

    staff: Staff
    workshop: Workshop
    lines: list[tuple[Training, TrainingAttendance]]
    sessions: int
    hours: int


def workshop_history(workshop_id: int, *, by: User) -> WorkshopHistory:
    """A workshop's training history: each session with counts, each person's totals."""
    require_role(by, Role.REGULATOR, Role.INSPECTOR, message=_(STAFF_ONLY), slug="staff_only")
    workshop = find_workshop(workshop_id)
    if workshop is None:
        raise NotFound(_("作坊不存在。"), slug="workshop_not_found")
    attended = func.coalesce(func.sum(one_if_attended()), 0)
    passed = func.coalesce(
        func.sum(
            case(
                (
                    TrainingAttendance.attended.is_(True) & TrainingAttendance.passed.is_(True),
                    1,
                ),
                else_=0,
            )
        ),
        0,
    )
    total = func.count(TrainingAttendance.id)
    sessions = [
        WorkshopSession(training, int(a), int(p), int(n) - int(a))
        for training, a, p, n in db.session.execute(
            select(Training, attended, passed, total)
            .join(TrainingAttendance, TrainingAttendance.training_id == Training.id)
            .where(TrainingAttendance.workshop_id == workshop.id)
            .group_by(Training.id)
            .order_by(Training.held_on.desc(), Training.id.desc())
        )
    ]
    figures = {
        staff_id: (int(n), int(h), last)
        for staff_id, n, h, last in db.session.execute(
            select(
                TrainingAttendance.staff_id,
                func.count(TrainingAttendance.id),
                func.coalesce(func.sum(Training.hours), 0),
                func.max(Training.held_on),
            )
            .join(Training, Training.id == TrainingAttendance.training_id)
            .where(
                TrainingAttendance.workshop_id == workshop.id,
                TrainingAttendance.attended.is_(True),
            )
            .group_by(TrainingAttendance.staff_id)
        )
    }
    people = [
        StaffFigures(person, *figures.get(person.id, (0, 0, None)))
        for person in staff_of(workshop.id)
        if person.active or person.id in figures
    ]
    return WorkshopHistory(workshop, sessions, people)


def staff_history(staff_id: int, *, by: User) -> StaffHistory:
    """A staff member's trainings, newest first, with sessions attended and hours."""
    require_role(by, Role.REGULATOR, Role.INSPECTOR, message=_(STAFF_ONLY), slug="staff_only")
    person = db.session.get(Staff, staff_id)
    if person is None:
        raise NotFound(_("人员不存在。"), slug="staff_not_found")
    lines = [
        (training, attendance)
        for training, attendance in db.session.execute(
            select(Training, TrainingAttendance)
            .join(TrainingAttendance, TrainingAttendance.training_id == Training.id)
            .where(TrainingAttendance.staff_id == person.id)
            .order_by(Training.held_on.desc(), Training.id.desc())
        )
    ]
    sessions, hours = db.session.execute(
        select(func.count(TrainingAttendance.id), func.coalesce(func.sum(Training.hours), 0))
        .join(Training, Training.id == TrainingAttendance.training_id)
        .where(TrainingAttendance.staff_id == person.id, TrainingAttendance.attended.is_(True))
    ).one()
    return StaffHistory(person, person.workshop, lines, int(sessions), int(hours))
