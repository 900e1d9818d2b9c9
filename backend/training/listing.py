"""The training list and a year's figures (attendees per session, workshops covered in a
year, person-hours), each an SQL aggregate; a session's attendance by workshop."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, distinct, func, select

from backend.accounts.models import Role, User
from backend.accounts.permissions import require_role
from backend.core.i18n import gettext as _
from backend.core.time import local_today
from backend.extensions import db
from backend.registry.models import Staff, Workshop, WorkshopStatus
from backend.training.models import Training, TrainingAttendance
from backend.training.sessions import STAFF_ONLY, get_training, split_topics

# Workshops whose staff are expected at training: filed, producing or suspended.
OPEN_STATUSES = (WorkshopStatus.FILED, WorkshopStatus.ACTIVE, WorkshopStatus.SUSPENDED)


@dataclass
class TrainingRow:
    """A session in the list with its attendance figures."""

    training: Training
    attendees: int
    passed: int
    workshops: int

    @property
    def topic_list(self) -> list[str]:
        """The session's topics."""
        return split_topics(self.training.topics)


@dataclass
class YearSummary:
    """A year's training figures."""

    year: int
    sessions: int
    attendances: int
    people: int
    person_hours: int
    workshops_covered: int
    open_workshops: int

    @property
    def coverage(self) -> int:
        """Share of open workshops with at least one person trained this year, in percent."""
        if not self.open_workshops:
            return 0
        return round(100 * min(self.workshops_covered, self.open_workshops) / self.open_workshops)


@dataclass
class AttendanceLine:
    """One person's attendance at a session."""

    attendance: TrainingAttendance
    staff: Staff


@dataclass
class WorkshopGroup:
    """The attendance of one workshop at a session."""

    workshop: Workshop
    lines: list[AttendanceLine]

    @property
    def attended(self) -> int:
        """How many were there."""
        return sum(1 for line in self.lines if line.attendance.attended)

    @property
    def passed(self) -> int:
        """How many passed the quiz."""
        return sum(1 for line in self.lines if line.attendance.passed)


@dataclass
class TrainingDetail:
    """A session with its attendance, grouped by workshop."""

    training: Training
    groups: list[WorkshopGroup]

    @property
    def topic_list(self) -> list[str]:
        """The session's topics."""
        return split_topics(self.training.topics)

    @property
    def attendees(self) -> int:
        """How many people attended."""
        return sum(group.attended for group in self.groups)


def year_bounds(year: int) -> tuple[date, date]:
    """The first and last day of *year*."""
    return date(year, 1, 1), date(year, 12, 31)


def one_if_attended():
    """1 for an attendance row where the person was there, else 0 (for sums)."""
    return case((TrainingAttendance.attended.is_(True), 1), else_=0)


def list_trainings(*, by: User, year: int | None = None) -> list[TrainingRow]:
    """Sessions, newest first (of *year* when given), with attendees, passes and workshops."""
    require_role(by, Role.REGULATOR, Role.INSPECTOR, message=_(STAFF_ONLY), slug="staff_only")
    attendees = func.coalesce(func.sum(one_if_attended()), 0)
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
    workshops = func.count(
        distinct(
            case(
                (TrainingAttendance.attended.is_(True), TrainingAttendance.workshop_id),
                else_=None,
            )
        )
    )
    query = (
        select(Training, attendees, passed, workshops)
        .outerjoin(TrainingAttendance, TrainingAttendance.training_id == Training.id)
        .group_by(Training.id)
        .order_by(Training.held_on.desc(), Training.id.desc())
    )
    if year is not None:
        low, high = year_bounds(year)
        query = query.where(Training.held_on.between(low, high))
    return [TrainingRow(t, int(a), int(p), int(w)) for t, a, p, w in db.session.execute(query)]


def years(*, by: User) -> list[int]:
    """The years that have sessions, and this year, newest first (for the year filter)."""
    require_role(by, Role.REGULATOR, Role.INSPECTOR, message=_(STAFF_ONLY), slug="staff_only")
    first, last = db.session.execute(
        select(func.min(Training.held_on), func.max(Training.held_on))
    ).one()
    this_year = local_today().year
    low = min(first.year if first else this_year, this_year)
    high = max(last.year if last else this_year, this_year)
    return list(range(high, low - 1, -1))


def year_summary(year: int, *, by: User) -> YearSummary:
    """Sessions held in *year*, attendances, people and workshops covered, person-hours."""
    require_role(by, Role.REGULATOR, Role.INSPECTOR, message=_(STAFF_ONLY), slug="staff_only")
    low, high = year_bounds(year)
    sessions = (
        db.session.scalar(
            select(func.count(Training.id)).where(Training.held_on.between(low, high))
        )
        or 0
    )
    present = (
        select(
            func.count(TrainingAttendance.id),
            func.count(distinct(TrainingAttendance.staff_id)),
            func.coalesce(func.sum(Training.hours), 0),
            func.count(distinct(TrainingAttendance.workshop_id)),
        )
        .join(Training, Training.id == TrainingAttendance.training_id)
        .where(Training.held_on.between(low, high), TrainingAttendance.attended.is_(True))
    )
    attendances, people, person_hours, covered = db.session.execute(present).one()
    open_workshops = (
        db.session.scalar(select(func.count(Workshop.id)).where(Workshop.status.in_(OPEN_STATUSES)))
        or 0
    )
    return YearSummary(
        year=year,
        sessions=int(sessions),
        attendances=int(attendances),
        people=int(people),
        person_hours=int(person_hours),
        workshops_covered=int(covered),
        open_workshops=int(open_workshops),
    )


def training_detail(training_id: int, *, by: User) -> TrainingDetail:
    """A session with everyone recorded at it, grouped by workshop."""
    training = get_training(training_id, by=by)
    rows = db.session.execute(
        select(TrainingAttendance, Staff, Workshop)
        .join(Staff, Staff.id == TrainingAttendance.staff_id)
        .join(Workshop, Workshop.id == TrainingAttendance.workshop_id)
        .where(TrainingAttendance.training_id == training.id)
        .order_by(Workshop.registration_no, Staff.id)
    )
    groups: dict[int, WorkshopGroup] = {}
    for attendance, person, workshop in rows:
        group = groups.setdefault(workshop.id, WorkshopGroup(workshop, []))
        group.lines.append(AttendanceLine(attendance, person))
    return TrainingDetail(training, list(groups.values()))
