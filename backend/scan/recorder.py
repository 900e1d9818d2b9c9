"""Recording scans: off the request path on Redis, in the request without it.

Every scan is counted at once (so the consumer sees "scan number n"). Two backends:

- the database (the embedded default, no Redis): each scan is written in its request by
  the direct path (backend/scan/direct.py); nothing is queued;
- Redis (when REDIS_URL is set): counters in a hash per code and the queue in a list, so
  every worker sees the same counts and queued events survive a worker's crash. The Celery
  worker flushes (``codes.flush_scans``, on beat every SCAN_FLUSH_INTERVAL seconds).

A flusher *claims* a batch: Redis moves it atomically from the queue to a list of its own,
registered with the time of the claim, and deletes that list only after the database has
committed. A batch whose flusher died (a killed worker) is put back at the head of the
queue once SCAN_FLUSH_LEASE seconds have passed, so nothing is lost; events already in the
database (a crash between the commit and that delete, or Redis dying after queueing a scan
but before answering) are recognised by code, time and visitor and not written again.

While Redis does not answer, a scan is written straight to the database in the request
(slower, but served and recorded) and numbered from the database's counters.
"""

from __future__ import annotations

import atexit
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

from celery import shared_task
from flask import Flask, current_app
from sqlalchemy import bindparam, case, func, insert, select, update

from backend.codes.models import ScanChannel, ScanEvent, UnitCode
from backend.extensions import db
from backend.scan.history import (
    STATE_TTL,
    ScanState,
    base_state,
    distant_of,
    keep_distant,
    province_of,
    provinces_from,
    provinces_text,
    state_after,
    state_fields,
    utc,
    visitor_since,
)
from backend.scan.scripts import register

log = logging.getLogger(__name__)
FLUSH_BATCH = 20_000


@dataclass
class Claim:
    """Events taken from the queue by one flusher; *token* names them in Redis."""

    token: str | None
    events: list[dict]


class DatabaseRecorder:
    """Without Redis: every scan is written to the database in its request, its number
    taken atomically from the code's counter (:func:`record_in_database`), so every worker
    numbers one code's scans in one sequence. Nothing is queued, so nothing is flushed."""

    def claim(self, limit: int = FLUSH_BATCH) -> Claim | None:
        """Nothing is ever queued."""
        return None

    def release(self, claim: Claim) -> None:
        """Nothing is ever claimed."""

    def done(self, claim: Claim) -> None:
        """Nothing is ever claimed."""

    def recover(self, lease: float) -> int:
        """Nothing is ever left claimed."""
        return 0

    def pending(self) -> int:
        """Nothing waits to be written."""
        return 0

    def reset(self) -> None:
        """Nothing to forget (tests)."""


