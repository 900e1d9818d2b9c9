"""What the dashboard's figures are made of: a ratio, and local days as SQL.

Days are Asia/Shanghai days: a local day is the UTC interval [day 00:00 +08:00, next day
00:00 +08:00), given to the database as bound values, so the same SQL runs on SQLite and
PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Date, cast, literal, select, union_all

from backend.core.time import SHANGHAI
from backend.core.types import UTCDateTime
from backend.extensions import db


@dataclass(frozen=True)
class Ratio:
    """*part* out of *whole*; ``rate`` is None when there is nothing to divide by."""

    part: int
    whole: int

    @property
    def rate(self) -> float | None:
        """part / whole, or None when whole is 0."""
        return self.part / self.whole if self.whole else None

    @property
    def percent(self) -> float | None:
        """The rate in per cent, to one decimal place (None when whole is 0)."""
        return None if self.rate is None else round(self.rate * 100, 1)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The local *day* as the aware interval [start, end)."""
    start = datetime.combine(day, time.min, tzinfo=SHANGHAI)
    return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=SHANGHAI)


def days_table(first: date, last: date, name: str = "days"):
    """The local days from *first* to *last* as a small table (CTE) of bound values:
    ``day`` (DATE), ``starts_at`` and ``ends_at`` (the day's UTC bounds).

    Built as SELECT … UNION ALL SELECT … so that it reads the same on SQLite and PostgreSQL.
    """
    rows = []
    day = first
    # SQLite keeps dates as text, and CAST(… AS DATE) would make a number of it.
    typed = dialect() != "sqlite"
    while day <= last:
        start, end = day_bounds(day)
        rows.append(
            select(
                (cast(literal(day, Date), Date) if typed else literal(day, Date)).label("day"),
                literal(start, UTCDateTime()).label("starts_at"),
                literal(end, UTCDateTime()).label("ends_at"),
            )
        )
        day += timedelta(days=1)
    if not rows:
        raise ValueError("empty range of days")
    query = rows[0] if len(rows) == 1 else union_all(*rows)
    return query.cte(name)


def dialect() -> str:
    """The name of the database's dialect (sqlite or postgresql)."""
    return db.session.get_bind().dialect.name
