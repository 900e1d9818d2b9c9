"""Scans per local day over the last 30 days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, func, select

from backend.codes.models import ScanEvent
from backend.core.time import local_today
from backend.dashboard.days import days_table
from backend.extensions import db

SCAN_DAYS = 30  # scans per day over the last 30 days, today included


@dataclass(frozen=True)
class ScanDay:
    """Scans recorded on one local day."""

    day: date
    scans: int


def scans_per_day(today: date | None = None, days: int = SCAN_DAYS) -> list[ScanDay]:
    """Scans per local day over the last *days* days, today included, oldest first.

    A scan belongs to the Asia/Shanghai day of its ``scanned_at`` (stored in UTC: 23:30 in
    Beijing is 15:30 UTC the same day, 00:30 is 16:30 UTC the day before). Days without
    scans give 0. Scan events the recorder has not flushed yet are not counted. One query:
    the days LEFT JOIN scan_events on the day's UTC bounds, GROUP BY day.
    """
    today = today or local_today()
    table = days_table(today - timedelta(days=days - 1), today, "scan_days")
    rows = db.session.execute(
        select(table.c.day, func.count(ScanEvent.id))
        .select_from(table)
        .outerjoin(
            ScanEvent,
            and_(ScanEvent.scanned_at >= table.c.starts_at, ScanEvent.scanned_at < table.c.ends_at),
        )
        .group_by(table.c.day)
        .order_by(table.c.day)
    ).all()
    return [ScanDay(day=day, scans=count) for day, count in rows]
