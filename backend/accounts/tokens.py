"""Opaque bearer tokens: random, stored only as SHA-256, expiring and revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update

from backend.accounts.models import ApiToken, User
from backend.core.errors import Unauthorized
from backend.core.i18n import gettext as _
from backend.core.time import utcnow
from backend.extensions import db

TOKEN_TTL = timedelta(days=30)
# Built once (its cache key too): the user of a token, with the token's state (every API
# request pays it).
_USER_BY_TOKEN = (
    select(User, ApiToken.expires_at, ApiToken.revoked_at)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
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
    found = db.session.execute(_USER_BY_TOKEN, {"token_hash": hash_secret(secret)}).first()
    if found is None or found.revoked_at is not None:
        raise Unauthorized(_("登录凭证无效，请重新登录。"), slug="token_invalid")
    user, expires_at = found.User, found.expires_at
    if expires_at <= utcnow():
        raise Unauthorized(_("登录已过期，请重新登录。"), slug="token_expired")
    if not user.active:
        raise Unauthorized(_("账号已停用。"), slug="user_inactive")
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
