"""Who may read and write a workshop's ledgers and batches.

- Reading (checklist, ledger history, batches, raw lots): the workshop's operators (owner
  and staff) and regulators — ``require_workshop_member``.
- Writing ledger entries, opening batches, recording additives, moving a batch through
  production: the workshop's own operators only; a regulator reads but never writes a
  workshop's evidence.
- Owner-only: releasing a batch, and correcting an entry someone else recorded (staff may
  correct their own entries).
- Holding, recalling and lifting a hold: regulators, never operators; the rules are
  :mod:`backend.samples.holds`'s (a hold is lifted only once the lab has answered).
"""

from __future__ import annotations

from typing import NamedTuple

from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, select

from backend.accounts.models import MemberRole, Role, User, WorkshopMembership
from backend.accounts.permissions import membership, require_workshop_member
from backend.core.errors import Forbidden, NotFound
from backend.extensions import db
from backend.ledgers.chain import note_locked
from backend.registry.models import Staff, Workshop

_WORKSHOPS = Workshop.__table__
_MEMBERS = WorkshopMembership.__table__
_STAFF = Staff.__table__


def require_reader(user: User, workshop_id: int) -> None:
    """The workshop's operators and regulators may read (404 for a workshop that is not)."""
    require_workshop_member(user, workshop_id)
    if db.session.get(Workshop, workshop_id) is None:
        raise NotFound(_("作坊不存在。"), slug="workshop_not_found")


def require_operator(user: User, workshop_id: int, *, owner: bool = False) -> None:
    """Only the workshop's own operators (its owners, when *owner*) may write."""
    if user.role is not Role.OPERATOR:
        raise Forbidden(_("台账和批次只能由本作坊的经营者或员工填写。"), slug="operators_only")
    require_workshop_member(user, workshop_id, owner=owner)


def is_owner(user: User, workshop_id: int) -> bool:
    """Whether *user* is an active owner of the workshop."""
    member = membership(user, workshop_id) if user.role is Role.OPERATOR else None
    return member is not None and member.role is MemberRole.OWNER


def require_supervisor(user: User) -> None:
    """Holds, recalls and lifting a hold belong to regulators."""
    if user.role is not Role.REGULATOR:
        raise Forbidden(_("暂控、召回和解除暂控只能由监管人员操作。"), slug="regulators_only")


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
    """:func:`require_operator`, taking the workshop's chain lock in the same statement.

    Refuses exactly as :func:`require_operator` does (a workshop that is not there is not
    the caller's either); on success the workshop's row is locked for the rest of the
    transaction (``append_entry`` then takes it without another statement) and the staff
    member *staff_id* names is returned as found, whatever workshop they belong to (None
    when there is no such person, or no *staff_id*): the caller checks them in its turn.
    """
    if user.role is not Role.OPERATOR:
        raise Forbidden(_("台账和批次只能由本作坊的经营者或员工填写。"), slug="operators_only")
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
