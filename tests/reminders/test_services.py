"""WeChat reminders: incomplete ledgers and expiring health certificates, through the real
wechatpy client against the fake WeChat server."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, select

from backend.accounts.models import MemberRole, User, WorkshopMembership
from backend.config import ConfigError, TestingConfig
from backend.core.time import SHANGHAI, utcnow
from backend.integrations import wechat
from backend.ledgers.chain import append_entry
from backend.ledgers.models import LedgerKind
from backend.registry.models import HealthCertificate, Staff, Workshop, WorkshopStatus, Zone
from backend.reminders import services, tasks
from backend.reminders.models import ReminderKind, ReminderLog, ReminderStatus
from backend.reminders.services import IN_FLIGHT, fit, send_due
from tests.factories import UserFactory, WorkshopFactory

SEND = "/cgi-bin/message/subscribe/send"
DAY = date(2026, 11, 26)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A local (Asia/Shanghai) moment."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


NOW = at(DAY, 17)


def operator(db, workshop, role=MemberRole.STAFF, *, openid=True, active=True, user_active=True):
    """An operator bound to *workshop*, with a WeChat openid unless told otherwise."""
    user = UserFactory(active=user_active)
    if openid:
        user.openid = f"openid-{user.username}"
    db.session.add(
        WorkshopMembership(user_id=user.id, workshop_id=workshop.id, role=role, active=active)
    )
    db.session.flush()
    return user


def person(db, workshop, name, expires_on, *, active=True, cert_no=None):
    """A staff member of *workshop* and the health certificate that expires on *expires_on*."""
    staff = Staff(workshop_id=workshop.id, name=name, active=active)
    db.session.add(staff)
    db.session.flush()
    certificate = HealthCertificate(
        staff_id=staff.id,
        cert_no=cert_no or f"JKZ-{staff.id}",
        issued_on=expires_on - timedelta(days=365),
        expires_on=expires_on,
    )
    db.session.add(certificate)
    db.session.flush()
    return staff, certificate


def note(workshop, kind, when, payload=None):
    """A ledger entry of *workshop* on the local day of *when*."""
    return append_entry(
        workshop_id=workshop.id,
        kind=kind,
        payload=payload or {},
        occurred_at=when,
        business_date=when.astimezone(SHANGHAI).date(),
    )


def sends(fake) -> list[dict]:
    """Bodies of the subscribe messages the fake received."""
    return [call["body"] for call in fake.calls_to(SEND)]


def logs(db, kind=None) -> list[ReminderLog]:
    """Reminder log rows, oldest first."""
    query = select(ReminderLog).order_by(ReminderLog.id)
    if kind is not None:
        query = query.where(ReminderLog.kind == kind)
    db.session.expire_all()
    return list(db.session.scalars(query))


# ---------------------------------------------------------------- ledgers incomplete


@pytest.fixture()
def quiet(db):
    """A workshop with its owner, a staff member and a worker on duty; nothing recorded yet."""
    workshop = WorkshopFactory(name="半里林氏红曲酒坊")
    owner = operator(db, workshop, MemberRole.OWNER)
    staff = operator(db, workshop)
    person(db, workshop, "林德福", DAY + timedelta(days=200))
    return workshop, owner, staff


def test_the_ledger_reminder_goes_to_the_operators_at_the_hour_not_before(db, fake_wechat, quiet):
    workshop, owner, staff = quiet
    operator(db, workshop, openid=False)  # never logged in by WeChat: cannot be reached
    operator(db, workshop, active=False)  # membership ended
    operator(db, workshop, user_active=False)  # account switched off
    elsewhere = operator(db, WorkshopFactory())  # another workshop, complete below
    note(db.session.get(Workshop, elsewhere.memberships[0].workshop_id), LedgerKind.CLEANING, NOW)

    report = send_due(at(DAY, 16, 59))
    assert sends(fake_wechat) == [] and logs(db) == []
    assert report.sent == 0

    report = send_due(NOW)
    assert report.sent == 2 and report.failed == report.skipped == 0
    messages = sends(fake_wechat)
    assert sorted(m["touser"] for m in messages) == sorted([owner.openid, staff.openid])
    first = messages[0]
    assert first["template_id"] == "tmpl-ledger"
    assert first["page"] == f"pages/today/index?workshop_id={workshop.id}&date=2026-11-26"
    assert first["data"] == {
        "thing1": {"value": "半里林氏红曲酒坊"},
        "date2": {"value": "2026年11月26日"},
        "thing3": {"value": "晨检、清洗消毒"},
        "thing4": {"value": "请尽快补填今日台账"},
    }
    rows = logs(db)
    assert {(r.user_id, r.status, r.subject, r.workshop_id, r.errcode) for r in rows} == {
        (owner.id, ReminderStatus.SENT, "2026-11-26", workshop.id, None),
        (staff.id, ReminderStatus.SENT, "2026-11-26", workshop.id, None),
    }
    assert all(r.kind is ReminderKind.LEDGERS_INCOMPLETE for r in rows)


def test_once_a_day_and_again_the_next_day_while_incomplete(db, fake_wechat, quiet):
    send_due(NOW)
    assert len(sends(fake_wechat)) == 2
    for moment in (at(DAY, 17, 15), at(DAY, 23, 59), at(DAY + timedelta(days=1), 8)):
        report = send_due(moment)
        assert report.sent == 0
    assert len(sends(fake_wechat)) == 2
    report = send_due(at(DAY + timedelta(days=1), 17, 30))
    assert report.sent == 2
    assert {m["data"]["date2"]["value"] for m in sends(fake_wechat)[2:]} == {"2026年11月27日"}
    assert [r.subject for r in logs(db)] == ["2026-11-26"] * 2 + ["2026-11-27"] * 2


def test_no_reminder_when_the_ledgers_are_complete(db, fake_wechat, quiet):
    workshop, _, _ = quiet
    lin = db.session.scalar(select(Staff).where(Staff.workshop_id == workshop.id))
    note(workshop, LedgerKind.MORNING_CHECK, at(DAY, 7), {"checks": [{"staff_id": lin.id}]})
    note(workshop, LedgerKind.CLEANING, at(DAY, 16))
    assert send_due(NOW).sent == 0
    assert sends(fake_wechat) == [] and logs(db) == []


def test_only_the_missing_items_are_named(db, fake_wechat, quiet):
    workshop, _, _ = quiet
    note(workshop, LedgerKind.CLEANING, at(DAY, 16))
    send_due(NOW)
    assert {m["data"]["thing3"]["value"] for m in sends(fake_wechat)} == {"晨检"}


def test_workshops_that_do_not_produce_are_not_reminded(db, fake_wechat):
    for status in (WorkshopStatus.FILED, WorkshopStatus.SUSPENDED, WorkshopStatus.CANCELLED):
        operator(db, WorkshopFactory(status=status), MemberRole.OWNER)
    assert send_due(NOW).sent == 0 and sends(fake_wechat) == []


def test_an_operator_of_two_incomplete_workshops_gets_one_message(db, fake_wechat):
    first = WorkshopFactory(name="半里第一作坊")
    second = WorkshopFactory(name="半里第二作坊")
    user = operator(db, first, MemberRole.OWNER)
    db.session.add(WorkshopMembership(user_id=user.id, workshop_id=second.id, role="owner"))
    db.session.flush()
    send_due(NOW)
    (message,) = sends(fake_wechat)
    assert message["data"]["thing1"]["value"] == "半里第一作坊等2家"
    assert [r.workshop_id for r in logs(db)] == [first.id]


def test_the_hour_is_configurable(db, fake_wechat, quiet, app, monkeypatch):
    monkeypatch.setitem(app.config, "REMINDER_LEDGER_HOUR", 20)
    assert send_due(at(DAY, 19, 59)).sent == 0
    assert send_due(at(DAY, 20)).sent == 2


# ---------------------------------------------------------- health certificates expiring


@pytest.fixture()
def crew(db):
    """A workshop with an owner and a staff operator."""
    workshop = WorkshopFactory(name="坊洋黑豆腐作坊")
    owner = operator(db, workshop, MemberRole.OWNER)
    staff = operator(db, workshop)
    return workshop, owner, staff


def test_the_certificate_reminder_goes_once_to_the_owners_only(db, fake_wechat, crew):
    workshop, owner, _ = crew
    operator(db, WorkshopFactory(), MemberRole.OWNER)  # an owner, but not of this workshop
    chen, certificate = person(
        db, workshop, "陈阿妹", DAY + timedelta(days=30), cert_no="闽健2025-0042"
    )

    report = send_due(at(DAY, 10))  # before the ledger hour: certificates only
    assert report.sent == 1
    (message,) = sends(fake_wechat)
    assert message["touser"] == owner.openid
    assert message["template_id"] == "tmpl-cert"
    assert message["page"] == f"pages/staff/index?staff_id={chen.id}"
    assert message["data"] == {
        "name1": {"value": "陈阿妹"},
        "thing2": {"value": "健康证 闽健2025-0042"},
        "date3": {"value": "2026年12月26日"},
        "thing4": {"value": "还有30天到期，请及时体检换证"},
    }
    (row,) = logs(db)
    assert (row.kind, row.user_id, row.subject, row.status) == (
        ReminderKind.HEALTH_CERT_EXPIRING,
        owner.id,
        f"health_certificate:{certificate.id}",
        ReminderStatus.SENT,
    )
    # Once per certificate: later runs, days later, send nothing more.
    for days in (0, 1, 10, 30):
        assert send_due(at(DAY + timedelta(days=days), 11)).sent == 0
    assert len(sends(fake_wechat)) == 1


def test_each_certificate_is_its_own_reminder(db, fake_wechat, crew, app, monkeypatch):
    workshop, owner, _ = crew
    monkeypatch.setitem(app.config, "REMINDER_TEMPLATE_LEDGER", None)  # certificates only
    person(db, workshop, "陈阿妹", DAY + timedelta(days=5))
    send_due(at(DAY, 10))
    person(db, workshop, "林小弟", DAY + timedelta(days=20))
    send_due(at(DAY, 10, 15))
    assert [m["data"]["name1"]["value"] for m in sends(fake_wechat)] == ["陈阿妹", "林小弟"]
    assert send_due(at(DAY, 10, 30)).sent == 0


def test_which_certificates_count(db, fake_wechat, crew, app, monkeypatch):
    workshop, _, _ = crew
    monkeypatch.setitem(app.config, "REMINDER_TEMPLATE_LEDGER", None)
    person(db, workshop, "今天到期", DAY)
    person(db, workshop, "三十一天", DAY + timedelta(days=31))
    person(db, workshop, "已过期", DAY - timedelta(days=1))
    person(db, workshop, "已离职", DAY + timedelta(days=3), active=False)
    renewed, _ = person(db, workshop, "已换证", DAY + timedelta(days=3))
    db.session.add(
        HealthCertificate(
            staff_id=renewed.id,
            cert_no="JKZ-new",
            issued_on=DAY - timedelta(days=2),
            expires_on=DAY + timedelta(days=363),
        )
    )
    db.session.flush()
    send_due(at(DAY, 10))
    ((message),) = sends(fake_wechat)
    assert message["data"]["name1"]["value"] == "今天到期"
    assert message["data"]["thing4"]["value"] == "今天到期，请及时体检换证"


def test_certificate_reminders_wait_for_the_morning(db, fake_wechat, crew, app, monkeypatch):
    workshop, _, _ = crew
    monkeypatch.setitem(app.config, "REMINDER_TEMPLATE_LEDGER", None)
    person(db, workshop, "陈阿妹", DAY + timedelta(days=30))
    assert send_due(at(DAY, 8, 59)).sent == 0
    assert send_due(at(DAY, 9)).sent == 1


# ------------------------------------------------------------------- WeChat's answers


def test_not_subscribed_is_recorded_as_skipped_and_not_tried_again(db, fake_wechat, quiet):
    _, owner, staff = quiet
    fake_wechat.fail_next(43101, "user refuse to accept the msg")
    report = send_due(NOW)
    assert (report.sent, report.skipped, report.failed) == (1, 1, 0)
    statuses = {r.user_id: (r.status, r.errcode) for r in logs(db)}
    assert statuses[owner.id] == (ReminderStatus.SKIPPED, 43101)  # the owner was first
    assert statuses[staff.id] == (ReminderStatus.SENT, None)
    report = send_due(at(DAY, 17, 15))
    assert (report.sent, report.skipped, report.handled) == (0, 0, 2)
    assert len(sends(fake_wechat)) == 2


def test_other_errors_are_recorded_as_failed_and_tried_next_run(db, fake_wechat, quiet):
    _, owner, staff = quiet
    fake_wechat.fail_next(47003, "argument invalid!")
    report = send_due(NOW)
    assert (report.sent, report.failed) == (1, 1)
    statuses = {r.user_id: (r.status, r.errcode) for r in logs(db)}
    assert statuses[owner.id] == (ReminderStatus.FAILED, 47003)
    report = send_due(at(DAY, 17, 15))
    assert (report.sent, report.failed, report.handled) == (1, 0, 1)
    messages = sends(fake_wechat)
    assert [m["touser"] for m in messages] == [owner.openid, staff.openid, owner.openid]
    assert {r.user_id: r.status for r in logs(db)} == {
        owner.id: ReminderStatus.SENT,
        staff.id: ReminderStatus.SENT,
    }
    assert all(r.errcode is None for r in logs(db))


def test_an_unreachable_wechat_fails_once_and_leaves_the_rest_for_later(
    db, fake_wechat, quiet, app, monkeypatch
):
    import socket

    with socket.socket() as sock:  # a loopback port with nobody listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setitem(app.config, "WECHAT_API_BASE_URL", f"http://127.0.0.1:{port}/")
    report = send_due(NOW)
    assert (report.sent, report.failed) == (0, 1)
    ((row),) = logs(db)
    assert (row.status, row.errcode) == (ReminderStatus.FAILED, None)
    monkeypatch.setitem(app.config, "WECHAT_API_BASE_URL", fake_wechat.url)
    assert send_due(at(DAY, 17, 15)).sent == 2
    assert {r.status for r in logs(db)} == {ReminderStatus.SENT}


def test_the_access_token_is_fetched_once_and_reused(db, fake_wechat, quiet, crew):
    workshop, _, _ = crew
    person(db, workshop, "陈阿妹", DAY + timedelta(days=3))
    assert send_due(NOW).sent == 5  # four operators' ledgers and the crew owner's certificate
    assert send_due(at(DAY + timedelta(days=1), 17)).sent == 4  # the ledgers of the next day
    assert len(fake_wechat.calls_to("/cgi-bin/token")) == 1
    assert {c["query"]["access_token"] for c in fake_wechat.calls_to(SEND)} == {
        fake_wechat.tokens[0]
    }


def test_without_wechat_nothing_is_sent_or_recorded_until_it_is_configured(db, quiet, request):
    report = send_due(NOW)
    assert report.sent == 0 and "微信未配置" in report.summary()
    assert logs(db) == []
    fake = request.getfixturevalue("fake_wechat")  # now WeChat is configured
    assert send_due(at(DAY, 17, 15)).sent == 2
    assert len(sends(fake)) == 2


def test_a_kind_without_its_template_is_not_sent(db, fake_wechat, quiet, app, monkeypatch):
    monkeypatch.setitem(app.config, "REMINDER_TEMPLATE_LEDGER", None)
    report = send_due(NOW)
    assert report.sent == 0 and "REMINDER_TEMPLATE_LEDGER" in report.summary()
    assert logs(db) == []
    monkeypatch.setitem(app.config, "REMINDER_TEMPLATE_LEDGER", "tmpl-ledger")
    assert send_due(at(DAY, 17, 15)).sent == 2


def test_a_naive_time_is_refused(db, fake_wechat):
    with pytest.raises(services.ValidationError):
        send_due(datetime(2026, 11, 26, 17))


# ------------------------------------------------------------------- message fields


def test_values_are_fitted_to_wechat_limits(db, fake_wechat):
    long_name = "半里乡集中加工区第十二号传统手工红曲酒酿造作坊有限公司"
    workshop = WorkshopFactory(name=long_name)
    operator(db, workshop, MemberRole.OWNER)
    send_due(NOW)
    (message,) = sends(fake_wechat)
    value = message["data"]["thing1"]["value"]
    assert len(value) == 20 and value.endswith("…") and long_name.startswith(value[:-1])


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("thing1", "一" * 20, "一" * 20),
        ("thing1", "一" * 21, "一" * 19 + "…"),
        ("thing7", "  两个\n空格  ", "两个 空格"),
        ("name2", "欧阳" * 6, "欧阳" * 5),
        ("name2", "a" * 25, "a" * 20),
        ("phrase3", "即将到期了", "即将到期了"),
        ("phrase3", "已过期OK", "已过期"),
        ("character_string4", "闽健2025-0042", "2025-0042"),
        ("character_string4", "A" * 40, "A" * 32),
        ("date5", date(2026, 1, 5), "2026年1月5日"),
        ("thing6", date(2026, 1, 5), "2026年1月5日"),
        ("number8", "12 345", "12345"),
    ],
)
def test_fit(key, value, expected):
    assert fit(key, value) == expected


def test_reminder_settings_are_checked_at_start_up():
    good = {k: getattr(TestingConfig, k) for k in dir(TestingConfig) if k.isupper()}
    TestingConfig.validate(good)
    for bad in (
        {"REMINDER_LEDGER_HOUR": 24},
        {"REMINDER_EVERY_MINUTES": 0},
        {"REMINDER_CERT_DAYS": 0},
        {"REMINDER_LEDGER_FIELDS": "workshop=thing1"},
        {"REMINDER_CERT_FIELDS": "staff:name1,colour:thing2"},
    ):
        with pytest.raises(ConfigError) as caught:
            TestingConfig.validate({**good, **bad})
        assert next(iter(bad)) in str(caught.value)


# ------------------------------------------------------------------- overlapping runs


def test_a_run_does_not_take_a_reminder_another_run_is_sending(db, fake_wechat, quiet):
    _, owner, staff = quiet
    for user in (owner, staff):
        db.session.add(
            ReminderLog(
                kind=ReminderKind.LEDGERS_INCOMPLETE,
                user_id=user.id,
                subject="2026-11-26",
                status=ReminderStatus.FAILED,
                errcode=IN_FLIGHT,
                sent_at=utcnow() - (timedelta(minutes=11) if user is staff else timedelta(0)),
            )
        )
    db.session.flush()
    report = send_due(NOW)
    # The owner's claim is fresh (another run is at it); the staff's is stale (a run died).
    assert (report.sent, report.handled) == (1, 1)
    assert [m["touser"] for m in sends(fake_wechat)] == [staff.openid]


def cleanup(app, workshop_ids, user_ids) -> None:
    """Delete what a test committed outside the per-test transaction."""
    from backend.extensions import db as database

    with app.app_context():
        session = database.session
        staff_ids = select(Staff.id).where(Staff.workshop_id.in_(workshop_ids))
        zone_ids = list(
            session.scalars(select(Workshop.zone_id).where(Workshop.id.in_(workshop_ids)))
        )
        session.execute(delete(ReminderLog).where(ReminderLog.user_id.in_(user_ids)))
        session.execute(
            delete(WorkshopMembership).where(WorkshopMembership.workshop_id.in_(workshop_ids))
        )
        session.execute(delete(HealthCertificate).where(HealthCertificate.staff_id.in_(staff_ids)))
        session.execute(delete(Staff).where(Staff.workshop_id.in_(workshop_ids)))
        from backend.ledgers.models import LedgerEntry

        session.execute(delete(LedgerEntry).where(LedgerEntry.workshop_id.in_(workshop_ids)))
        session.execute(delete(User).where(User.id.in_(user_ids)))
        session.execute(delete(Workshop).where(Workshop.id.in_(workshop_ids)))
        session.execute(delete(Zone).where(Zone.id.in_([z for z in zone_ids if z])))
        session.commit()


def test_two_overlapping_runs_send_each_reminder_once(app, fake_wechat, monkeypatch):
    """Two runs at once, each with its own connection and commits, as two beat runs would."""
    from backend.extensions import db as database

    with app.app_context():
        workshops = [WorkshopFactory() for _ in range(2)]
        users = [operator(database, w, role) for w in workshops for role in ("owner", "staff")]
        for workshop in workshops:
            person(database, workshop, "陈阿妹", DAY + timedelta(days=7))
        database.session.commit()
        workshop_ids = [w.id for w in workshops]
        user_ids = [u.id for u in users]
    try:
        real_call = wechat.call

        def slow_call(action, *args, **kwargs):
            time.sleep(0.05)  # sending takes a while, so the runs overlap
            return real_call(action, *args, **kwargs)

        monkeypatch.setattr(wechat, "call", slow_call)
        barrier = threading.Barrier(2)
        results, errors = [], []
        task = app.extensions["celery"].tasks[tasks.TASK_NAME]

        def run():
            try:
                with app.app_context():
                    barrier.wait(timeout=10)
                    results.append(task.run(NOW.isoformat()))
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        messages = sends(fake_wechat)
        keys = [(m["touser"], m["template_id"], m["page"]) for m in messages]
        assert len(keys) == len(set(keys)) == 4 + 2  # 4 operators, 2 owners' certificates
        assert sum(r["sent"] for r in results) == 6
        with app.app_context():
            rows = database.session.scalars(
                select(ReminderLog).where(ReminderLog.user_id.in_(user_ids))
            ).all()
            assert len(rows) == 6 and {r.status for r in rows} == {ReminderStatus.SENT}
    finally:
        cleanup(app, workshop_ids, user_ids)


# ------------------------------------------------------------ Celery, beat and the CLI


def test_the_beat_schedule_runs_the_reminders(app):
    celery = app.extensions["celery"]
    entries = [e for e in celery.conf.beat_schedule.values() if e["task"] == tasks.TASK_NAME]
    (entry,) = entries
    assert entry["schedule"].minute == {0, 15, 30, 45}
    assert tasks.TASK_NAME in celery.tasks
    assert celery.conf.timezone == "Asia/Shanghai"


def test_the_task_runs_inline_through_celery(db, fake_wechat, quiet, app):
    celery = app.extensions["celery"]
    assert celery.conf.task_always_eager
    result = celery.tasks[tasks.TASK_NAME].delay(NOW.isoformat())
    assert result.successful() and result.result["sent"] == 2
    assert len(sends(fake_wechat)) == 2
    assert len(logs(db)) == 2
    # enqueue_send_due does the same for the current app; nothing is due twice.
    assert tasks.enqueue_send_due(NOW).result["handled"] == 2


def test_the_command_sends_once(runner, db, fake_wechat, quiet):
    result = runner.invoke(args=["reminders", "send", "--now", "2026-11-26T17:05"])
    assert result.exit_code == 0, result.output
    assert "发送 2 条" in result.output
    result = runner.invoke(args=["reminders", "send", "--now", "2026-11-26T09:05:00+00:00"])
    assert result.exit_code == 0 and "发送 0 条" in result.output and "已处理 2 条" in result.output
    assert len(sends(fake_wechat)) == 2


def test_the_command_refuses_a_bad_time(runner, db):
    result = runner.invoke(args=["reminders", "send", "--now", "tomorrow"])
    assert result.exit_code == 2 and "ISO 8601" in result.output


def test_the_command_says_when_wechat_is_not_configured(runner, db, quiet):
    result = runner.invoke(args=["reminders", "send", "--now", "2026-11-26T17:05"])
    assert result.exit_code == 0 and "微信未配置" in result.output
    assert logs(db) == []


def test_utc_and_local_times_agree(db, fake_wechat, quiet):
    assert send_due(datetime(2026, 11, 26, 8, 59, tzinfo=UTC)).sent == 0  # 16:59 in Zhangzhou
    assert send_due(datetime(2026, 11, 26, 9, 0, tzinfo=UTC)).sent == 2
