"""Logging in and out: WeChat ``code2session`` (or the development login), bearer tokens,
phone binding, and a regulator's revocation of someone's tokens.

A person who logs in with WeChat is found by openid (or, failing that, by unionid) and is
created as an operator the first time. The WeChat ``session_key`` is kept on the user row
and never leaves the server. Every function flushes and never commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend.accounts import tokens
from backend.accounts.models import MemberRole, Role, User, WorkshopMembership
from backend.accounts.permissions import require_role
from backend.audit.log import record
from backend.core.errors import Forbidden, NotFound
from backend.core.i18n import gettext as _
from backend.core.time import utcnow
from backend.extensions import db
from backend.integrations import wechat


@dataclass
class WorkshopLink:
    """A workshop the user works in, and as what."""

    id: int
    name: str
    registration_no: str
    role: MemberRole


@dataclass
class Profile:
    """What a user may know about their own account (never the session key or phone)."""

    id: int
    role: Role
    display_name: str
    phone_bound: bool
    workshops: list[WorkshopLink] = field(default_factory=list)


@dataclass
class Login:
    """A fresh bearer token (its only plaintext copy) and who it belongs to."""

    token: str
    expires_at: datetime
    user: Profile


def profile(user: User) -> Profile:
    """The user's own view of their account, with their active workshop memberships."""
    from backend.registry.models import Workshop

    rows = db.session.execute(
        select(Workshop.id, Workshop.name, Workshop.registration_no, WorkshopMembership.role)
        .join(WorkshopMembership, WorkshopMembership.workshop_id == Workshop.id)
        .where(WorkshopMembership.user_id == user.id, WorkshopMembership.active.is_(True))
        .order_by(WorkshopMembership.id)
    ).all()
    return Profile(
        id=user.id,
        role=user.role,
        display_name=user.display_name,
        phone_bound=bool(user.phone),
        workshops=[WorkshopLink(*row) for row in rows],
    )


def _by(column, value: str) -> User | None:
    """The user whose *column* equals *value*."""
    return db.session.scalar(select(User).where(column == value))


def _find_or_create(openid: str, unionid: str | None, via: str) -> User:
    """The user with this openid (or unionid), created as an operator if there is none."""
    user = _by(User.openid, openid)
    if user is None and unionid:
        user = _by(User.unionid, unionid)
        if user is not None:
            user.openid = openid  # the same person, seen through this mini-program
    if user is None:
        user = User(role=Role.OPERATOR, openid=openid, unionid=unionid or None)
        try:
            with db.session.begin_nested():
                db.session.add(user)
        except IntegrityError:
            # A simultaneous first login of the same person created the row first.
            user = _by(User.openid, openid)
            if user is None:
                raise
        else:
            record("user.created", "user", user.id, actor=user, via=via)
    elif unionid and user.unionid is None and _by(User.unionid, unionid) is None:
        user.unionid = unionid
    if not user.active:
        raise Forbidden(_("账号已停用，请联系监管部门。"), slug="user_inactive")
    return user


def _start(user: User) -> Login:
    """Issue a token for *user* and note the login."""
    user.last_login_at = utcnow()
    secret = tokens.issue_token(user)
    return Login(token=secret, expires_at=tokens.token_expiry(secret), user=profile(user))


def wechat_login(code: str) -> Login:
    """Exchange a ``wx.login`` code for a bearer token (WeChatError when WeChat refuses)."""
    session = wechat.code_to_session(code)
    user = _find_or_create(session["openid"], session.get("unionid"), via="wechat")
    user.wechat_session_key = session.get("session_key")
    return _start(user)


def dev_login(openid: str) -> Login:
    """Log in as the user with *openid* without WeChat (development only; see the API)."""
    return _start(_find_or_create(openid, None, via="dev-login"))


def logout(secret: str) -> None:
    """Revoke the token the caller used."""
    tokens.revoke_token(secret)


def bind_phone(user: User, code: str) -> Profile:
    """Store the phone number WeChat gives for the ``getPhoneNumber`` *code*."""
    user.phone = wechat.phone_number(code)
    db.session.flush()
    record("user.phone_bound", "user", user.id, actor=user)
    return profile(user)


def revoke_user_tokens(user_id: int, *, by: User) -> int:
    """A regulator logs someone out everywhere; how many tokens were revoked."""
    require_role(
        by, Role.REGULATOR, message=_("只有监管人员可以注销他人的登录。"), slug="regulator_only"
    )
    target = db.session.get(User, user_id)
    if target is None:
        raise NotFound(_("用户不存在。"), slug="user_not_found")
    revoked = tokens.revoke_all(target)
    record("user.tokens_revoked", "user", target.id, actor=by, revoked=revoked)
    return revoked
