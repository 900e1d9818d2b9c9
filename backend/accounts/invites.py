"""Invite codes: how an operator comes to belong to a workshop.

A regulator issues a one-time code for a workshop and a role (owner or staff) that expires
after 1 to 30 days. The code is 8 characters from an alphabet without look-alikes (no 0/O,
1/I/L), easy to read out and type for older people; only its SHA-256 is stored, so the
plaintext is shown once. An operator who enters it becomes the workshop's owner or staff.

A code is used once only, even when two phones send it at the same moment: the redemption
is a conditional ``UPDATE ... WHERE used_at IS NULL`` and only the request that changed the
row goes on. Wrong guesses are counted per user (``INVITE_FAILURE_LIMIT``).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from backend.accounts.login import WorkshopLink
from backend.accounts.models import InviteCode, MemberRole, Role, User, WorkshopMembership
from backend.accounts.permissions import require_role
from backend.accounts.tokens import hash_secret
from backend.audit.log import record
from backend.core import ratelimit
from backend.core.errors import Conflict, NotFound, ValidationError
from backend.core.i18n import gettext as _
from backend.core.time import utcnow
from backend.extensions import db
from backend.registry.models import Workshop, WorkshopStatus

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0 O 1 I L
LENGTH = 8
MIN_DAYS, MAX_DAYS, DEFAULT_DAYS = 1, 30, 7
# Workshops that can take on people: not cancelled, not turned into an enterprise.
OPEN_STATUSES = (WorkshopStatus.FILED, WorkshopStatus.ACTIVE, WorkshopStatus.SUSPENDED)
_SEPARATORS = re.compile(r"[\s\-_.·]+")


@dataclass
class IssuedInvite:
    """A new invite and its only plaintext copy."""

    invite: InviteCode
    code: str
    workshop: Workshop

    @property
    def display(self) -> str:
        """The code in two groups of four, as people read it out: ``ABCD EFGH``."""
        return f"{self.code[:4]} {self.code[4:]}"

    @property
    def role(self) -> MemberRole:
        """The role the code grants."""
        return self.invite.role

    @property
    def expires_at(self) -> datetime:
        """When the code stops working."""
        return self.invite.expires_at


@dataclass
class Redemption:
    """The membership an invite gave, and the workshop as the operator now sees it."""

    membership: WorkshopMembership
    workshop: WorkshopLink


def normalise(text: str) -> str:
    """Upper-case the code and drop the spaces and dashes people type between groups."""
    return _SEPARATORS.sub("", text or "").upper()


def well_formed(code: str) -> bool:
    """Whether *code* (normalised) could be an invite code at all."""
    return len(code) == LENGTH and all(c in ALPHABET for c in code)


def new_code() -> str:
    """A random code: 8 characters of 31, about 40 bits from the OS's CSPRNG."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def get_workshop(registration_no: str) -> Workshop:
    """The workshop with this registration number, or NotFound."""
    workshop = db.session.scalar(
        select(Workshop).where(Workshop.registration_no == registration_no)
    )
    if workshop is None:
        raise NotFound(_("作坊不存在。"), slug="workshop_not_found")
    return workshop


def create_invite(
    registration_no: str,
    role: MemberRole = MemberRole.STAFF,
    days: int = DEFAULT_DAYS,
    *,
    by: User | None = None,
) -> IssuedInvite:
    """Issue an invite for a workshop (regulators only; *by* None is the command line)."""
    if by is not None:
        require_role(
            by, Role.REGULATOR, message=_("只有监管人员可以发放邀请码。"), slug="regulator_only"
        )
    workshop = get_workshop(registration_no)
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise ValidationError(
            _("有效期须为 %(min)d 至 %(max)d 天。", min=MIN_DAYS, max=MAX_DAYS),
            slug="invite_days_out_of_range",
            errors={"days": [f"between {MIN_DAYS} and {MAX_DAYS}"]},
        )
    if workshop.status not in OPEN_STATUSES:
        raise Conflict(_("该作坊已注销或已升级为企业，不能再发放邀请码。"), slug="workshop_closed")
    for _attempt in range(5):  # a clash of two random codes is rare; never loop forever
        code = new_code()
        invite = InviteCode(
            code_hash=hash_secret(code),
            workshop_id=workshop.id,
            role=MemberRole(role),
            expires_at=utcnow() + timedelta(days=days),
            created_by_id=by.id if by is not None else None,
        )
        try:
            with db.session.begin_nested():
                db.session.add(invite)
        except IntegrityError:
            continue
        record(
            "invite.created",
            "invite_code",
            invite.id,
            actor=by,
            workshop_id=workshop.id,
            role=invite.role,
            expires_at=invite.expires_at,
        )
        return IssuedInvite(invite=invite, code=code, workshop=workshop)
    raise RuntimeError("could not find an unused invite code")  # pragma: no cover


