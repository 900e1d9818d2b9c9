"""Who may do what. Services call these; every crossing is refused here.

:func:`require_role` is the one check of a role: each feature passes the roles it admits
and, where its users need to read why, its own message and stable slug. The checks of a
workshop's membership follow:

- Reading a workshop (checklist, ledger history, batches, raw lots): its operators (owner
  and staff) and regulators — :func:`require_workshop_member`, :func:`require_reader`.
- Writing ledger entries, opening batches, recording additives, moving a batch through
  production: the workshop's own operators only (:func:`require_operator`); a regulator
  reads but never writes a workshop's evidence.
- Owner-only: releasing a batch, and correcting an entry someone else recorded (staff may
  correct their own entries; :func:`is_owner`).
- Holding, recalling and lifting a hold: regulators, never operators (``require_role``);
  the rules are :mod:`backend.samples.holds`'s (a hold is lifted only once the lab has
  answered).
"""

from __future__ import annotations

from sqlalchemy import select

from backend.accounts.models import MemberRole, Role, User, WorkshopMembership
from backend.core.errors import Forbidden, NotFound
from backend.core.i18n import gettext as _
from backend.extensions import db
from backend.registry.models import Workshop


def require_role(
    user: User | None, *roles: Role, message: str | None = None, slug: str = "forbidden"
) -> User:
    """*user*, when they hold one of *roles*; else Forbidden with *message* and *slug*
    (nobody logged in holds no role)."""
    if user is None or user.role not in roles:
        raise Forbidden(message or _("您没有执行此操作的权限。"), slug=slug)
    return user


def membership(user: User, workshop_id: int) -> WorkshopMembership | None:
    """The user's active membership of the workshop, if any."""
    return db.session.scalar(
        select(WorkshopMembership).where(
            WorkshopMembership.user_id == user.id,
            WorkshopMembership.workshop_id == workshop_id,
            WorkshopMembership.active.is_(True),
        )
    )


def require_workshop_member(user: User, workshop_id: int, *, owner: bool = False) -> None:
    """Allow the workshop's own operators (owners only when *owner*) and regulators."""
    if user.role is Role.REGULATOR:
        return
    member = membership(user, workshop_id) if user.role is Role.OPERATOR else None
    if member is None:
        raise Forbidden("只能操作本作坊的数据。", slug="not_your_workshop")
    if owner and member.role is not MemberRole.OWNER:
        raise Forbidden("此操作仅限作坊负责人。", slug="owner_only")


def require_reader(user: User, workshop_id: int) -> None:
    """The workshop's operators and regulators may read (404 for a workshop that is not)."""
    require_workshop_member(user, workshop_id)
    if db.session.get(Workshop, workshop_id) is None:
        raise NotFound(_("作坊不存在。"), slug="workshop_not_found")


def require_operator_role(user: User) -> None:
    """Ledgers and batches are written by operators only (membership checked after)."""
    require_role(
        user,
        Role.OPERATOR,
        message=_("台账和批次只能由本作坊的经营者或员工填写。"),
        slug="operators_only",
    )


def require_operator(user: User, workshop_id: int, *, owner: bool = False) -> None:
    """Only the workshop's own operators (its owners, when *owner*) may write."""
    require_operator_role(user)
    require_workshop_member(user, workshop_id, owner=owner)


def is_owner(user: User, workshop_id: int) -> bool:
    """Whether *user* is an active owner of the workshop."""
    member = membership(user, workshop_id) if user.role is Role.OPERATOR else None
    return member is not None and member.role is MemberRole.OWNER
