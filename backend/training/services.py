"""Training records (培训): sessions, their topics, and who of which workshop attended.

Regulators record sessions and attendance; inspectors and regulators read them. Attendance
is recorded per workshop: the regulator picks a workshop, then ticks which of its active
staff attended and who passed the quiz. Every rule is checked here before anything is
written; a refusal is a ValidationError whose ``errors`` name the field at fault. Figures
(attendees per session, workshops covered in a year, hours per person) are SQL aggregates.
Functions flush and never commit.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import case, distinct, func, select

from backend.accounts.models import Role, User
from backend.audit.log import record
from backend.core.errors import Errors, Forbidden, NotFound, ValidationError
from backend.core.i18n import gettext as _
from backend.core.time import local_today
from backend.extensions import db
from backend.registry.models import Staff, Workshop, WorkshopStatus
from backend.training.models import Training, TrainingAttendance

EARLIEST = date(2000, 1, 1)  # no training record in the district is older than this
PLAN_AHEAD_DAYS = 366  # a session may be entered up to a year before it is held
MIN_HOURS, MAX_HOURS = 1, 24
TOPIC_SEPARATOR = "、"
MAX_TOPIC_LENGTH = 30
MAX_TOPICS_LENGTH = 300  # the column's size
DEFAULT_ORGANISER = "漳州市长泰区市场监督管理局"
# Topics offered as ticks on the form (stored as written; free text may add others).
SUGGESTED_TOPICS = (
    "食品安全法律法规",
    "小作坊主体责任",
    "原料进货查验",
    "食品添加剂使用",
    "生产过程控制",
    "清洗消毒",
    "从业人员健康管理",
    "标签标识",
    "台账记录",
    "一品一码操作",
    "明厨亮灶",
    "快检与抽检",
)
# Workshops whose staff are expected at training: filed, producing or suspended.
OPEN_STATUSES = (WorkshopStatus.FILED, WorkshopStatus.ACTIVE, WorkshopStatus.SUSPENDED)
_SPLIT_TOPICS = re.compile(r"[、,，;；/\n\r]+")


@dataclass
class TrainingInput:
    """What a regulator records about a session."""

    title: str = ""
    topics: list[str] = field(default_factory=list)  # ticked suggestions (or any topics)
    other_topics: str = ""  # free text, topics separated by 、 , ； or new lines
    held_on: date | None = None
    organiser: str = ""
    location: str = ""
    hours: int | str | None = None  # as typed: checked here, stored as a whole number
    content: str = ""


@dataclass
class AttendanceInput:
    """One workshop's attendance at a session: the staff ticked as present and as passed."""

    workshop_id: int | None = None
    attended: list[int] = field(default_factory=list)
    passed: list[int] = field(default_factory=list)


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


# --- who may do what --------------------------------------------------------------------


def require_regulator(user: User | None) -> None:
    """Forbidden unless *user* is a regulator (the only ones who record training)."""
    if user is None or user.role is not Role.REGULATOR:
        raise Forbidden(_("只有监管人员可以登记和修改培训记录。"), slug="regulator_only")


def require_viewer(user: User | None) -> None:
    """Forbidden unless *user* is a regulator or an inspector (who may read training)."""
    if user is None or user.role not in (Role.REGULATOR, Role.INSPECTOR):
        raise Forbidden(_("只有监管和检验人员可以查看培训记录。"), slug="staff_only")


# --- checks -----------------------------------------------------------------------------


def _text(
    errors: Errors,
    name: str,
    value: str,
    limit: int,
    *,
    required: bool = True,
    multiline: bool = False,
) -> str:
    """Trim *value*; note it when missing, too long or holding control characters.

    A *multiline* text (from a text area) may hold line breaks and tabs.
    """
    value = (value or "").strip()
    allowed = "\t\r\n" if multiline else ""
    if required and not value:
        errors.add(name, _("必填。"))
    elif len(value) > limit:
        errors.add(name, _("不能超过 %(limit)d 个字符。", limit=limit))
    elif any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in value):
        errors.add(name, _("不能包含制表符、换行等控制字符。"))
    return value


def split_topics(text: str | None) -> list[str]:
    """The topics in *text*, split at 、 , ； / or new lines, trimmed, without repeats."""
    parts = (part.strip() for part in _SPLIT_TOPICS.split(text or ""))
    return list(dict.fromkeys(part for part in parts if part))


