"""Online rate (在线率) per camera per day, from its events.

A camera is online from an *up* event (``publish``, ``probe_up``) to the next *down* event
(``publish_done``, ``probe_down``); a second up while online changes nothing, refusals
count for nothing. An interval the events leave open (the end was never reported) runs to
*now* when the camera is live, else to the last time the streaming server mentioned it
(``last_seen_at``): a missing ``publish_done`` never counts as a whole night online.

Days are Asia/Shanghai calendar days. The **rate** of a day is the online time within the
camera's hours (``live_from``–``live_until``, which may run past midnight; the whole day
without hours) divided by those hours, counting only the part of the day that has passed
and that the camera was registered for. A day without such hours has no rate (None).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, func, select

from backend.cameras.models import Camera, CameraEvent, CameraEventKind
from backend.core.time import SHANGHAI
from backend.extensions import db

UP = frozenset({CameraEventKind.PUBLISH, CameraEventKind.PROBE_UP})
DOWN = frozenset({CameraEventKind.PUBLISH_DONE, CameraEventKind.PROBE_DOWN})
Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class DayUptime:
    """One camera's day: seconds online, seconds it was meant to be live, and the overlap."""

    day: date
    online_seconds: int
    scheduled_seconds: int
    online_scheduled_seconds: int

    @property
    def rate(self) -> float | None:
        """Online share of the scheduled time (0–1), None when nothing was scheduled."""
        if not self.scheduled_seconds:
            return None
        return min(1.0, self.online_scheduled_seconds / self.scheduled_seconds)

    @property
    def percent(self) -> str:
        """The rate as people read it ("97.5%"), or "—"."""
        rate = self.rate
        return "—" if rate is None else f"{rate * 100:.1f}%"


def day_bounds(day: date) -> Interval:
    """The UTC start and end of *day* in Asia/Shanghai."""
    start = datetime.combine(day, time(0), SHANGHAI)
    end = datetime.combine(day + timedelta(days=1), time(0), SHANGHAI)
    return start.astimezone(UTC), end.astimezone(UTC)


def scheduled_windows(day: date, live_from: time | None, live_until: time | None) -> list[Interval]:
    """The UTC intervals of *day* a camera with these hours is meant to be live.

    No hours: the whole day. ``live_from`` after ``live_until`` (22:00–06:00): the night
    runs past midnight, so the day holds its early hours and its late hours.
    """
    start, end = day_bounds(day)
    if live_from is None or live_until is None or live_from == live_until:
        return [(start, end)]

    def at(moment: time) -> datetime:
        return datetime.combine(day, moment, SHANGHAI).astimezone(UTC)

    if live_from < live_until:
        return [(at(live_from), at(live_until))]
    return [(start, at(live_until)), (at(live_from), end)]


def online_intervals(
    events: Iterable[tuple[datetime, CameraEventKind]], open_until: datetime
) -> list[Interval]:
    """Online intervals from time-ordered *events*; one left open ends at *open_until*."""
    intervals: list[Interval] = []
    started: datetime | None = None
    for at, kind in events:
        if kind in UP and started is None:
            started = at
        elif kind in DOWN and started is not None:
            intervals.append((started, at))
            started = None
    if started is not None:
        intervals.append((started, max(started, open_until)))
    return intervals


def overlap(intervals: Sequence[Interval], windows: Sequence[Interval]) -> float:
    """Seconds of *intervals* inside *windows* (each list free of overlaps within itself)."""
    total = 0.0
    for start, end in intervals:
        for w_start, w_end in windows:
            low, high = max(start, w_start), min(end, w_end)
            if high > low:
                total += (high - low).total_seconds()
    return total


def clip(windows: Sequence[Interval], low: datetime, high: datetime) -> list[Interval]:
    """*windows* cut to [low, high]."""
    out = []
    for start, end in windows:
        start, end = max(start, low), min(end, high)
        if end > start:
            out.append((start, end))
    return out


def day_uptime(
    day: date,
    intervals: Sequence[Interval],
    *,
    live_from: time | None,
    live_until: time | None,
    since: datetime,
    now: datetime,
) -> DayUptime:
    """The arithmetic of one day, for a camera registered at *since*, as seen at *now*."""
    day_start, day_end = day_bounds(day)
    whole = clip([(day_start, day_end)], since, now)
    windows = clip(scheduled_windows(day, live_from, live_until), since, now)
    online = clip([(s, e) for s, e in intervals], day_start, min(day_end, now))
    return DayUptime(
        day=day,
        online_seconds=round(overlap(online, whole)),
        scheduled_seconds=round(sum((e - s).total_seconds() for s, e in windows)),
        online_scheduled_seconds=round(overlap(online, windows)),
    )


# --- from the database ---------------------------------------------------------------------


def _events(camera_ids: list[int], start: datetime, end: datetime) -> dict[int, list]:
    """Each camera's up/down events in [start, end), led by the last one before *start*."""
    kinds = list(UP | DOWN)
    last_before = (
        select(CameraEvent.camera_id, func.max(CameraEvent.at).label("at"))
        .where(
            CameraEvent.camera_id.in_(camera_ids),
            CameraEvent.at < start,
            CameraEvent.kind.in_(kinds),
        )
        .group_by(CameraEvent.camera_id)
        .subquery()
    )
    leading = select(CameraEvent.camera_id, CameraEvent.at, CameraEvent.kind, CameraEvent.id).join(
        last_before,
        and_(
            CameraEvent.camera_id == last_before.c.camera_id,
            CameraEvent.at == last_before.c.at,
        ),
    )
    inside = select(CameraEvent.camera_id, CameraEvent.at, CameraEvent.kind, CameraEvent.id).where(
        CameraEvent.camera_id.in_(camera_ids),
        CameraEvent.at >= start,
        CameraEvent.at < end,
        CameraEvent.kind.in_(kinds),
    )
    found: dict[int, list] = defaultdict(list)
    for camera_id, at, kind, _id in db.session.execute(
        leading.union_all(inside).order_by("at", "id")
    ):
        found[camera_id].append((at, CameraEventKind(kind)))
    return found


def _open_until(camera: Camera, now: datetime) -> datetime:
    """Where an interval never closed by an event ends for *camera*."""
    if camera.is_live:
        return now
    return camera.last_seen_at or datetime.min.replace(tzinfo=UTC)


def uptime(cameras: Sequence[Camera], days: Sequence[date], now: datetime) -> dict[int, list]:
    """{camera id: [DayUptime for each of *days*]} for *cameras*, as seen at *now*."""
    if not cameras or not days:
        return {}
    start, end = day_bounds(min(days))[0], day_bounds(max(days))[1]
    events = _events([c.id for c in cameras], start, min(end, now))
    report = {}
    for camera in cameras:
        intervals = online_intervals(events.get(camera.id, []), _open_until(camera, now))
        report[camera.id] = [
            day_uptime(
                day,
                intervals,
                live_from=camera.live_from,
                live_until=camera.live_until,
                since=camera.created_at,
                now=now,
            )
            for day in days
        ]
    return report
