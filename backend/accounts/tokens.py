"""Opaque bearer tokens: random, stored only as SHA-256, expiring and revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import bindparam, inspect, select, update
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from backend.accounts.models import ApiToken, User
from backend.core.errors import Unauthorized
from backend.core.i18n import gettext as _
from backend.core.time import utcnow
from backend.extensions import db

TOKEN_TTL = timedelta(days=30)
# Built once (its cache key too), a Core statement (every API request pays it): the
# user's columns, in the order of _USER_ATTRIBUTES, and the token's state; the User is then
# put in the session as loaded (see _loaded_user).
_USERS, _TOKENS = User.__table__, ApiToken.__table__
_USER_MAPPER = inspect(User)
_USER_ATTRIBUTES = tuple((prop.key, prop.columns[0]) for prop in _USER_MAPPER.column_attrs)
_USER_NAMES = tuple(name for name, _ in _USER_ATTRIBUTES)
_USER_ID = _USER_MAPPER.get_property_by_column(_USERS.c.id).key
_USER_ROW_BY_TOKEN = (
    select(
        *(column for _, column in _USER_ATTRIBUTES),
        _TOKENS.c.expires_at.label("token_expires_at"),
        _TOKENS.c.revoked_at.label("token_revoked_at"),
    )
    .join(_TOKENS, _TOKENS.c.user_id == _USERS.c.id)
    .where(_TOKENS.c.token_hash == bindparam("token_hash"))
)


def hash_secret(secret: str) -> str:
    """SHA-256 hex of a token or invite code."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def issue_token(user: User, ttl: timedelta = TOKEN_TTL) -> str:
    """Create a token for *user* and return its only plaintext copy."""
    secret = secrets.token_urlsafe(32)
    db.session.add(
        ApiToken(user_id=user.id, token_hash=hash_secret(secret), expires_at=utcnow() + ttl)
    )
    db.session.flush()
    return secret


def authenticate(secret: str | None) -> User:
    """The active user a bearer token belongs to, or Unauthorized."""
    if not secret:
        raise Unauthorized(_("请先登录。"), slug="token_missing")
    # One statement: the token's state and its user together (every API request pays it).
    session = db.session()
    found = (
        session.connection()
        .execute(_USER_ROW_BY_TOKEN, {"token_hash": hash_secret(secret)})
        .first()
    )
    if found is None or found.token_revoked_at is not None:
        raise Unauthorized(_("登录凭证无效，请重新登录。"), slug="token_invalid")
    user, expires_at = _loaded_user(session, found), found.token_expires_at
    if expires_at <= utcnow():
        raise Unauthorized(_("登录已过期，请重新登录。"), slug="token_expired")
    if not user.active:
        raise Unauthorized(_("账号已停用。"), slug="user_inactive")
    return user


def _loaded_user(session, row) -> User:
    """The User of *row* as the session holds it, as an ORM load would give it.

    A new request's session does not hold the user yet: the instance is built from the
    row's columns (all of them) and joins the session as persistent and clean, without the
    ORM loading machinery. A user the session already holds is that same object, with any
    expired or unloaded column filled in from the row (what a load does too; a relationship
    loads when used).
    """
    values = dict(zip(_USER_NAMES, row, strict=False))  # the token's state left out
    key = _USER_MAPPER.identity_key_from_primary_key((values[_USER_ID],))
    user = session.identity_map.get(key)
    if user is not None:
        for name in inspect(user).unloaded & values.keys():
            set_committed_value(user, name, values[name])
        return user
    user = _USER_MAPPER.class_manager.new_instance()
    user.__dict__.update(values)
    make_transient_to_detached(user)
    session.add(user)
    return user


def token_expiry(secret: str) -> datetime | None:
    """When the token *secret* expires (None for an unknown token)."""
    return db.session.scalar(
        select(ApiToken.expires_at).where(ApiToken.token_hash == hash_secret(secret))
    )


def revoke_token(secret: str) -> bool:
    """Revoke the token *secret* (flushed); False when it was unknown or already revoked."""
    result = db.session.execute(
        update(ApiToken)
        .where(ApiToken.token_hash == hash_secret(secret), ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    return result.rowcount == 1


def revoke_all(user: User) -> int:
    """Revoke every live token of *user* (flushed); how many were revoked."""
    now = utcnow()
    result = db.session.execute(
        update(ApiToken)
        .where(
            ApiToken.user_id == user.id,
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > now,
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    return result.rowcount
