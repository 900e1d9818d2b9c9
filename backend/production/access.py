"""Who may read and write a workshop's ledgers and batches.

- Reading (checklist, ledger history, batches, raw lots): the workshop's operators (owner
  and staff) and regulators — ``require_workshop_member``.
- Writing ledger entries, opening batches, recording additives, moving a batch through
  production: the workshop's own operators only; a regulator reads but never writes a
  workshop's evidence.
- Owner-only: releasing a batch, and correcting an entry someone else recorded (staff may
  correct their own entries).
- Holding, recalling and lifting a hold: regulators, never operators; the rules are
  :mod:`backend.quality.sampling`'s (a hold is lifted only once the lab has answered).
"""

from __future__ import annotations

from flask_babel import gettext as _

from backend.accounts.models import MemberRole, Role, User
from backend.accounts.permissions import membership, require_workshop_member
from backend.core.errors import Forbidden, NotFound
from backend.extensions import db
from backend.registry.models import Workshop


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
