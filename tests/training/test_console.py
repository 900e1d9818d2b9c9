"""Training in the console: sessions, attendance per workshop, a workshop's and a person's
trainings, bad input next to the field, and what inspectors may not do.

Every form is posted with its CSRF token (tests/support/console.py), as a browser would.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from backend.accounts.models import Role
from backend.audit.models import AuditLog
from backend.complaints.models import Complaint
from backend.core.time import local_today
from backend.registry.models import Staff
from backend.training.models import Training, TrainingAttendance
from tests.factories import WorkshopFactory
from tests.support.console import logged_in, submit, text


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture()
def shops(db):
    """Two workshops with staff, and a session held a week ago."""
    first = WorkshopFactory(name="四大桶红曲酒坊", registration_no="XZF0001")
    second = WorkshopFactory(name="内坊豆腐坊", registration_no="XZF0002")
    people = {
        "lin": Staff(workshop_id=first.id, name="林德福"),
        "zheng": Staff(workshop_id=first.id, name="郑国平"),
        "gone": Staff(workshop_id=first.id, name="离岗的人", active=False),
        "yang": Staff(workshop_id=second.id, name="杨阿婆"),
    }
    db.session.add_all(people.values())
    session = Training(
        title="明厨亮灶与一品一码操作培训",
        topics="一品一码操作、明厨亮灶",
        held_on=local_today() - timedelta(days=7),
        organiser="半里加工区管委会",
        location="半里加工区会议室",
        hours=2,
    )
    db.session.add(session)
    db.session.flush()
    return {"first": first, "second": second, "session": session, **people}


def session_form(**overrides) -> dict:
    """A valid session form."""
    data = {
        "title": "食品小作坊主体责任培训",
        "topics": ["食品安全法律法规", "台账记录"],
        "other_topics": "晨检、留样",
        "held_on": (local_today() - timedelta(days=3)).isoformat(),
        "organiser": "长泰区市场监督管理局",
        "location": "半里乡政府三楼",
        "hours": "3",
        "content": "第一部分：主体责任。\n第二部分：台账。",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- sessions --------------------------------------------------------------------------------


def test_a_regulator_records_a_session(client, db, shops):
    user = logged_in(client)
    form_page = text(client.get("/console/training/new"))
    assert "食品添加剂使用" in form_page  # suggested topics are offered as ticks
    response = submit(client, "/console/training/new", session_form())
    assert response.status_code == 302, text(response)[:3000]
    session = db.session.scalar(select(Training).where(Training.title == "食品小作坊主体责任培训"))
    assert session.topics == "食品安全法律法规、台账记录、晨检、留样"
    assert (session.hours, session.location) == (3, "半里乡政府三楼")
    assert response.headers["Location"].endswith(f"/console/training/{session.id}")
    page = text(client.get(f"/console/training/{session.id}"))
    assert "晨检" in page and "第二部分：台账。" in page and "尚未登记出勤" in page
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "training.created"))
    assert audit.actor_id == user.id
    listing = text(client.get("/console/training/"))
    assert "食品小作坊主体责任培训" in listing and "明厨亮灶与一品一码操作培训" in listing


BAD_SESSIONS = [
    ({"title": ""}, "title", "必填"),
    ({"held_on": "1900-01-01"}, "held_on", "日期须在"),
    ({"held_on": "yesterday"}, "held_on", "不是有效的日期"),
    ({"held_on": ""}, "held_on", "必填"),
    ({"hours": "abc"}, "hours", "整数"),
    ({"hours": "0"}, "hours", "整数"),
    ({"hours": "99"}, "hours", "整数"),
    ({"topics": [], "other_topics": ""}, "topics", "至少勾选或填写一个"),
    (
        {"other_topics": "这是一个非常非常非常非常非常非常非常非常非常非常非常长的主题名称"},
        "other_topics",
        "30",
    ),
]


@pytest.mark.parametrize(("overrides", "field", "message"), BAD_SESSIONS)
def test_bad_sessions_are_refused_next_to_the_field(client, db, shops, overrides, field, message):
    logged_in(client)
    before = count(db, Training), count(db, AuditLog)
    response = submit(client, "/console/training/new", session_form(**overrides))
    assert response.status_code == 422
    page = text(response)
    errors_at = page.index(f'id="{field}-errors"')
    assert message in page[errors_at : errors_at + 400]
    assert "未保存任何内容" in page
    assert (count(db, Training), count(db, AuditLog)) == before


def test_several_mistakes_at_once_and_what_was_typed_is_kept(client, db, shops):
    logged_in(client)
    response = submit(
        client,
        "/console/training/new",
        session_form(title="", held_on="31/12/2024", hours="abc", location="半里加工区"),
    )
    page = text(response)
    assert response.status_code == 422
    assert "必填" in page and "不是有效的日期" in page and "整数" in page
    assert 'value="半里加工区"' in page and 'value="abc"' in page
    assert count(db, Training) == 1


def test_a_regulator_edits_a_session(client, db, shops):
    logged_in(client)
    session = shops["session"]
    url = f"/console/training/{session.id}/edit"
    form_page = text(client.get(url))
    assert 'value="明厨亮灶与一品一码操作培训"' in form_page
    assert 'value="一品一码操作" checked' in form_page
    response = submit(
        client,
        url,
        session_form(
            title="明厨亮灶操作培训",
            topics=["明厨亮灶"],
            other_topics="视频巡查",
            held_on=session.held_on.isoformat(),
            hours="4",
        ),
    )
    assert response.status_code == 302, text(response)[:2000]
    db.session.refresh(session)
    assert (session.title, session.topics, session.hours) == (
        "明厨亮灶操作培训",
        "明厨亮灶、视频巡查",
        4,
    )
    refused = submit(client, url, session_form(hours="0"))
    assert refused.status_code == 422
    db.session.refresh(session)
    assert session.hours == 4


def test_the_list_is_by_year(client, db, shops):
    logged_in(client, Role.INSPECTOR)
    old = Training(
        title="很久以前的培训", held_on=date(2021, 3, 1), organiser="长泰区市场监督管理局"
    )
    db.session.add(old)
    db.session.flush()
    this_year = text(client.get("/console/training/"))
    assert "明厨亮灶与一品一码操作培训" in this_year
    assert "很久以前的培训" not in this_year
    assert "很久以前的培训" in text(client.get("/console/training/?year=2021"))
    everything = text(client.get("/console/training/?year=all"))
    assert "很久以前的培训" in everything and "明厨亮灶与一品一码操作培训" in everything
    for odd in ("?year=abc", "?year=1800", "?year=99999", "?year="):
        assert client.get(f"/console/training/{odd}").status_code == 200


def test_unknown_sessions_workshops_and_staff_are_html_404s(client, shops):
    logged_in(client)
    for path in (
        "/console/training/999999",
        "/console/training/999999/edit",
        "/console/training/workshops/999999",
        "/console/training/staff/999999",
        f"/console/training/{shops['session'].id}/attendance?workshop_id=999999",
        f"/console/training/{shops['session'].id}/attendance?workshop_id=abc",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.mimetype == "text/html"


# --- attendance ----------------------------------------------------------------------------------


def test_attendance_choose_a_workshop_then_tick_its_staff(client, db, shops):
    logged_in(client)
    session, first = shops["session"], shops["first"]
    url = f"/console/training/{session.id}/attendance"
    chooser = text(client.get(url))
    assert "四大桶红曲酒坊" in chooser and "内坊豆腐坊" in chooser
    sheet_url = f"{url}?workshop_id={first.id}"
    sheet = text(client.get(sheet_url))
    assert "林德福" in sheet and "郑国平" in sheet
    assert "离岗的人" not in sheet and "杨阿婆" not in sheet
    lin, zheng = shops["lin"].id, shops["zheng"].id
    response = submit(
        client,
        sheet_url,
        {"workshop_id": str(first.id), "attended": [str(lin), str(zheng)], "passed": [str(lin)]},
        action=url,
    )
    assert response.status_code == 302, text(response)[:3000]
    rows = {a.staff_id: a for a in db.session.scalars(select(TrainingAttendance))}
    assert rows[lin].attended and rows[lin].passed is True
    assert rows[zheng].attended and rows[zheng].passed is False
    detail = text(client.get(f"/console/training/{session.id}"))
    assert "出勤 2 人，合格 1 人" in detail and "不合格" in detail
    # the sheet shows what was recorded; unticking Zheng keeps him as absent
    again = text(client.get(sheet_url))
    assert f'value="{zheng}" checked' in again
    response = submit(
        client,
        sheet_url,
        {"workshop_id": str(first.id), "attended": [str(lin)], "passed": [str(lin)]},
        action=url,
    )
    assert response.status_code == 302
    db.session.refresh(rows[zheng])
    assert rows[zheng].attended is False
    assert "缺席" in text(client.get(f"/console/training/{session.id}"))
    listing = text(client.get("/console/training/"))
    assert "作坊已参训" in listing


def test_workshop_and_staff_training_pages(client, db, shops):
    logged_in(client, Role.INSPECTOR)
    session, first = shops["session"], shops["first"]
    db.session.add(
        TrainingAttendance(
            training_id=session.id,
            staff_id=shops["lin"].id,
            workshop_id=first.id,
            attended=True,
            passed=True,
        )
    )
    db.session.flush()
    page = text(client.get(f"/console/training/workshops/{first.id}"))
    assert "明厨亮灶与一品一码操作培训" in page
    assert "林德福" in page and "郑国平" in page and "未参加培训" in page
    person = text(client.get(f"/console/training/staff/{shops['lin'].id}"))
    assert "参训 1 场，累计 2 学时" in person and "合格" in person


def test_the_workshop_page_links_to_its_training(client, db, shops):
    logged_in(client)
    page = text(client.get(f"/console/registry/{shops['first'].id}"))
    assert f"/console/training/workshops/{shops['first'].id}" in page


@pytest.mark.parametrize(
    ("case", "field", "message"),
    [
        ("other_workshop", "attended", "不是该作坊的从业人员"),
        ("unknown_staff", "attended", "所选人员不存在"),
        ("text_id", "attended", "所选人员不存在"),
        ("passed_absent", "passed", "未勾选出勤的人员不能记为考核合格"),
        ("unknown_workshop", "workshop_id", "作坊不存在"),
        ("no_workshop", "workshop_id", "请选择作坊"),
        ("nobody", "attended", "请勾选参加培训的人员"),
    ],
)
def test_bad_attendance_is_refused_next_to_the_field(client, db, shops, case, field, message):
    logged_in(client)
    session, first = shops["session"], shops["first"]
    lin = str(shops["lin"].id)
    forms = {
        "other_workshop": {"workshop_id": str(first.id), "attended": [lin, str(shops["yang"].id)]},
        "unknown_staff": {"workshop_id": str(first.id), "attended": [lin, "999999"]},
        "text_id": {"workshop_id": str(first.id), "attended": ["abc"]},
        "passed_absent": {
            "workshop_id": str(first.id),
            "attended": [lin],
            "passed": [str(shops["zheng"].id)],
        },
        "unknown_workshop": {"workshop_id": "999999", "attended": [lin]},
        "no_workshop": {"workshop_id": "", "attended": [lin]},
        "nobody": {"workshop_id": str(first.id)},
    }
    url = f"/console/training/{session.id}/attendance"
    before = count(db, TrainingAttendance), count(db, AuditLog)
    response = submit(client, url, forms[case])
    assert response.status_code == 422, text(response)[:2000]
    page = text(response)
    errors_at = page.index(f'id="{field}-errors"')
    assert message in page[errors_at : errors_at + 400], page[errors_at : errors_at + 400]
    assert (count(db, TrainingAttendance), count(db, AuditLog)) == before
    if case == "other_workshop":  # the sheet is shown again with what was ticked
        assert "林德福" in page and f'value="{lin}" checked' in page


def test_attendance_of_a_future_session_is_refused(client, db, shops):
    logged_in(client)
    session = shops["session"]
    session.held_on = local_today() + timedelta(days=5)
    db.session.flush()
    detail = text(client.get(f"/console/training/{session.id}"))
    assert "尚未举行" in detail and f"/console/training/{session.id}/attendance" not in detail
    url = f"/console/training/{session.id}/attendance"
    response = submit(
        client, url, {"workshop_id": str(shops["first"].id), "attended": [str(shops["lin"].id)]}
    )
    assert response.status_code == 422
    assert "尚未举行" in text(response)
    assert count(db, TrainingAttendance) == 0


# --- CSRF and who may do what -------------------------------------------------------------------


def test_a_form_without_its_token_is_refused(client, db, shops):
    logged_in(client)
    response = client.post("/console/training/new", data=session_form())
    assert response.status_code == 400
    assert "安全令牌" in text(response)
    assert count(db, Training) == 1


def test_inspectors_read_training_but_cannot_change_it(client, db, shops):
    logged_in(client, Role.INSPECTOR)
    session, first = shops["session"], shops["first"]
    listing = text(client.get("/console/training/"))
    assert "明厨亮灶与一品一码操作培训" in listing and "登记培训" not in listing
    detail = text(client.get(f"/console/training/{session.id}"))
    assert f"/console/training/{session.id}/edit" not in detail
    assert f"/console/training/{session.id}/attendance" not in detail
    for path in (
        "/console/training/new",
        f"/console/training/{session.id}/edit",
        f"/console/training/{session.id}/attendance",
    ):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "只有监管人员可以登记和修改培训记录" in text(response)
    token_page = "/console/training/"
    audits = count(db, AuditLog)  # the login itself is audited
    for path, data in (
        ("/console/training/new", session_form()),
        (f"/console/training/{session.id}/edit", session_form(title="改名")),
        (
            f"/console/training/{session.id}/attendance",
            {"workshop_id": str(first.id), "attended": [str(shops["lin"].id)]},
        ),
    ):
        response = submit(client, token_page, data, action=path)
        assert response.status_code == 403, path
    db.session.refresh(session)
    assert session.title == "明厨亮灶与一品一码操作培训"
    assert count(db, Training) == 1 and count(db, TrainingAttendance) == 0
    assert count(db, AuditLog) == audits


def test_the_navigation_links_to_training(client, shops):
    logged_in(client, Role.INSPECTOR)
    page = text(client.get("/console/"))
    assert 'href="/console/training/"' in page and "培训" in page


def test_the_demo_data_shows_in_training_and_complaints(client, db, runner):
    """One seeding (it takes seconds) for both parts of the console."""
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    logged_in(client)
    listing = text(client.get("/console/training/?year=all"))
    assert "明厨亮灶与一品一码操作培训" in listing
    for session in db.session.scalars(select(Training)):
        assert client.get(f"/console/training/{session.id}").status_code == 200
    person = db.session.scalar(select(TrainingAttendance.staff_id).limit(1))
    assert client.get(f"/console/training/staff/{person}").status_code == 200
    workshop = db.session.scalar(select(TrainingAttendance.workshop_id).limit(1))
    assert client.get(f"/console/training/workshops/{workshop}").status_code == 200
    listing = text(client.get("/console/complaints/"))
    assert "瓶盖封口有松动" in listing and "已办结" in listing
    for complaint in db.session.scalars(select(Complaint)):
        response = client.get(f"/console/complaints/{complaint.id}")
        assert response.status_code == 200
        assert complaint.content in text(response)
