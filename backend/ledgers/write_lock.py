"""The write lock of a workshop's ledgers, taken with the operator's check in one statement.

The operators' most frequent writes (cleaning) lock the workshop's row for the hash chain
(:mod:`backend.ledgers.chain`), check the caller's active membership and find the staff
member the write names in one statement: :func:`lock_for_operator`.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import and_, bindparam, select

from backend.accounts.models import MemberRole, User, WorkshopMembership
from backend.accounts.permissions import require_operator_role
from backend.core.errors import Forbidden
from backend.extensions import db
from backend.ledgers.chain import note_locked
from backend.registry.models import Staff, Workshop

_WORKSHOPS = Workshop.__table__
_MEMBERS = WorkshopMembership.__table__
_STAFF = Staff.__table__


class StaffRef(NamedTuple):
    """The staff member a write names: enough to check and record them."""

    id: int
    name: str
    workshop_id: int


# One statement for a write: the workshop's row lock (the chain's, see
# backend.ledgers.chain), the caller's active membership and the staff member the
# write names. Built once; only Workshop.id is selected from the locked row.
_LOCK_FOR_OPERATOR = (
    select(
        _WORKSHOPS.c.id,
        _MEMBERS.c.role.label("member_role"),
        _STAFF.c.id.label("staff_id"),
        _STAFF.c.name.label("staff_name"),
        _STAFF.c.workshop_id.label("staff_workshop_id"),
    )
    .select_from(_WORKSHOPS)
    .outerjoin(
        _MEMBERS,
        and_(
            _MEMBERS.c.workshop_id == _WORKSHOPS.c.id,
            _MEMBERS.c.user_id == bindparam("user_id"),
            _MEMBERS.c.active.is_(True),
        ),
    )
    .outerjoin(_STAFF, _STAFF.c.id == bindparam("staff_id"))
    .where(_WORKSHOPS.c.id == bindparam("workshop_id"))
    .limit(1)
    .with_for_update(of=_WORKSHOPS)
)


def lock_for_operator(
    user: User, workshop_id: int, *, staff_id: int | None = None, owner: bool = False
) -> StaffRef | None:
    """``permissions.require_operator``, taking the workshop's chain lock in one statement.

    Refuses exactly as ``require_operator`` does (a workshop that is not there is not
    the caller's either); on success the workshop's row is locked for the rest of the
    transaction (``append_entry`` then takes it without another statement) and the staff
    member *staff_id* names is returned as found, whatever workshop they belong to (None
    when there is no such person, or no *staff_id*): the caller checks them in its turn.
    """
    require_operator_role(user)
    found = (
        db.session.connection()
        .execute(  # a Core statement: no ORM execution needed
            _LOCK_FOR_OPERATOR,
            {"user_id": user.id, "workshop_id": workshop_id, "staff_id": staff_id},
        )
        .first()
    )
    if found is None or found.member_role is None:
        raise Forbidden("只能操作本作坊的数据。", slug="not_your_workshop")
    if owner and found.member_role is not MemberRole.OWNER:
        raise Forbidden("此操作仅限作坊负责人。", slug="owner_only")
    note_locked(workshop_id)
    if found.staff_id is None:
        return None
    return StaffRef(found.staff_id, found.staff_name, found.staff_workshop_id)
