"""Attendance per workshop: who attended, who passed, who has left, who is of another workshop."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.audit.models import AuditLog
from backend.core.errors import ValidationError
from backend.registry.models import WorkshopStatus
from backend.training import attendance
from backend.training.attendance import AttendanceInput
from backend.training.models import TrainingAttendance
from tests.factories import WorkshopFactory
from tests.training.helpers import (
    count,
    held,
)

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
