"""Who may record training (regulators) and who may read it (regulators and inspectors)."""

from __future__ import annotations

import pytest

from backend.core.errors import Forbidden
from backend.training import attendance, listing, sessions
from backend.training.attendance import AttendanceInput
from backend.training.history import workshop_history
from backend.training.models import TrainingAttendance
from tests.training.helpers import (
    count,
    held,
    session_input,
)

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
