"""晨检 Morning health check: each person checked before work.

Nobody without a valid health certificate, nor with fever (≥ 37.3 °C), symptoms or hand
wounds, can be recorded fit for work.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select

from backend.accounts.models import User
from backend.accounts.permissions import require_operator
from backend.core.errors import ValidationError
from backend.extensions import db
from backend.ledgers import entries
from backend.ledgers.models import LedgerEntry, LedgerKind
from backend.registry.models import Staff

FEVER = Decimal("37.3")  # °C: at or above it nobody handles food


def check_lines(workshop_id: int, checks: list[dict], day: date) -> list[dict]:
    """The morning check lines, refused for anyone who may not be on duty."""
    ids = [c["staff_id"] for c in checks]
    if len(set(ids)) != len(ids):
        raise ValidationError(
            _("同一人只能记录一次。"),
            slug="duplicate_staff",
            errors={"checks": ["each staff_id once"]},
        )
    people = {s.id: s for s in db.session.scalars(select(Staff).where(Staff.id.in_(ids)))}
    lines = []
    for index, check in enumerate(checks):
        person = people.get(check["staff_id"])
        if person is None or person.workshop_id != workshop_id or not person.active:
            raise ValidationError(
                _("本作坊没有这名在职人员。"),
                slug="staff_not_found",
                errors={"checks": {index: {"staff_id": ["not active staff of this workshop"]}}},
            )
        certificate = entries.valid_certificate(person, day)
        if check["fit_for_work"]:
            _require_fit(person, certificate, check, index, day)
        lines.append(
            entries.staff_check(
                person,
                certificate,
                temperature=check["temperature"],
                symptoms=check["symptoms"],
                hand_wounds=check["hand_wounds"],
                fit_for_work=check["fit_for_work"],
                note=check.get("note") or "",
            )
        )
    return lines


def _require_fit(person: Staff, certificate, check: dict, index: int, day: date) -> None:
    """Refuse 'fit for work' for someone without a valid certificate or who is unwell."""
    where = {"checks": {index: {"fit_for_work": []}}}
    if certificate is None:
        past = [c for c in person.health_certificates if c.expires_on < day]
        if past:
            expired = max(c.expires_on for c in past)
            where["checks"][index]["fit_for_work"] = [f"health certificate expired {expired}"]
            raise ValidationError(
                _(
                    "%(name)s 的健康证已于 %(date)s 过期，不能记录为在岗。",
                    name=person.name,
                    date=expired.isoformat(),
                ),
                slug="health_certificate_expired",
                errors={**where, "staff": person.name, "expired_on": expired.isoformat()},
            )
        where["checks"][index]["fit_for_work"] = ["no valid health certificate"]
        raise ValidationError(
            _("%(name)s 没有有效的健康证，不能记录为在岗。", name=person.name),
            slug="health_certificate_missing",
            errors={**where, "staff": person.name},
        )
    if check["temperature"] >= FEVER or check["symptoms"]:
        where["checks"][index]["fit_for_work"] = ["fever or symptoms"]
        raise ValidationError(
            _("%(name)s 发热或有症状，不能记录为在岗。", name=person.name),
            slug="unwell_staff_on_duty",
            errors=where,
        )
    if check["hand_wounds"]:
        where["checks"][index]["fit_for_work"] = ["hand wounds"]
        raise ValidationError(
            _("%(name)s 手部有伤口，不能记录为在岗接触食品。", name=person.name),
            slug="unwell_staff_on_duty",
            errors=where,
        )


def record_morning_check(workshop_id: int, user: User, data: dict) -> LedgerEntry:
    """晨检: every person checked this morning."""
    require_operator(user, workshop_id)
    st = entries.stamp(user, data)
    lines = check_lines(workshop_id, data["checks"], st.business_date)
    return entries.write(LedgerKind.MORNING_CHECK, workshop_id, user, st, {"checks": lines})
