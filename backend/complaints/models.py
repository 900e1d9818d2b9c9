"""The complaint table."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.accounts.models import Role, User
from backend.core.models import Base, TimestampMixin
from backend.core.types import enum_type


class ComplaintChannel(enum.StrEnum):
    """Where the complaint was filed."""

    PORTAL = "portal"
    SCAN_PAGE = "scan_page"
    MINIPROGRAM = "miniprogram"


class ComplaintStatus(enum.StrEnum):
    """new → handling → closed."""

    NEW = "new"
    HANDLING = "handling"
    CLOSED = "closed"


class Complaint(TimestampMixin, Base):
    """A complaint, linked to the code, batch or workshop it is about."""

    __tablename__ = "complaints"
    __table_args__ = (Index("ix_complaints_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    channel: Mapped[ComplaintChannel] = mapped_column(enum_type(ComplaintChannel))
    workshop_id: Mapped[int | None] = mapped_column(
        ForeignKey("workshops.id", ondelete="RESTRICT"), index=True
    )
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("batches.id", ondelete="RESTRICT"), index=True
    )
    code_id: Mapped[int | None] = mapped_column(ForeignKey("unit_codes.id", ondelete="RESTRICT"))
    content: Mapped[str] = mapped_column(Text)
    contact_name: Mapped[str] = mapped_column(String(50), default="")
    contact_phone: Mapped[str] = mapped_column(String(30), default="")
    status: Mapped[ComplaintStatus] = mapped_column(
        enum_type(ComplaintStatus), default=ComplaintStatus.NEW
    )
    # The regulator or inspector who is to handle it, and since when.
    assigned_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), index=True
    )
    assigned_at: Mapped[datetime | None]
    reply: Mapped[str] = mapped_column(Text, default="")
    replied_at: Mapped[datetime | None]
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    closed_at: Mapped[datetime | None]
    # Salted hash of the client address, for throttling; never the address itself.
    client_hash: Mapped[str | None] = mapped_column(String(64))
    moderation: Mapped[str | None] = mapped_column(String(20))

    def may_respond(self, user: User | None) -> bool:
        """Whether *user* may answer the complaint: a regulator, or the inspector it is
        assigned to."""
        if user is None or user.role not in (Role.REGULATOR, Role.INSPECTOR):
            return False
        return user.role is Role.REGULATOR or self.assigned_to_id == user.id

    def shows_phone_to(self, user: User | None) -> bool:
        """Whether *user* sees the contact's full phone number: regulators and the assignee."""
        if user is None:
            return False
        return user.role is Role.REGULATOR or self.assigned_to_id == user.id
