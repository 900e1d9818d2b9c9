"""Time: stored in UTC, shown in Asia/Shanghai."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


def local_today() -> date:
    """Return today's date in Asia/Shanghai, the date people in the district live by."""
    return datetime.now(SHANGHAI).date()


def to_local(value: datetime) -> datetime:
    """Convert an aware datetime to Asia/Shanghai."""
    return value.astimezone(SHANGHAI)