def _topics(errors: Errors, data: TrainingInput) -> str:
    """The ticked and typed topics joined by 、; at least one, each short and plain."""
    chosen = split_topics(TOPIC_SEPARATOR.join([*data.topics, data.other_topics or ""]))
    if not chosen:
        errors.add("topics", _("请至少勾选或填写一个培训主题。"))
        return ""
    for topic in chosen:
        if len(topic) > MAX_TOPIC_LENGTH:
            errors.add(
                "other_topics",
                _("每个主题不能超过 %(limit)d 个字符。", limit=MAX_TOPIC_LENGTH),
            )
            return ""
        if any(unicodedata.category(ch) == "Cc" for ch in topic):
            errors.add("other_topics", _("不能包含制表符等控制字符。"))
            return ""
    joined = TOPIC_SEPARATOR.join(chosen)
    if len(joined) > MAX_TOPICS_LENGTH:
        errors.add(
            "other_topics", _("主题合计不能超过 %(limit)d 个字符。", limit=MAX_TOPICS_LENGTH)
        )
        return ""
    return joined


def _hours(errors: Errors, value: int | str | None) -> int | None:
    """A whole number of hours from 1 to 24 (typed full-width digits are read too)."""
    message = _("学时须为 %(low)d 至 %(high)d 之间的整数。", low=MIN_HOURS, high=MAX_HOURS)
    if isinstance(value, bool):
        errors.add("hours", message)
        return None
    if isinstance(value, int):
        number = value
    else:
        text = unicodedata.normalize("NFKC", str(value or "")).strip()
        if not text:
            errors.add("hours", _("必填。"))
            return None
        if not re.fullmatch(r"[0-9]{1,4}", text):
            errors.add("hours", message)
            return None
        number = int(text)
    if not MIN_HOURS <= number <= MAX_HOURS:
        errors.add("hours", message)
        return None
    return number


def latest_date() -> date:
    """The last day a session may be entered for (sessions may be planned a year ahead)."""
    return local_today() + timedelta(days=PLAN_AHEAD_DAYS)


def check_training(data: TrainingInput) -> tuple[Errors, dict]:
    """Every rule a session must meet; returns the errors and the values to store."""
    errors = Errors()
    values = {
        "title": _text(errors, "title", data.title, 200),
        "topics": _topics(errors, data),
        "held_on": data.held_on,
        "organiser": _text(errors, "organiser", data.organiser, 100),
        "location": _text(errors, "location", data.location, 200, required=False),
        "hours": _hours(errors, data.hours),
        "content": _text(errors, "content", data.content, 5000, required=False, multiline=True),
    }
    high = latest_date()
    if data.held_on is None:
        errors.add("held_on", _("必填，格式如 2024-01-31。"))
    elif not EARLIEST <= data.held_on <= high:
        errors.add(
            "held_on",
            _(
                "日期须在 %(low)s 至 %(high)s 之间。",
                low=EARLIEST.isoformat(),
                high=high.isoformat(),
            ),
        )
    return errors, values


def _refuse(errors: Errors) -> None:
    """Raise the ValidationError for *errors*, if there are any."""
    if errors:
        raise ValidationError(
            _("提交的信息有误，请按提示修改，未保存任何内容。"),
            slug="training_invalid",
            errors=dict(errors),
        )


# --- sessions ---------------------------------------------------------------------------


def create_training(data: TrainingInput, *, by: User) -> Training:
    """Record a training session (regulators only)."""
    require_regulator(by)
    errors, values = check_training(data)
    _refuse(errors)
    training = Training(**values)
    db.session.add(training)
    db.session.flush()
    record(
        "training.created",
        "training",
        training.id,
        actor=by,
        title=training.title,
        held_on=training.held_on,
        hours=training.hours,
    )
    return training


def get_training(training_id: int, *, by: User) -> Training:
    """A session, or NotFound."""
    require_viewer(by)
    training = db.session.get(Training, training_id)
    if training is None:
        raise NotFound(_("培训记录不存在。"), slug="training_not_found")
    return training


