"""Training sessions: recording and correcting them, their topics, hours and dates."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from backend.audit.models import AuditLog
from backend.core.errors import NotFound, ValidationError
from backend.core.time import local_today
from backend.training import sessions
from backend.training.models import Training
from tests.training.helpers import (
    count,
    held,
    session_input,
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