class RedisRecorder:
    """Counts and queues scans in Redis, shared by every worker."""

    QUEUE = "yipin:scan:queue"
    CLAIMS = "yipin:scan:claims"

    def __init__(self, client):
        self.client = client
        self._claim = register(client, "claim")
        self._release = register(client, "release")

    @staticmethod
    def state_key(code_id: int) -> str:
        """Key of a code's scan state (a hash, see lua/scan.lua)."""
        return f"yipin:scan:code:{code_id}"

    def record(self, code_id: int, event: dict) -> ScanState:
        """Count one scan of *code_id* and queue its event (written at once while Redis
        does not answer)."""
        from redis import RedisError

        try:
            return self._record(code_id, event)
        except RedisError as exc:
            log.warning("scan queue unavailable, writing the scan directly: %s", exc)
            return record_directly(code_id, event)

    def _record(self, code_id: int, event: dict) -> ScanState:
        """Count and queue in Redis (the fields are the scan script's, lua/scan.lua)."""
        key = self.state_key(code_id)
        now = event["scanned_at"]
        since = visitor_since(now)
        if not self.client.exists(key):
            fields = state_fields(base_state(code_id, since))
            pipe = self.client.pipeline()
            for name, value in fields.items():
                pipe.hsetnx(key, name, value)
            pipe.execute()
        province = province_of(event.get("region"))
        visitor, network = event.get("visitor_hash"), event.get("network_hash")
        pipe = self.client.pipeline()
        pipe.hget(key, "first")
        pipe.hget(key, f"v:{visitor}")
        pipe.hget(key, "pl")
        pipe.hget(key, "dr")
        pipe.hincrby(key, "count", 1)
        pipe.hsetnx(key, "first", now.isoformat())
        if visitor:
            pipe.hset(key, f"v:{visitor}", now.timestamp())
        if network:
            pipe.hset(key, f"n:{network}", 1)
        pipe.expire(key, STATE_TTL)
        pipe.rpush(self.QUEUE, json.dumps(_to_json(event), ensure_ascii=False))
        pipe.hkeys(key)
        first_before, seen, listed, recorded, count, *_, keys = pipe.execute()
        provinces = provinces_from(listed)
        if province:
            provinces[province] = now
            self.client.hset(key, "pl", provinces_text(provinces))
        first = datetime.fromisoformat(first_before.decode()) if first_before else None
        networks = sum(1 for k in keys if k.startswith(b"n:"))
        before = seen is not None and float(seen) >= since.timestamp()
        state = ScanState(count, first or now, provinces, before, networks, distant_of(recorded))
        keep_distant(self.client, key, state)
        return state

    def claim(self, limit: int = FLUSH_BATCH) -> Claim | None:
        """Move up to *limit* queued events to a claim of this flusher; None when none."""
        token = f"yipin:scan:claim:{uuid.uuid4().hex}"
        taken = self._claim(keys=[self.QUEUE, token, self.CLAIMS], args=[limit, time.time()])
        if not taken:
            return None
        raw = self.client.lrange(token, 0, -1)
        return Claim(token, [_from_json(item) for item in raw])

    def release(self, claim: Claim) -> None:
        """Put a claim that could not be written back at the head of the queue."""
        self._release(keys=[self.QUEUE, claim.token, self.CLAIMS])

    def done(self, claim: Claim) -> None:
        """Forget a committed claim."""
        pipe = self.client.pipeline()
        pipe.delete(claim.token)
        pipe.zrem(self.CLAIMS, claim.token)
        pipe.execute()

    def recover(self, lease: float) -> int:
        """Requeue claims older than *lease* seconds (their flusher died); how many events."""
        stale = self.client.zrangebyscore(self.CLAIMS, 0, time.time() - lease)
        moved = 0
        for token in stale:
            moved += self._release(keys=[self.QUEUE, token, self.CLAIMS])
        if moved:
            log.warning("requeued %d scan events of %d abandoned claims", moved, len(stale))
        return moved

    def pending(self) -> int:
        """How many events wait to be written (queued or claimed and not yet committed)."""
        claims = self.client.zrange(self.CLAIMS, 0, -1)
        pipe = self.client.pipeline()
        pipe.llen(self.QUEUE)
        for token in claims:
            pipe.llen(token)
        return sum(pipe.execute())

    def reset(self) -> None:
        """Forget counts and queue (tests)."""
        for key in self.client.scan_iter("yipin:scan:*"):
            self.client.delete(key)


def record_directly(code_id: int, event: dict) -> ScanState:
    """Write one scan to the database now and commit (Redis is away); its state after it."""
    base = base_state(code_id)
    with db.session.begin_nested():
        write_events([event])
    db.session.commit()
    return state_after(base, event, base.count + 1, base.first_at, event["scanned_at"])


def _to_json(event: dict) -> dict:
    return {**event, "scanned_at": event["scanned_at"].isoformat()}


def _from_json(raw: bytes) -> dict:
    event = json.loads(raw)
    event["scanned_at"] = datetime.fromisoformat(event["scanned_at"])
    return event


def write_events(events: list[dict]) -> None:
    """Insert *events* and add them to their codes' counters (flushes, no commit)."""
    if not events:
        return
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":  # COPY: a fraction of the cost of INSERTs
        cursor = connection.connection.driver_connection.cursor()
        columns = "code_id, scanned_at, channel, region, visitor_hash, network_hash"
        with cursor.copy(f"COPY scan_events ({columns}) FROM STDIN") as copy:
            for e in events:
                copy.write_row(
                    (
                        e["code_id"],
                        e["scanned_at"],
                        str(e["channel"]),
                        e["region"],
                        e["visitor_hash"],
                        e.get("network_hash"),
                    )
                )
    else:
        rows = [{"network_hash": None, **e, "channel": ScanChannel(e["channel"])} for e in events]
        db.session.execute(insert(ScanEvent), rows)
    per_code: dict[int, list[datetime]] = {}
    for event in events:
        per_code.setdefault(event["code_id"], []).append(event["scanned_at"])
    table = UnitCode.__table__
    first = bindparam("first", type_=table.c.first_scanned_at.type)
    last = bindparam("last", type_=table.c.last_scanned_at.type)
    counters = (
        update(table)
        .where(table.c.id == bindparam("code_id"))
        .values(
            scan_count=table.c.scan_count + bindparam("n"),
            first_scanned_at=func.coalesce(table.c.first_scanned_at, first),
            last_scanned_at=case(
                (table.c.last_scanned_at.is_(None), last),
                (table.c.last_scanned_at < last, last),
                else_=table.c.last_scanned_at,
            ),
        )
    )
    db.session.execute(
        counters,
        [
            {"code_id": code_id, "n": len(times), "first": min(times), "last": max(times)}
            for code_id, times in per_code.items()
        ],
    )


