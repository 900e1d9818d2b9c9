"""Account tables: users, workshop membership, API tokens, invite codes, idempotency."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.models import Base, CreatedMixin, TimestampMixin
from backend.core.types import enum_type


class Role(enum.StrEnum):
    """What a user is to the platform; operators are further scoped by membership."""

    OPERATOR = "operator"
    INSPECTOR = "inspector"
    REGULATOR = "regulator"


class MemberRole(enum.StrEnum):
    """An operator's place in a workshop."""

    OWNER = "owner"
    STAFF = "staff"


class User(TimestampMixin, Base):
    """A person who logs in: an operator by WeChat, staff of the bureau by password."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[Role] = mapped_column(enum_type(Role), default=Role.OPERATOR)
    display_name: Mapped[str] = mapped_column(String(50), default="")
    username: Mapped[str | None] = mapped_column(String(50), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    unionid: Mapped[str | None] = mapped_column(String(64), unique=True)
    # WeChat session key: kept on the server, never sent to any client.
    wechat_session_key: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(30))
    organisation: Mapped[str] = mapped_column(String(100), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[datetime | None]

    memberships: Mapped[list[WorkshopMembership]] = relationship(
        back_populates="user", order_by="WorkshopMembership.id"
    )

    # Flask-Login's user protocol, for the console (see backend/accounts/users.py).
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        """Whether the account may be used (Flask-Login)."""
        return self.active

    def get_id(self) -> str:
        """The console session's id: user id and password fingerprint (Flask-Login)."""
        from backend.accounts.users import session_id

        return session_id(self)


class WorkshopMembership(CreatedMixin, Base):
    """An operator bound to a workshop as owner or staff."""

    __tablename__ = "workshop_memberships"
    __table_args__ = (UniqueConstraint("user_id", "workshop_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshops.id", ondelete="RESTRICT"), index=True
    )
    role: Mapped[MemberRole] = mapped_column(enum_type(MemberRole))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    user: Mapped[User] = relationship(back_populates="memberships")


class ApiToken(CreatedMixin, Base):
    """An opaque bearer token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class InviteCode(CreatedMixin, Base):
    """A one-time, expiring code that binds an operator to a workshop."""

    __tablename__ = "invite_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshops.id", ondelete="RESTRICT"), index=True
    )
    role: Mapped[MemberRole] = mapped_column(enum_type(MemberRole))
    expires_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    used_at: Mapped[datetime | None]
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))


class IdempotencyRecord(CreatedMixin, Base):
    """The first answer to a write carrying an Idempotency-Key, replayed on retries."""

    __tablename__ = "idempotency_records"
    __table_args__ = (
        UniqueConstraint("user_id", "key"),
        Index("ix_idempotency_records_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[dict] = mapped_column(JSON)