def _refuse_unknown(user: User) -> None:
    """Count a wrong code against *user* and say so."""
    ratelimit.count("invite-failures", str(user.id), current_app.config["INVITE_FAILURE_LIMIT"])
    raise NotFound(_("邀请码不存在，请核对后重新输入。"), slug="invite_unknown")


def _refuse_spent(invite: InviteCode) -> None:
    """Say why *invite* cannot be used any more."""
    if invite.used_at is not None:
        raise Conflict(_("该邀请码已被使用。"), slug="invite_used")
    raise Conflict(_("该邀请码已过期，请向监管人员索取新的邀请码。"), slug="invite_expired")


def redeem(text: str, *, by: User) -> Redemption:
    """Bind *by* to the invite's workshop in the invite's role, using the code up."""
    require_role(
        by, Role.OPERATOR, message=_("只有作坊经营者可以使用邀请码。"), slug="operators_only"
    )
    limits = current_app.config["INVITE_FAILURE_LIMIT"]
    ratelimit.check("invite-failures", str(by.id), limits, _("邀请码输错次数过多，请稍后再试。"))
    code = normalise(text)
    if not well_formed(code):
        _refuse_unknown(by)
    invite = db.session.scalar(select(InviteCode).where(InviteCode.code_hash == hash_secret(code)))
    if invite is None:
        _refuse_unknown(by)
    now = utcnow()
    if invite.used_at is not None or invite.expires_at <= now:
        _refuse_spent(invite)
    workshop = db.session.get(Workshop, invite.workshop_id)
    if workshop.status not in OPEN_STATUSES:
        raise Conflict(_("该作坊已注销或已升级为企业。"), slug="workshop_closed")
    membership = db.session.scalar(
        select(WorkshopMembership).where(
            WorkshopMembership.user_id == by.id,
            WorkshopMembership.workshop_id == invite.workshop_id,
        )
    )
    if (
        membership is not None
        and membership.active
        and (membership.role is MemberRole.OWNER or invite.role is MemberRole.STAFF)
    ):
        raise Conflict(_("您已是该作坊的成员。"), slug="already_member")
    # The one step that decides who gets the code: only one UPDATE can change the row.
    claimed = db.session.execute(
        update(InviteCode)
        .where(
            InviteCode.id == invite.id,
            InviteCode.used_at.is_(None),
            InviteCode.expires_at > now,
        )
        .values(used_at=now, used_by_id=by.id)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        db.session.refresh(invite)
        _refuse_spent(invite)
    db.session.refresh(invite)
    previous = membership.role if membership is not None and membership.active else None
    if membership is None:
        membership = WorkshopMembership(
            user_id=by.id, workshop_id=invite.workshop_id, role=invite.role, active=True
        )
        db.session.add(membership)
    else:  # a former member coming back, or staff made owner
        membership.role, membership.active = invite.role, True
    db.session.flush()
    record(
        "invite.redeemed",
        "invite_code",
        invite.id,
        actor=by,
        workshop_id=invite.workshop_id,
        role=invite.role,
        previous_role=previous,
    )
    link = WorkshopLink(workshop.id, workshop.name, workshop.registration_no, membership.role)
    return Redemption(membership=membership, workshop=link)
