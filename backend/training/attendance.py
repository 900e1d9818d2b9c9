"""Attendance at a training session, recorded per workshop.

The regulator picks a workshop, then ticks which of its active staff attended and who passed
the quiz. Functions flush and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from backend.accounts.models import Role, User
from backend.accounts.permissions import require_role
from backend.audit.log import record
from backend.core.errors import Errors, NotFound, refuse
from backend.core.i18n import gettext as _
from backend.core.time import local_today
from backend.extensions import db
from backend.registry.models import Staff, Workshop, WorkshopStatus
from backend.training.models import Training, TrainingAttendance
from backend.training.sessions import REGULATORS_ONLY, STAFF_ONLY, get_training


@dataclass
class AttendanceInput:
    """One workshop's attendance at a session: the staff ticked as present and as passed."""

    workshop_id: int | None = None
    attended: list[int] = field(default_factory=list)
    passed: list[int] = field(default_factory=list)


@dataclass
class SheetLine:
    """A staff member on the attendance sheet of a workshop."""

    staff: Staff
    attended: bool
    passed: bool
    recorded: bool  # an attendance row exists


@dataclass
class AttendanceSheet:
    """What the attendance form shows for one workshop: its active staff, ticked or not.

    Staff who have left are listed only when they were recorded before; they cannot be
    ticked any more and their record stays as it was.
    """

    training: Training
    workshop: Workshop
    lines: list[SheetLine]


def workshop_choices(*, by: User) -> list[Workshop]:
    """Workshops whose attendance may be recorded (not cancelled), by registration number."""
    require_role(by, Role.REGULATOR, Role.INSPECTOR, message=_(STAFF_ONLY), slug="staff_only")
    return list(
        db.session.scalars(
            select(Workshop)
            .where(Workshop.status != WorkshopStatus.CANCELLED)
            .order_by(Workshop.registration_no)
        )
    )


def find_workshop(workshop_id: int | None) -> Workshop | None:
    """The workshop with *workshop_id*, or None."""
    return db.session.get(Workshop, workshop_id) if workshop_id is not None else None


def _recorded(training_id: int, workshop_id: int) -> dict[int, TrainingAttendance]:
    """The attendance rows of *workshop_id*'s staff at *training_id*, by staff id."""
    rows = db.session.scalars(
        select(TrainingAttendance).where(
            TrainingAttendance.training_id == training_id,
            TrainingAttendance.workshop_id == workshop_id,
        )
    )
    return {row.staff_id: row for row in rows}


def staff_of(workshop_id: int) -> list[Staff]:
    """Everyone on the workshop's staff list, active or not, in the order they were added."""
    return list(
        db.session.scalars(select(Staff).where(Staff.workshop_id == workshop_id).order_by(Staff.id))
    )


def attendance_sheet(training_id: int, workshop_id: int, *, by: User) -> AttendanceSheet:
    """The attendance form of one workshop at a session: its active staff and their ticks."""
    require_role(by, Role.REGULATOR, Role.INSPECTOR, message=_(STAFF_ONLY), slug="staff_only")
    training = get_training(training_id, by=by)
    workshop = find_workshop(workshop_id)
    if workshop is None:
        raise NotFound(_("作坊不存在。"), slug="workshop_not_found")
    recorded = _recorded(training.id, workshop.id)
    lines = []
    for person in staff_of(workshop.id):
        row = recorded.get(person.id)
        if not person.active and row is None:
            continue
        lines.append(
            SheetLine(
                staff=person,
                attended=bool(row and row.attended),
                passed=bool(row and row.attended and row.passed),
                recorded=row is not None,
            )
        )
    return AttendanceSheet(training, workshop, lines)


def record_attendance(training_id: int, data: AttendanceInput, *, by: User) -> AttendanceSheet:
    """Record which active staff of one workshop attended a session and who passed its quiz.

    The ticks replace the workshop's earlier ones: a person ticked before and not now is
    kept as absent (the row stays, as evidence of the change). Staff who have left keep
    their record unchanged. Refused: an unknown workshop, a session not held yet, an
    unknown person, someone of another workshop or who has left, a pass without attending.
    """
    require_role(by, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    training = get_training(training_id, by=by)
    errors = Errors()
    workshop = find_workshop(data.workshop_id)
    if data.workshop_id is None:
        errors.add("workshop_id", _("请选择作坊。"))
    elif workshop is None:
        errors.add("workshop_id", _("作坊不存在。"))
    elif workshop.status is WorkshopStatus.CANCELLED:
        errors.add("workshop_id", _("该作坊已注销，不能登记培训出勤。"))
    if training.held_on > local_today():
        errors.add(
            "attended",
            _("培训定于 %(day)s 举行，尚未举行，不能登记出勤。", day=training.held_on.isoformat()),
        )
    attended = list(dict.fromkeys(data.attended))
    passed = list(dict.fromkeys(data.passed))
    if workshop is not None and "workshop_id" not in errors:
        staff = {person.id: person for person in staff_of(workshop.id)}
        _check_people(errors, "attended", attended, staff)
        _check_people(errors, "passed", passed, staff)
        if "passed" not in errors and set(passed) - set(attended):
            errors.add("passed", _("未勾选出勤的人员不能记为考核合格。"))
        recorded = _recorded(training.id, workshop.id)
        if not attended and not any(row.attended for row in recorded.values()):
            errors.add("attended", _("请勾选参加培训的人员。"))
    refuse(errors, "training_invalid")
    added, present, absent = [], [], []
    for person_id, person in staff.items():
        if not person.active:
            continue
        row = recorded.get(person_id)
        if person_id in attended:
            did_pass = person_id in passed
            if row is None:
                db.session.add(
                    TrainingAttendance(
                        training_id=training.id,
                        staff_id=person_id,
                        workshop_id=workshop.id,
                        attended=True,
                        passed=did_pass,
                    )
                )
                added.append(person_id)
            elif not row.attended or row.passed is not did_pass:
                row.attended, row.passed = True, did_pass
                present.append(person_id)
        elif row is not None and (row.attended or row.passed is not None):
            row.attended, row.passed = False, None
            absent.append(person_id)
    db.session.flush()
    if added or present or absent:
        record(
            "training.attendance",
            "training",
            training.id,
            actor=by,
            workshop_id=workshop.id,
            added=added,
            changed=present,
            absent=absent,
            passed=sorted(passed),
        )
    return attendance_sheet(training.id, workshop.id, by=by)


def _check_people(errors: Errors, name: str, ids: list[int], staff: dict[int, Staff]) -> None:
    """Each id must be an active staff member of the workshop (whose staff are *staff*)."""
    messages: list[str] = []
    for person_id in ids:
        person = staff.get(person_id)
        if person is not None:
            if not person.active:
                messages.append(_("%(name)s 已离岗，不能登记出勤。", name=person.name))
            continue
        other = db.session.get(Staff, person_id) if person_id > 0 else None
        if other is None:
            messages.append(_("所选人员不存在，请刷新页面后重新勾选。"))
        else:
            messages.append(
                _("%(name)s 不是该作坊的从业人员，不能登记在此作坊名下。", name=other.name)
            )
    for message in dict.fromkeys(messages):
        errors.add(name, message)
