"""Who may do what. Services call these; every crossing is refused here.

:func:`require_role` is the one check of a role: each feature passes the roles it admits
and, where its users need to read why, its own message and stable slug.
"""

from __future__ import annotations

from sqlalchemy import select

from backend.accounts.models import MemberRole, Role, User, WorkshopMembership
from backend.core.errors import Forbidden
from backend.core.i18n import gettext as _


def membership(user: User, workshop_id: int) -> WorkshopMembership | None:
    """The user's active membership of the workshop, if any."""
    from backend.extensions import db

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


def require_role(
    user: User | None, *roles: Role, message: str | None = None, slug: str = "forbidden"
) -> User:
    """*user*, when they hold one of *roles*; else Forbidden with *message* and *slug*
    (nobody logged in holds no role)."""
    if user is None or user.role not in roles:
        raise Forbidden(message or _("您没有执行此操作的权限。"), slug=slug)
    return user
