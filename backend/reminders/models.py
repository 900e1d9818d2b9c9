"""The reminder log: every reminder sent (or tried), so nobody is reminded twice."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.models import Base
from backend.core.types import enum_type


class ReminderKind(enum.StrEnum):
    """What a reminder is about."""

    LEDGERS_INCOMPLETE = "ledgers_incomplete"  # today's ledgers are not all filled in
    HEALTH_CERT_EXPIRING = "health_cert_expiring"  # a health certificate expires within 30 days


class ReminderStatus(enum.StrEnum):
    """How the attempt went."""

    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"  # e.g. the user has not subscribed (WeChat 43101)


class ReminderLog(Base):
    """One reminder to one user about one subject (a day, a certificate)."""

    __tablename__ = "reminder_log"
    __table_args__ = (UniqueConstraint("kind", "user_id", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ReminderKind] = mapped_column(enum_type(ReminderKind))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    workshop_id: Mapped[int | None] = mapped_column(
        ForeignKey("workshops.id", ondelete="RESTRICT"), index=True
    )
    # What the reminder is about, e.g. "2026-11-26" or "health_certificate:17".
    subject: Mapped[str] = mapped_column(String(60))
    status: Mapped[ReminderStatus] = mapped_column(enum_type(ReminderStatus))
    errcode: Mapped[int | None] = mapped_column(Integer)
    sent_at: Mapped[datetime]
