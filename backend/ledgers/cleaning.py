"""清洗消毒 Cleaning and disinfection: what was cleaned or disinfected, how, with what, by whom.

Cleaning stays open whatever the workshop's registration says: the law still asks for it.
"""

from __future__ import annotations

from flask_babel import gettext as _

from backend.accounts.models import User
from backend.core.errors import ValidationError
from backend.extensions import db
from backend.ledgers import entries
from backend.ledgers.models import LedgerEntry, LedgerKind
from backend.ledgers.write_lock import lock_for_operator
from backend.registry.models import Staff


def staff_member(workshop_id: int, staff_id: int | None, name: str) -> Staff | None:
    """The workshop's staff member *staff_id* (None for none), else a field error on *name*."""
    if staff_id is None:
        return None
    person = db.session.get(Staff, staff_id)
    if person is None or person.workshop_id != workshop_id:
        raise ValidationError(
            _("本作坊没有这名人员。"), slug="staff_not_found", errors={name: ["not staff here"]}
        )
    return person


def record_cleaning(workshop_id: int, user: User, data: dict) -> LedgerEntry:
    """清洗消毒: what was cleaned or disinfected, how, with what, by whom.

    The operators' most frequent write: the caller's membership, the person named and the
    workshop's chain lock come in one statement (:func:`write_lock.lock_for_operator`), refused
    in the same order as elsewhere (membership, times and photos, then the person).
    """
    staff_id = data.get("by_staff_id")
    by = lock_for_operator(user, workshop_id, staff_id=staff_id)
    st = entries.stamp(user, data)
    if staff_id is not None and (by is None or by.workshop_id != workshop_id):
        raise ValidationError(
            _("本作坊没有这名人员。"),
            slug="staff_not_found",
            errors={"by_staff_id": ["not staff here"]},
        )
    payload = entries.cleaning_payload(
        data["what"], data["how"], data["disinfectant"], by, user.display_name
    )
    return entries.write(LedgerKind.CLEANING, workshop_id, user, st, payload)