def update_training(training_id: int, data: TrainingInput, *, by: User) -> Training:
    """Correct a session's details (regulators only); the changes are audited."""
    require_regulator(by)
    training = get_training(training_id, by=by)
    errors, values = check_training(data)
    _refuse(errors)
    changes = {}
    for name, value in values.items():
        old = getattr(training, name)
        if old != value:
            changes[name] = [old, value]
            setattr(training, name, value)
    db.session.flush()
    if changes:
        record("training.updated", "training", training.id, actor=by, changes=changes)
    return training


def _year_bounds(year: int) -> tuple[date, date]:
    """The first and last day of *year*."""
    return date(year, 1, 1), date(year, 12, 31)


def _attended():
    """1 for an attendance row where the person was there, else 0 (for sums)."""
    return case((TrainingAttendance.attended.is_(True), 1), else_=0)


def list_trainings(*, by: User, year: int | None = None) -> list[TrainingRow]:
    """Sessions, newest first (of *year* when given), with attendees, passes and workshops."""
    require_viewer(by)
    attendees = func.coalesce(func.sum(_attended()), 0)
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
        low, high = _year_bounds(year)
        query = query.where(Training.held_on.between(low, high))
    return [TrainingRow(t, int(a), int(p), int(w)) for t, a, p, w in db.session.execute(query)]


def years(*, by: User) -> list[int]:
    """The years that have sessions, and this year, newest first (for the year filter)."""
    require_viewer(by)
    first, last = db.session.execute(
        select(func.min(Training.held_on), func.max(Training.held_on))
    ).one()
    this_year = local_today().year
    low = min(first.year if first else this_year, this_year)
    high = max(last.year if last else this_year, this_year)
    return list(range(high, low - 1, -1))


def year_summary(year: int, *, by: User) -> YearSummary:
    """Sessions held in *year*, attendances, people and workshops covered, person-hours."""
    require_viewer(by)
    low, high = _year_bounds(year)
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


# --- attendance -------------------------------------------------------------------------


def workshop_choices(*, by: User) -> list[Workshop]:
    """Workshops whose attendance may be recorded (not cancelled), by registration number."""
    require_viewer(by)
    return list(
        db.session.scalars(
            select(Workshop)
            .where(Workshop.status != WorkshopStatus.CANCELLED)
            .order_by(Workshop.registration_no)
        )
    )


def _workshop(workshop_id: int | None) -> Workshop | None:
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


def _staff_of(workshop_id: int) -> list[Staff]:
    """Everyone on the workshop's staff list, active or not, in the order they were added."""
    return list(
        db.session.scalars(select(Staff).where(Staff.workshop_id == workshop_id).order_by(Staff.id))
    )


def attendance_sheet(training_id: int, workshop_id: int, *, by: User) -> AttendanceSheet:
    """The attendance form of one workshop at a session: its active staff and their ticks."""
    require_viewer(by)
    training = get_training(training_id, by=by)
    workshop = _workshop(workshop_id)
    if workshop is None:
        raise NotFound(_("作坊不存在。"), slug="workshop_not_found")
    recorded = _recorded(training.id, workshop.id)
    lines = []
    for person in _staff_of(workshop.id):
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
    require_regulator(by)
    training = get_training(training_id, by=by)
    errors = Errors()
    workshop = _workshop(data.workshop_id)
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
        staff = {person.id: person for person in _staff_of(workshop.id)}
        _check_people(errors, "attended", attended, staff)
        _check_people(errors, "passed", passed, staff)
        if "passed" not in errors and set(passed) - set(attended):
            errors.add("passed", _("未勾选出勤的人员不能记为考核合格。"))
        recorded = _recorded(training.id, workshop.id)
        if not attended and not any(row.attended for row in recorded.values()):
            errors.add("attended", _("请勾选参加培训的人员。"))
    _refuse(errors)
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


# --- per workshop and per person ----------------------------------------------------------


def workshop_history(workshop_id: int, *, by: User) -> WorkshopHistory:
    """A workshop's training history: each session with counts, each person's totals."""
    require_viewer(by)
    workshop = _workshop(workshop_id)
    if workshop is None:
        raise NotFound(_("作坊不存在。"), slug="workshop_not_found")
    attended = func.coalesce(func.sum(_attended()), 0)
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
        for person in _staff_of(workshop.id)
        if person.active or person.id in figures
    ]
    return WorkshopHistory(workshop, sessions, people)


def staff_history(staff_id: int, *, by: User) -> StaffHistory:
    """A staff member's trainings, newest first, with sessions attended and hours."""
    require_viewer(by)
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
