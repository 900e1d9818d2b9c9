"""What the training service tests build on: counting rows, a valid session, a recorded session."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from backend.core.time import local_today
from backend.training import sessions
from backend.training.models import Training
from backend.training.sessions import TrainingInput


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


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
