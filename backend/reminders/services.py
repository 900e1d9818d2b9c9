"""Reminders by WeChat subscribe message: today's ledgers are incomplete, a health
certificate expires soon.

:func:`send_due` works out what is due at a moment and sends it:

- **ledgers incomplete** — from ``REMINDER_LEDGER_HOUR`` (local time) on, every operator of a
  producing workshop whose checklist for the local day is not complete, once per day
  (subject: the local date). An operator of several such workshops gets one message that
  names the first and counts the rest.
- **health certificate expiring** — from ``REMINDER_CERT_HOUR`` on, the owners of the
  workshop of every active staff member whose newest certificate expires within
  ``REMINDER_CERT_DAYS`` days, once per certificate (subject: ``health_certificate:<id>``).

Recipients are active operators with an active membership and a WeChat openid. Every attempt
leaves one :class:`ReminderLog` row per (kind, user, subject): ``sent``; ``skipped`` when
WeChat says the user has not subscribed (43101), never tried again; ``failed`` with WeChat's
errcode (none when WeChat could not be reached), tried again on the next run.

Nobody is reminded twice, even when two runs overlap: a run *claims* a reminder before
sending it, by inserting its log row (``ON CONFLICT DO NOTHING`` on the unique constraint:
only one run wins) or, to try a failure again, by a conditional update of the failed row.
A claimed row reads ``failed`` with errcode :data:`IN_FLIGHT` (0, WeChat's "ok", never a
real failure) until the answer is recorded; a claim older than :data:`CLAIM_TIMEOUT` (its
run died mid-way) may be taken again. The caller passes ``checkpoint`` (the task and the
command pass ``db.session.commit``) so that each claim is visible to other runs before the
message goes out; the service itself only flushes.

Without WeChat configured (``WECHAT_APPID``/``WECHAT_SECRET``), or without the template id of
a kind, nothing of that kind is sent **and nothing is logged**, so the reminders go out on
the first run after it is configured.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased

from backend.accounts.models import MemberRole, Role, User, WorkshopMembership
from backend.config import parse_field_map
from backend.core.errors import ValidationError
from backend.core.time import to_local, utcnow
from backend.extensions import db
from backend.integrations import wechat
from backend.ledgers import checklist
from backend.registry.models import HealthCertificate, Staff, Workshop, WorkshopStatus
from backend.reminders.models import ReminderKind, ReminderLog, ReminderStatus

log = logging.getLogger(__name__)

NOT_SUBSCRIBED = 43101  # WeChat: "user refused to accept the message" (no subscription left)
IN_FLIGHT = 0  # errcode of a claimed row whose answer is not recorded yet
CLAIM_TIMEOUT = timedelta(minutes=10)
# WeChat answers after which the rest of a run is not even tried: it is down or out of quota.
STOP_RUN = {None, 45009, -1}

# WeChat's limits on subscribe-message values, by the type part of the key ("thing3").
LIMITS = {
    "thing": 20,
    "number": 32,
    "letter": 32,
    "symbol": 5,
    "character_string": 32,
    "phone_number": 17,
    "car_number": 8,
    "name": 10,  # ten Chinese characters, or twenty letters
    "phrase": 5,
}


@dataclass(frozen=True)
class Reminder:
    """One message due to one user: what the log row and the subscribe message need."""

    kind: ReminderKind
    user_id: int
    openid: str
    workshop_id: int | None
    subject: str
    template_id: str
    page: str
    data: dict


@dataclass
class RunReport:
    """What one run did: counts by outcome and notes for whoever reads the output."""

    sent: int = 0
    skipped: int = 0
    failed: int = 0
    handled: int = 0  # due, but sent or skipped before, or taken by another run
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """Plain data (the task's result)."""
        return {
            "sent": self.sent,
            "skipped": self.skipped,
            "failed": self.failed,
            "handled": self.handled,
            "notes": list(self.notes),
        }

    def summary(self) -> str:
        """One line per fact, Chinese first."""
        lines = [
            _(
                "提醒：发送 %(sent)d 条，未订阅跳过 %(skipped)d 条，失败 %(failed)d 条，"
                "此前已处理 %(handled)d 条。",
                sent=self.sent,
                skipped=self.skipped,
                failed=self.failed,
                handled=self.handled,
            )
        ]
        return "\n".join(lines + self.notes)


def send_due(now: datetime | None = None, *, checkpoint: Callable[[], None] | None = None):
    """Send every reminder due at *now* (default: this moment) and log each attempt.

    *checkpoint* is called after each claim and each recorded answer; the edges pass
    ``db.session.commit``. Returns a :class:`RunReport`.
    """
    now = _aware(now or utcnow())
    checkpoint = checkpoint or db.session.flush
    report = RunReport()
    if not wechat.configured():
        report.notes.append(_("微信未配置（WECHAT_APPID / WECHAT_SECRET），未发送也未记录提醒。"))
        return report
    config = current_app.config
    reminders: list[Reminder] = []
    if config.get("REMINDER_TEMPLATE_CERT"):
        reminders += certificate_reminders(now)
    else:
        report.notes.append(_("未配置健康证到期提醒模板（REMINDER_TEMPLATE_CERT），未发送。"))
    if config.get("REMINDER_TEMPLATE_LEDGER"):
        reminders += ledger_reminders(now)
    else:
        report.notes.append(_("未配置台账提醒模板（REMINDER_TEMPLATE_LEDGER），未发送。"))
    reminders, done = _without_done(reminders)
    report.handled += done
    checkpoint()  # end the reading, so each claim below starts its own write
    for reminder in reminders:
        log_id = claim(reminder)
        checkpoint()
        if log_id is None:
            report.handled += 1
            continue
        status, errcode = deliver(log_id, reminder)
        checkpoint()
        if status is ReminderStatus.SENT:
            report.sent += 1
        elif status is ReminderStatus.SKIPPED:
            report.skipped += 1
        else:
            report.failed += 1
            if errcode in STOP_RUN:
                report.notes.append(_("微信暂时不可用，其余提醒留待下次发送。"))
                break
    return report


def ledger_reminders(now: datetime) -> list[Reminder]:
    """Reminders that today's ledgers are incomplete, due at *now* (none before the hour).

    Reminders already sent are included; :func:`send_due` leaves them out.
    """
    config = current_app.config
    local = to_local(_aware(now))
    if local.hour < config["REMINDER_LEDGER_HOUR"]:
        return []
    day = local.date()
    workshops = db.session.scalars(
        select(Workshop).where(Workshop.status.in_(checklist.PRODUCING)).order_by(Workshop.id)
    ).all()
    incomplete: dict[int, tuple[Workshop, list]] = {}
    for workshop in workshops:
        today = checklist.today(workshop.id, day)
        if not today.complete:
            incomplete[workshop.id] = (workshop, today.missing)
    if not incomplete:
        return []
    fields = parse_field_map(config["REMINDER_LEDGER_FIELDS"])
    by_user: dict[int, tuple[User, list[int]]] = {}
    for user, workshop_id in _operators(list(incomplete)):
        by_user.setdefault(user.id, (user, []))[1].append(workshop_id)
    reminders = []
    for user, workshop_ids in by_user.values():
        workshop, missing = incomplete[workshop_ids[0]]
        name = workshop.name
        if len(workshop_ids) > 1:
            name = _("%(name)s等%(count)d家", name=_fit_text(name, 14), count=len(workshop_ids))
        values = {
            "workshop": name,
            "date": day,
            "missing": _missing_text(missing),
            "tip": _("请尽快补填今日台账"),
        }
        reminders.append(
            Reminder(
                kind=ReminderKind.LEDGERS_INCOMPLETE,
                user_id=user.id,
                openid=user.openid,
                workshop_id=workshop.id,
                subject=day.isoformat(),
                template_id=config["REMINDER_TEMPLATE_LEDGER"],
                page=f"{config['REMINDER_LEDGER_PAGE']}?workshop_id={workshop.id}"
                f"&date={day.isoformat()}",
                data=message_data(fields, values),
            )
        )
    return reminders


def certificate_reminders(now: datetime) -> list[Reminder]:
    """Reminders to workshop owners that a health certificate expires soon, due at *now*.

    A certificate counts when it expires between today and ``REMINDER_CERT_DAYS`` days from
    today (local dates), belongs to an active staff member of a workshop that is not
    cancelled, and is that person's newest one (a renewed certificate needs no reminder).
    """
    config = current_app.config
    local = to_local(_aware(now))
    if local.hour < config["REMINDER_CERT_HOUR"]:
        return []
    today = local.date()
    until = today + timedelta(days=config["REMINDER_CERT_DAYS"])
    later = aliased(HealthCertificate)
    renewed = (
        select(later.id)
        .where(
            later.staff_id == HealthCertificate.staff_id,
            later.expires_on > HealthCertificate.expires_on,
        )
        .exists()
    )
    rows = db.session.execute(
        select(HealthCertificate, Staff, Workshop)
        .join(Staff, Staff.id == HealthCertificate.staff_id)
        .join(Workshop, Workshop.id == Staff.workshop_id)
        .where(
            HealthCertificate.expires_on >= today,
            HealthCertificate.expires_on <= until,
            Staff.active.is_(True),
            Workshop.status != WorkshopStatus.CANCELLED,
            ~renewed,
        )
        .order_by(HealthCertificate.expires_on, HealthCertificate.id)
    ).all()
    if not rows:
        return []
    fields = parse_field_map(config["REMINDER_CERT_FIELDS"])
    owners: dict[int, list[User]] = {}
    for user, workshop_id in _operators({row.Workshop.id for row in rows}, owners_only=True):
        owners.setdefault(workshop_id, []).append(user)
    reminders = []
    for certificate, staff, workshop in rows:
        days_left = (certificate.expires_on - today).days
        values = {
            "staff": staff.name,
            "certificate": _("健康证 %(no)s", no=certificate.cert_no),
            "expires": certificate.expires_on,
            "workshop": workshop.name,
            "tip": _("还有%(days)d天到期，请及时体检换证", days=days_left)
            if days_left
            else _("今天到期，请及时体检换证"),
        }
        for user in owners.get(workshop.id, []):
            reminders.append(
                Reminder(
                    kind=ReminderKind.HEALTH_CERT_EXPIRING,
                    user_id=user.id,
                    openid=user.openid,
                    workshop_id=workshop.id,
                    subject=f"health_certificate:{certificate.id}",
                    template_id=config["REMINDER_TEMPLATE_CERT"],
                    page=f"{config['REMINDER_CERT_PAGE']}?staff_id={staff.id}",
                    data=message_data(fields, values),
                )
            )
    return reminders


def claim(reminder: Reminder) -> int | None:
    """Take *reminder* for this run: insert its log row, or take its failed row to try
    again. Returns the row's id, or None when it was sent or skipped already, or another run
    holds it.

    Both are single writes that the database arbitrates (an insert that does nothing on a
    conflict, an update under conditions), never a read followed by a write, so two runs
    cannot both win, and SQLite never has to upgrade a stale read to a write.
    """
    now = utcnow()
    key = (
        ReminderLog.kind == reminder.kind,
        ReminderLog.user_id == reminder.user_id,
        ReminderLog.subject == reminder.subject,
    )
    dialect = db.session.get_bind().dialect.name
    insert = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}[dialect]
    log_id = db.session.scalar(
        insert(ReminderLog)
        .values(
            kind=reminder.kind,
            user_id=reminder.user_id,
            workshop_id=reminder.workshop_id,
            subject=reminder.subject,
            status=ReminderStatus.FAILED,
            errcode=IN_FLIGHT,
            sent_at=now,
        )
        .on_conflict_do_nothing(index_elements=["kind", "user_id", "subject"])
        .returning(ReminderLog.id)
    )
    if log_id is None:
        log_id = db.session.scalar(
            update(ReminderLog)
            .where(
                *key,
                ReminderLog.status == ReminderStatus.FAILED,
                or_(
                    ReminderLog.errcode.is_(None),
                    ReminderLog.errcode != IN_FLIGHT,
                    ReminderLog.sent_at < now - CLAIM_TIMEOUT,
                ),
            )
            .values(errcode=IN_FLIGHT, sent_at=now)
            .returning(ReminderLog.id)
            .execution_options(synchronize_session=False)
        )
    return log_id


