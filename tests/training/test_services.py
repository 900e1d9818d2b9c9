"""Training records: sessions, topics, attendance per workshop and per person, who may write."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from backend.accounts.models import Role
from backend.audit.models import AuditLog
from backend.core.errors import Forbidden, NotFound, ValidationError
from backend.core.time import local_today
from backend.registry.models import Staff, WorkshopStatus
from backend.training import attendance, listing, sessions
from backend.training.attendance import AttendanceInput
from backend.training.history import staff_history, workshop_history
from backend.training.models import Training, TrainingAttendance
from backend.training.sessions import TrainingInput
from tests.factories import WorkshopFactory
from tests.support.console import console_user


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture()
def people(db):
    """A regulator, an inspector, an operator and two workshops with their staff."""
    first = WorkshopFactory(name="四大桶红曲酒坊", registration_no="XZF0001")
    second = WorkshopFactory(name="内坊豆腐坊", registration_no="XZF0002")
    staff = {
        "lin": Staff(workshop_id=first.id, name="林德福"),
        "zheng": Staff(workshop_id=first.id, name="郑国平"),
        "gone": Staff(workshop_id=first.id, name="已离岗者", active=False),
        "yang": Staff(workshop_id=second.id, name="杨阿婆"),
    }
    db.session.add_all(staff.values())
    db.session.flush()
    return {
        "regulator": console_user(Role.REGULATOR),
        "inspector": console_user(Role.INSPECTOR),
        "operator": console_user(Role.OPERATOR),
        "first": first,
        "second": second,
        **staff,
    }


def session_input(**overrides) -> TrainingInput:
    """A valid session held ten days ago."""
    values = {
        "title": "食品小作坊主体责任培训",
        "topics": ["食品安全法律法规", "台账记录"],
        "other_topics": "",
        "held_on": local_today() - timedelta(days=10),
        "organiser": "长泰区市场监督管理局",
        "location": "半里加工区会议室",
        "hours": "2",
        "content": "讲解进货查验和台账。",
    }
    values.update(overrides)
    return TrainingInput(**values)


def held(db, people, days_ago=10, **overrides) -> Training:
    """A recorded session."""
    return sessions.create_training(
        session_input(held_on=local_today() - timedelta(days=days_ago), **overrides),
        by=people["regulator"],
    )


# --- sessions -------------------------------------------------------------------------------


def test_a_regulator_records_a_session_with_topics(db, people):
    session = sessions.create_training(
        session_input(other_topics="明厨亮灶，清洗消毒、台账记录"), by=people["regulator"]
    )
    assert session.topics == "食品安全法律法规、台账记录、明厨亮灶、清洗消毒"
    assert session.hours == 2
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "training.created"))
    assert audit.actor_id == people["regulator"].id and audit.object_id == str(session.id)


def test_hours_may_be_typed_in_full_width_digits_or_given_as_a_number(db, people):
    assert sessions.create_training(session_input(hours="３"), by=people["regulator"]).hours == 3
    assert sessions.create_training(session_input(hours=24), by=people["regulator"]).hours == 24


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title": "  "}, "title", "必填"),
        ({"title": "x" * 201}, "title", "不能超过 200"),
        ({"held_on": date(1900, 1, 1)}, "held_on", "日期须在"),
        ({"held_on": None}, "held_on", "必填"),
        ({"held_on": local_today() + timedelta(days=400)}, "held_on", "日期须在"),
        ({"hours": "abc"}, "hours", "整数"),
        ({"hours": "0"}, "hours", "整数"),
        ({"hours": "99"}, "hours", "整数"),
        ({"hours": "1.5"}, "hours", "整数"),
        ({"hours": -3}, "hours", "整数"),
        ({"hours": True}, "hours", "整数"),
        ({"hours": ""}, "hours", "必填"),
        ({"topics": [], "other_topics": " 、 "}, "topics", "至少勾选或填写一个"),
        ({"other_topics": "x" * 31}, "other_topics", "不能超过 30"),
        ({"other_topics": "、".join(f"主题{n:02d}号" for n in range(60))}, "other_topics", "300"),
        ({"organiser": ""}, "organiser", "必填"),
        ({"location": "会议\t室"}, "location", "控制字符"),
    ],
)
def test_bad_sessions_are_refused_and_nothing_is_written(db, people, overrides, field, message):
    before = count(db, Training), count(db, AuditLog)
    with pytest.raises(ValidationError) as caught:
        sessions.create_training(session_input(**overrides), by=people["regulator"])
    assert field in caught.value.errors
    assert any(message in text for text in caught.value.errors[field])
    assert (count(db, Training), count(db, AuditLog)) == before


def test_editing_a_session_is_audited(db, people):
    session = held(db, people)
    sessions.update_training(
        session.id, session_input(title="台账记录专题培训", hours="3"), by=people["regulator"]
    )
    assert (session.title, session.hours) == ("台账记录专题培训", 3)
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "training.updated"))
    assert audit.details["changes"]["hours"] == [2, 3]
    assert set(audit.details["changes"]) == {"title", "hours"}


def test_an_unknown_session_is_not_found(db, people):
    with pytest.raises(NotFound):
        sessions.get_training(999999, by=people["inspector"])


# --- attendance ------------------------------------------------------------------------------


def test_attendance_is_ticked_per_workshop_and_replaced_by_later_ticks(db, people):
    session = held(db, people)
    lin, zheng = people["lin"], people["zheng"]
    sheet = attendance.attendance_sheet(session.id, people["first"].id, by=people["regulator"])
    # the active staff are offered; the one who left is not
    assert [line.staff.name for line in sheet.lines] == ["林德福", "郑国平"]
    attendance.record_attendance(
        session.id,
        AttendanceInput(people["first"].id, attended=[lin.id, zheng.id], passed=[lin.id]),
        by=people["regulator"],
    )
    rows = {
        a.staff_id: a for a in db.session.scalars(select(TrainingAttendance)).all()
    }  # one row per person, with the workshop
    assert rows[lin.id].attended and rows[lin.id].passed is True
    assert rows[zheng.id].attended and rows[zheng.id].passed is False
    assert {r.workshop_id for r in rows.values()} == {people["first"].id}
    # Zheng was not there after all: kept as absent, not deleted
    attendance.record_attendance(
        session.id,
        AttendanceInput(people["first"].id, attended=[lin.id], passed=[lin.id]),
        by=people["regulator"],
    )
    db.session.refresh(rows[zheng.id])
    assert rows[zheng.id].attended is False and rows[zheng.id].passed is None
    assert count(db, TrainingAttendance) == 2
    audits = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "training.attendance").order_by(AuditLog.id)
    ).all()
    assert [a.details["absent"] for a in audits] == [[], [zheng.id]]
    assert audits[0].details["added"] == [lin.id, zheng.id]


def test_staff_who_left_keep_their_record(db, people):
    session = held(db, people)
    gone = people["gone"]
    db.session.add(
        TrainingAttendance(
            training_id=session.id,
            staff_id=gone.id,
            workshop_id=people["first"].id,
            attended=True,
            passed=True,
        )
    )
    db.session.flush()
    attendance.record_attendance(
        session.id,
        AttendanceInput(people["first"].id, attended=[people["lin"].id]),
        by=people["regulator"],
    )
    row = db.session.scalar(
        select(TrainingAttendance).where(TrainingAttendance.staff_id == gone.id)
    )
    assert row.attended is True and row.passed is True
    sheet = attendance.attendance_sheet(session.id, people["first"].id, by=people["inspector"])
    assert "已离岗者" in [line.staff.name for line in sheet.lines]


@pytest.mark.parametrize(
    ("case", "field", "message"),
    [
        ("other_workshop", "attended", "不是该作坊的从业人员"),
        ("unknown_staff", "attended", "所选人员不存在"),
        ("not_a_number", "attended", "所选人员不存在"),
        ("left", "attended", "已离岗"),
        ("passed_absent", "passed", "未勾选出勤的人员不能记为考核合格"),
        ("passed_other", "passed", "不是该作坊的从业人员"),
        ("no_workshop", "workshop_id", "请选择作坊"),
        ("unknown_workshop", "workshop_id", "作坊不存在"),
        ("cancelled_workshop", "workshop_id", "已注销"),
        ("nobody", "attended", "请勾选参加培训的人员"),
        ("future", "attended", "尚未举行"),
    ],
)
def test_bad_attendance_is_refused_and_nothing_is_written(db, people, case, field, message):
    session = held(db, people, days_ago=-5 if case == "future" else 10)
    first, lin = people["first"].id, people["lin"].id
    inputs = {
        "other_workshop": AttendanceInput(first, attended=[lin, people["yang"].id]),
        "unknown_staff": AttendanceInput(first, attended=[lin, 999999]),
        "not_a_number": AttendanceInput(first, attended=[-1]),
        "left": AttendanceInput(first, attended=[people["gone"].id]),
        "passed_absent": AttendanceInput(first, attended=[lin], passed=[people["zheng"].id]),
        "passed_other": AttendanceInput(first, attended=[lin], passed=[people["yang"].id]),
        "no_workshop": AttendanceInput(None, attended=[lin]),
        "unknown_workshop": AttendanceInput(999999, attended=[lin]),
        "cancelled_workshop": AttendanceInput(
            WorkshopFactory(status=WorkshopStatus.CANCELLED).id, attended=[lin]
        ),
        "nobody": AttendanceInput(first, attended=[]),
        "future": AttendanceInput(first, attended=[lin]),
    }
    before = count(db, TrainingAttendance), count(db, AuditLog)
    with pytest.raises(ValidationError) as caught:
        attendance.record_attendance(session.id, inputs[case], by=people["regulator"])
    assert any(message in text for text in caught.value.errors[field]), caught.value.errors
    assert (count(db, TrainingAttendance), count(db, AuditLog)) == before


# --- figures -------------------------------------------------------------------------------------


def record(session, workshop, attended, passed=(), *, by):
    attendance.record_attendance(
        session.id,
        AttendanceInput(
            workshop.id, attended=[p.id for p in attended], passed=[p.id for p in passed]
        ),
        by=by,
    )


def test_list_and_year_figures_are_counted(db, people):
    year = local_today().year - 1  # a whole year in the past, whatever today is
    reg = people["regulator"]
    first = sessions.create_training(session_input(held_on=date(year, 1, 2)), by=reg)
    second = sessions.create_training(
        session_input(title="添加剂专题", held_on=date(year, 1, 3), hours="3"), by=reg
    )
    older = sessions.create_training(
        session_input(title="前年的培训", held_on=date(year - 1, 6, 1)), by=reg
    )
    record(first, people["first"], [people["lin"], people["zheng"]], [people["lin"]], by=reg)
    record(first, people["second"], [people["yang"]], [people["yang"]], by=reg)
    record(second, people["first"], [people["lin"]], by=reg)
    record(older, people["first"], [people["zheng"]], by=reg)
    rows = listing.list_trainings(by=people["inspector"], year=year)
    assert [r.training.title for r in rows] == ["添加剂专题", "食品小作坊主体责任培训"]
    figures = {r.training.id: (r.attendees, r.passed, r.workshops) for r in rows}
    assert figures[first.id] == (3, 2, 2)
    assert figures[second.id] == (1, 0, 1)
    assert len(listing.list_trainings(by=people["inspector"])) == 3
    assert listing.years(by=people["inspector"]) == [year + 1, year, year - 1]
    summary = listing.year_summary(year, by=people["inspector"])
    assert (summary.sessions, summary.attendances, summary.people) == (2, 4, 3)
    assert summary.person_hours == 2 * 3 + 3
    assert (summary.workshops_covered, summary.open_workshops) == (2, 2)
    assert summary.coverage == 100
    # an absent row neither counts as an attendee nor covers its workshop
    record(second, people["first"], [people["zheng"]], by=reg)  # Lin now absent
    again = {r.training.id: r for r in listing.list_trainings(by=reg, year=year)}
    assert (again[second.id].attendees, again[second.id].workshops) == (1, 1)
    record(second, people["first"], [], by=reg)  # nobody was there after all
    again = {r.training.id: r for r in listing.list_trainings(by=reg, year=year)}
    assert (again[second.id].attendees, again[second.id].workshops) == (0, 0)
    empty = listing.year_summary(year - 5, by=reg)
    assert (empty.sessions, empty.attendances, empty.workshops_covered) == (0, 0, 0)


def test_a_workshops_history_and_a_persons_trainings(db, people):
    reg = people["regulator"]
    older = held(db, people, days_ago=40, title="旧培训", hours="4")
    newer = held(db, people, days_ago=5, title="新培训", hours="2")
    record(older, people["first"], [people["lin"], people["zheng"]], [people["lin"]], by=reg)
    record(newer, people["first"], [people["lin"]], [people["lin"]], by=reg)
    record(newer, people["first"], [people["zheng"]], by=reg)  # Lin absent after all
    history = workshop_history(people["first"].id, by=people["inspector"])
    assert [(s.training.title, s.attended, s.passed, s.absent) for s in history.sessions] == [
        ("新培训", 1, 0, 1),
        ("旧培训", 2, 1, 0),
    ]
    figures = {p.staff.name: (p.sessions, p.hours) for p in history.people}
    assert figures == {"林德福": (1, 4), "郑国平": (2, 6)}
    lin = staff_history(people["lin"].id, by=people["inspector"])
    assert (lin.sessions, lin.hours) == (1, 4)
    assert [(t.title, a.attended) for t, a in lin.lines] == [("新培训", False), ("旧培训", True)]
    with pytest.raises(NotFound):
        staff_history(999999, by=people["inspector"])
    with pytest.raises(NotFound):
        workshop_history(999999, by=people["inspector"])


# --- who may do what -------------------------------------------------------------------------


def test_inspectors_read_but_only_regulators_write(db, people):
    session = held(db, people)
    for user in (people["inspector"], people["operator"], None):
        with pytest.raises(Forbidden):
            sessions.create_training(session_input(), by=user)
        with pytest.raises(Forbidden):
            sessions.update_training(session.id, session_input(title="改"), by=user)
        with pytest.raises(Forbidden):
            attendance.record_attendance(
                session.id,
                AttendanceInput(people["first"].id, attended=[people["lin"].id]),
                by=user,
            )
    assert session.title == "食品小作坊主体责任培训"
    assert count(db, TrainingAttendance) == 0
    assert listing.list_trainings(by=people["inspector"])
    for reader in (people["operator"], None):
        with pytest.raises(Forbidden):
            listing.list_trainings(by=reader)
        with pytest.raises(Forbidden):
            workshop_history(people["first"].id, by=reader)
