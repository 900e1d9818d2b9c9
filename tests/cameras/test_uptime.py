"""Online rate arithmetic: Asia/Shanghai days, hours past midnight, missing ends, today so far."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from backend.cameras.models import CameraEvent, CameraEventKind
from backend.cameras.uptime import (
    DayUptime,
    day_bounds,
    day_uptime,
    online_intervals,
    scheduled_windows,
    uptime,
)
from backend.core.time import SHANGHAI
from tests.support.video import make_camera

UP, DOWN = CameraEventKind.PUBLISH, CameraEventKind.PUBLISH_DONE
DAY = date(2026, 11, 20)
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in Asia/Shanghai, as the aware UTC time stored."""
    return datetime.combine(day, time(hour, minute), SHANGHAI).astimezone(UTC)


def one_day(intervals, *, live_from=time(6), live_until=time(20), now=None, since=LONG_AGO):
    return day_uptime(
        DAY,
        intervals,
        live_from=live_from,
        live_until=live_until,
        since=since,
        now=now or local(DAY + timedelta(days=3), 0),
    )


def test_days_are_shanghai_days():
    start, end = day_bounds(DAY)
    assert start == datetime(2026, 11, 19, 16, 0, tzinfo=UTC)
    assert end == datetime(2026, 11, 20, 16, 0, tzinfo=UTC)


def test_scheduled_hours_including_a_night_past_midnight():
    assert scheduled_windows(DAY, time(6), time(20)) == [(local(DAY, 6), local(DAY, 20))]
    assert scheduled_windows(DAY, None, None) == [day_bounds(DAY)]
    night = scheduled_windows(DAY, time(22), time(6))
    assert night == [(day_bounds(DAY)[0], local(DAY, 6)), (local(DAY, 22), day_bounds(DAY)[1])]


def test_intervals_from_events():
    events = [
        (local(DAY, 6), UP),
        (local(DAY, 7), UP),  # a repeated "up" changes nothing
        (local(DAY, 12), DOWN),
        (local(DAY, 12, 30), DOWN),  # nor does a repeated "down"
        (local(DAY, 13), CameraEventKind.PROBE_UP),
        (local(DAY, 14), CameraEventKind.PUBLISH_REFUSED),  # refusals count for nothing
        (local(DAY, 18), CameraEventKind.PROBE_DOWN),
    ]
    assert online_intervals(events, local(DAY, 23)) == [
        (local(DAY, 6), local(DAY, 12)),
        (local(DAY, 13), local(DAY, 18)),
    ]


def test_a_full_day_within_hours_is_100_percent_and_half_is_50():
    full = one_day([(local(DAY, 6), local(DAY, 20))])
    assert (full.scheduled_seconds, full.online_scheduled_seconds) == (14 * 3600, 14 * 3600)
    assert full.rate == 1.0 and full.percent == "100.0%"
    half = one_day([(local(DAY, 5), local(DAY, 13))])  # an hour early counts for nothing
    assert half.online_seconds == 8 * 3600
    assert half.online_scheduled_seconds == 7 * 3600
    assert half.rate == 0.5


def test_a_camera_live_across_midnight_counts_on_both_days():
    intervals = online_intervals(
        [(local(DAY, 22), UP), (local(DAY + timedelta(days=1), 2), DOWN)], LONG_AGO
    )
    first = one_day(intervals, live_from=None, live_until=None)
    assert first.online_seconds == 2 * 3600
    second = day_uptime(
        DAY + timedelta(days=1),
        intervals,
        live_from=None,
        live_until=None,
        since=LONG_AGO,
        now=local(DAY + timedelta(days=3), 0),
    )
    assert second.online_seconds == 2 * 3600
    assert round(second.rate, 4) == round(2 / 24, 4)


def test_night_hours_past_midnight():
    # Hours 22:00-06:00; online 23:00-05:00 across the night of DAY -> DAY+1.
    intervals = [(local(DAY, 23), local(DAY + timedelta(days=1), 5))]
    day = one_day(intervals, live_from=time(22), live_until=time(6))
    assert day.scheduled_seconds == 8 * 3600  # 00:00-06:00 and 22:00-24:00
    assert day.online_scheduled_seconds == 3600  # 23:00-24:00


def test_a_missing_publish_done_ends_at_the_last_sign_of_life():
    events = [(local(DAY, 8), UP)]
    # Not live now, last heard of at 09:30: online 08:00-09:30, not the whole night.
    intervals = online_intervals(events, local(DAY, 9, 30))
    day = one_day(intervals)
    assert day.online_seconds == 90 * 60
    # Never heard of after the start: nothing.
    assert one_day(online_intervals(events, local(DAY, 7))).online_seconds == 0


def test_today_counts_only_what_has_passed():
    now = local(DAY, 12)
    day = one_day(online_intervals([(local(DAY, 6), UP)], now), now=now)
    assert day.scheduled_seconds == 6 * 3600 and day.online_scheduled_seconds == 6 * 3600
    assert day.rate == 1.0
    future = day_uptime(
        DAY + timedelta(days=1), [], live_from=time(6), live_until=time(20), since=LONG_AGO, now=now
    )
    assert future.rate is None and future.percent == "—"


def test_a_camera_registered_at_noon_is_judged_from_noon():
    day = one_day([(local(DAY, 12), local(DAY, 20))], since=local(DAY, 12))
    assert day.scheduled_seconds == 8 * 3600 and day.rate == 1.0


def test_rate_never_exceeds_one():
    assert DayUptime(DAY, 10, 5, 10).rate == 1.0


# --- from the database --------------------------------------------------------------------


def add(db, camera, kind, at):
    db.session.add(CameraEvent(camera_id=camera.id, kind=kind, at=at))


def test_uptime_reads_events_and_the_state_before_the_range(db):
    camera = make_camera(live_from=time(6), live_until=time(20), created_at=LONG_AGO)
    before = DAY - timedelta(days=1)
    add(db, camera, UP, local(before, 19))  # live since the evening before
    add(db, camera, DOWN, local(DAY, 10))
    add(db, camera, UP, local(DAY, 11))
    add(db, camera, CameraEventKind.PUBLISH_REFUSED, local(DAY, 12))
    add(db, camera, DOWN, local(DAY, 16))
    add(db, camera, UP, local(DAY + timedelta(days=1), 6))  # still live now
    camera.is_live = True
    other = make_camera(created_at=LONG_AGO)  # no events at all
    db.session.flush()
    now = local(DAY + timedelta(days=1), 9)
    report = uptime([camera, other], [DAY, DAY + timedelta(days=1)], now)
    first, second = report[camera.id]
    assert first.online_seconds == 15 * 3600  # 00:00-10:00 and 11:00-16:00
    assert first.online_scheduled_seconds == 9 * 3600  # 06:00-10:00 and 11:00-16:00
    assert first.rate == 9 / 14
    assert second.online_scheduled_seconds == 3 * 3600 and second.rate == 1.0  # 06-09 so far
    assert [d.rate for d in report[other.id]] == [0.0, 0.0]
    assert uptime([], [DAY], now) == {}


def test_uptime_of_a_camera_that_went_silent(db):
    camera = make_camera(live_from=None, live_until=None, created_at=LONG_AGO)
    add(db, camera, UP, local(DAY, 8))
    camera.is_live = False  # the sweep would have said so; no "done" ever came
    camera.last_seen_at = local(DAY, 9)
    db.session.flush()
    (day,) = uptime([camera], [DAY], local(DAY + timedelta(days=2), 0))[camera.id]
    assert day.online_seconds == 3600
    assert day.scheduled_seconds == 24 * 3600