def drop_written(events: list[dict]) -> list[dict]:
    """*events* less those already in the database.

    One case writes an event twice: Redis applies a scan's queueing and then dies before it
    answers, so the request also writes the scan directly. The copy that comes back with the
    queue is the same event (code, time to the microsecond, visitor), found here with one
    range query on the scanned_at index.
    """
    if not events:
        return events
    times = [e["scanned_at"] for e in events]
    rows = db.session.execute(
        select(ScanEvent.code_id, ScanEvent.scanned_at, ScanEvent.visitor_hash).where(
            ScanEvent.scanned_at >= min(times), ScanEvent.scanned_at <= max(times)
        )
    ).all()
    if not rows:
        return events
    written = {(r.code_id, utc(r.scanned_at), r.visitor_hash) for r in rows}
    kept = [
        e for e in events if (e["code_id"], utc(e["scanned_at"]), e["visitor_hash"]) not in written
    ]
    if len(kept) < len(events):
        log.warning(
            "%d scan events were already written; not written again", len(events) - len(kept)
        )
    return kept


def flush(limit: int | None = None) -> int:
    """Write queued events to the database and commit; return how many were written.

    Under load the queue never empties: one flush takes what is queued when it starts (in
    batches of FLUSH_BATCH), not the trickle that follows, which would be written a few
    events a commit.

    A batch that cannot be written goes back to the head of the queue (scans are evidence)
    and the error is raised; the flusher thread logs it and tries again later.
    """
    recorder = current_app.extensions["scan_recorder"]
    recorder.recover(current_app.config["SCAN_FLUSH_LEASE"])
    written = 0
    while limit is None or written < limit:
        claim = recorder.claim(FLUSH_BATCH)
        if claim is None:
            break
        try:
            with db.session.begin_nested():  # a failure undoes this batch only
                write_events(drop_written(claim.events))
            db.session.commit()
        except Exception:
            log.exception("could not write %d scan events; queued again", len(claim.events))
            recorder.release(claim)  # keep them: scans are evidence
            raise
        recorder.done(claim)
        written += len(claim.events)
        if len(claim.events) < FLUSH_BATCH:
            break  # the queue was drained: what came meanwhile waits for the next flush
    return written


FLUSH_TASK = "codes.flush_scans"


@shared_task(name=FLUSH_TASK, ignore_result=True)
def flush_scans() -> int:
    """Celery: write the queued scan events to the database (run on beat)."""
    return flush()


class Flusher(threading.Thread):
    """A daemon thread that flushes the queue every few seconds, and once more at exit."""

    def __init__(self, app: Flask, interval: float):
        super().__init__(name="scan-flusher", daemon=True)
        self.app, self.interval = app, interval
        self.stopped = threading.Event()

    def run(self) -> None:
        """Flush until stopped."""
        while not self.stopped.wait(self.interval):
            self.flush_once()

    def flush_once(self) -> None:
        """One flush inside an app context; errors are logged, never raised."""
        with self.app.app_context():
            try:
                flush()
            except Exception:  # noqa: BLE001 - logged in flush(); try again next time
                pass

    def stop(self) -> None:
        """Stop the loop and write what is left."""
        self.stopped.set()
        self.flush_once()


_flusher_lock = threading.Lock()


def ensure_flusher(app: Flask) -> None:
    """Start this process's flusher on first use (after any fork)."""
    interval = app.config["SCAN_FLUSH_INTERVAL"]
    if interval <= 0 or app.extensions.get("scan_flusher") is not None:
        return
    if isinstance(app.extensions["scan_recorder"], DatabaseRecorder):
        return  # scans are written in their requests
    if isinstance(app.extensions["scan_recorder"], RedisRecorder) and not app.config.get(
        "CELERY_ALWAYS_EAGER"
    ):
        return  # the Celery worker flushes (beat entry "flush-scans")
    with _flusher_lock:
        if app.extensions.get("scan_flusher") is None:
            flusher = Flusher(app, interval)
            app.extensions["scan_flusher"] = flusher
            flusher.start()
            atexit.register(flusher.stop)
