"""The training list, a year's figures and the history per workshop and per person."""

from __future__ import annotations

from datetime import date

import pytest

from backend.core.errors import NotFound
from backend.core.time import local_today
from backend.training import attendance, listing, sessions
from backend.training.attendance import AttendanceInput
from backend.training.history import staff_history, workshop_history
from tests.training.helpers import (
    held,
    session_input,
)

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