def deliver(log_id: int, reminder: Reminder) -> tuple[ReminderStatus, int | None]:
    """Send the claimed *reminder* and record WeChat's answer on log row *log_id*.

    Returns the status and WeChat's errcode (None when sent, or when WeChat was not reached).
    """

    def send(client):
        return client.wxa.send_subscribe_message(
            reminder.openid, reminder.template_id, reminder.data, page=reminder.page
        )

    try:
        wechat.call(send)
        status, errcode = ReminderStatus.SENT, None
    except wechat.WeChatError as exc:
        errcode = exc.errcode
        status = ReminderStatus.SKIPPED if errcode == NOT_SUBSCRIBED else ReminderStatus.FAILED
        log.info("reminder %s to %s: %s %s", reminder.kind, reminder.user_id, status, errcode)
    db.session.execute(
        update(ReminderLog)
        .where(ReminderLog.id == log_id)
        .values(status=status, errcode=errcode, sent_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return status, errcode


def _without_done(reminders: list[Reminder]) -> tuple[list[Reminder], int]:
    """The reminders not yet sent or skipped, and how many were (one query per kind)."""
    done: set[tuple] = set()
    for kind in {r.kind for r in reminders}:
        subjects = {r.subject for r in reminders if r.kind is kind}
        done.update(
            (kind, user_id, subject)
            for user_id, subject in db.session.execute(
                select(ReminderLog.user_id, ReminderLog.subject).where(
                    ReminderLog.kind == kind,
                    ReminderLog.subject.in_(subjects),
                    ReminderLog.status != ReminderStatus.FAILED,
                )
            )
        )
    pending = [r for r in reminders if (r.kind, r.user_id, r.subject) not in done]
    return pending, len(reminders) - len(pending)


def message_data(fields: dict[str, str], values: dict) -> dict:
    """Subscribe-message ``data``: ``{key: {"value": text}}`` for each role the template has,
    each value fitted to its key's type (``thing`` ≤ 20 characters and so on)."""
    return {key: {"value": fit(key, values[role])} for role, key in fields.items()}


def fit(key: str, value) -> str:
    """*value* as WeChat accepts it for a data key of this type (``thing1``, ``date2``...)."""
    kind = re.sub(r"\d+$", "", key)
    if isinstance(value, date):
        text = f"{value.year}年{value.month}月{value.day}日"
        return text if kind in ("date", "time", "thing") else value.isoformat()
    text = " ".join(str(value).split())
    if kind == "thing":
        return _fit_text(text, LIMITS["thing"])
    if kind == "name":
        limit = LIMITS["name"] if not text.isascii() else 2 * LIMITS["name"]
        return text[:limit]
    if kind == "phrase":
        return "".join(ch for ch in text if not ch.isascii())[: LIMITS["phrase"]]
    if kind in ("character_string", "letter", "number", "symbol", "phone_number"):
        text = "".join(ch for ch in text if ch.isascii() and not ch.isspace())
    return text[: LIMITS[kind]] if kind in LIMITS else text


def _fit_text(text: str, limit: int) -> str:
    """*text* cut to *limit* characters, ending in an ellipsis when it was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _missing_text(missing: list) -> str:
    """The kinds of the missing checklist items, in order and once each: "晨检、清洗消毒"."""
    names: list[str] = []
    for item in missing:
        name = _(checklist.KIND_NAMES.get(item.kind, item.kind))
        if name not in names:
            names.append(name)
    return "、".join(names)


def _operators(workshop_ids, *, owners_only: bool = False) -> list[tuple[User, int]]:
    """(user, workshop id) for every active operator of those workshops who has an openid."""
    if not workshop_ids:
        return []
    query = (
        select(User, WorkshopMembership.workshop_id)
        .join(WorkshopMembership, WorkshopMembership.user_id == User.id)
        .where(
            WorkshopMembership.workshop_id.in_(list(workshop_ids)),
            WorkshopMembership.active.is_(True),
            User.active.is_(True),
            User.role == Role.OPERATOR,
            User.openid.is_not(None),
        )
        .order_by(WorkshopMembership.workshop_id, User.id)
    )
    if owners_only:
        query = query.where(WorkshopMembership.role == MemberRole.OWNER)
    return [(user, workshop_id) for user, workshop_id in db.session.execute(query)]


def _aware(moment: datetime) -> datetime:
    """Refuse a naive datetime: a reminder's hour depends on the time zone."""
    if moment.tzinfo is None:
        raise ValidationError(
            _("时间须带时区，例如 2026-11-26T17:00+08:00。"), slug="naive_datetime"
        )
    return moment
