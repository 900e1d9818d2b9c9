"""Recording scans: off the request path on Redis, in the request without it.

Every scan is counted at once (so the consumer sees "scan number n"). Two backends:

- the database (the embedded default, no Redis): each scan's number is taken atomically
  from its code's counter row (one UPDATE ... RETURNING, which also reads the batch view's
  generations) and its event written in the same transaction, so several gunicorn workers
  number one code's scans in one sequence that never goes back or repeats. Correctness over
  speed: a write and a commit per scan;
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
import fcntl
import json
import logging
import os
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from celery import shared_task
from flask import Flask, current_app
from sqlalchemy import bindparam, case, func, insert, select, update

from backend.codes.models import ScanChannel, ScanEvent, UnitCode
from backend.extensions import db

log = logging.getLogger(__name__)
FLUSH_BATCH = 20_000
STATE_ENTRIES = 50_000
STATE_TTL = 7 * 24 * 3600


HISTORY = 500  # newest events of a code read for its signals on the database path
MAX_NETWORKS = 64  # distinct networks remembered per code (far above any threshold)
MAX_VISITORS = 256  # visitors remembered per code for recognising their repeat scans


@dataclass
class ScanState:
    """What is known of one code's scans, this scan included.

    *provinces* maps each province the code was scanned from to its latest scan there;
    *visitor_before* says this scan's visitor scanned the code before (within
    SCAN_VISITOR_WINDOW); *networks* counts the distinct client networks that scanned it.
    """

    count: int
    first_at: datetime | None
    provinces: dict[str, datetime] = field(default_factory=dict)
    visitor_before: bool = False
    networks: int = 0
    distant: tuple[str, str] | None = None  # once scanned far apart within hours: kept


@dataclass
class History:
    """A code's earlier scans as the database has them (for a fresh Redis state, or the
    database path's signals)."""

    count: int
    first_at: datetime | None
    provinces: dict[str, datetime]
    visitors: dict[str, datetime]
    networks: set[str]
    distant: tuple[str, str] | None = None


def province_of(region: str | None) -> str | None:
    """The province-level part of a coarse region ("福建省漳州市" → "福建省")."""
    if not region:
        return None
    for marker in ("自治区", "特别行政区", "省", "市"):
        index = region.find(marker)
        if index != -1:
            return region[: index + len(marker)]
    return region


@lru_cache(maxsize=1)
def _history_statement():
    """The newest HISTORY events of a code (built once: building costs more than running)."""
    events = ScanEvent.__table__
    return (
        select(events.c.visitor_hash, events.c.network_hash, events.c.region, events.c.scanned_at)
        .where(events.c.code_id == bindparam("code_id"))
        .order_by(events.c.scanned_at.desc())
        .limit(HISTORY)
    )


def _history_rows(code_id: int):
    """The newest HISTORY events of a code."""
    return db.session.connection().execute(_history_statement(), {"code_id": code_id}).all()


def distant_in(scans: list[tuple[datetime, str]]) -> tuple[str, str] | None:
    """Two provinces at least SCAN_DISTANT_KM apart that *scans* ((time, province)) reached
    within SCAN_DISTANT_HOURS of each other, or None."""
    from backend.scan.regions import farthest_within

    config = current_app.config
    window = timedelta(hours=config["SCAN_DISTANT_HOURS"])
    return farthest_within(scans, window, config["SCAN_DISTANT_KM"])


def _province_scans(rows) -> list[tuple[datetime, str]]:
    """(time, province) of the *rows* that have a province."""
    found = []
    for row in rows:
        province = province_of(row.region)
        if province:
            found.append((_utc(row.scanned_at), province))
    return found


def history_of(rows, since: datetime) -> tuple[dict, dict, set]:
    """(provinces → latest time, visitors seen after *since* → latest time, networks) of
    *rows* (newest first)."""
    provinces: dict[str, datetime] = {}
    visitors: dict[str, datetime] = {}
    networks: set[str] = set()
    for row in rows:
        at = _utc(row.scanned_at)
        province = province_of(row.region)
        if province and province not in provinces:
            provinces[province] = at
        if row.visitor_hash and at >= since and row.visitor_hash not in visitors:
            if len(visitors) < MAX_VISITORS:
                visitors[row.visitor_hash] = at
        if row.network_hash and len(networks) < MAX_NETWORKS:
            networks.add(row.network_hash)
    return provinces, visitors, networks


def base_state(code_id: int, since: datetime | None = None) -> History:
    """A code's flushed counters and recent history, from the database."""
    row = db.session.execute(
        select(UnitCode.scan_count, UnitCode.first_scanned_at).where(UnitCode.id == code_id)
    ).one()
    since = since or datetime.min.replace(tzinfo=UTC)
    rows = _history_rows(code_id)
    provinces, visitors, networks = history_of(rows, since)
    distant = distant_in(_province_scans(rows))
    return History(row.scan_count, row.first_scanned_at, provinces, visitors, networks, distant)


def state_fields(history: History) -> dict[str, str | int | float]:
    """A code's Redis hash fields for its *history* (count, first scan, provinces and
    visitors with their latest scans as Unix times, networks)."""
    fields: dict[str, str | int | float] = {"count": history.count}
    if history.first_at:
        fields["first"] = _utc(history.first_at).isoformat()
    if history.provinces:
        fields["pl"] = provinces_text(history.provinces)
    if history.distant:
        fields["dr"] = "\t".join(history.distant)
    for visitor, at in history.visitors.items():
        fields[f"v:{visitor}"] = _utc(at).timestamp()
    fields["nv"] = len(history.visitors)
    for network in history.networks:
        fields[f"n:{network}"] = 1
    fields["nn"] = len(history.networks)
    return fields


def distant_of(text: bytes | str | None) -> tuple[str, str] | None:
    """The kept far-apart pair of a Redis state ("A<TAB>B"), or None."""
    if isinstance(text, bytes):
        text = text.decode()
    if not text or "\t" not in text:
        return None
    first, second = text.split("\t", 1)
    return first, second


def keep_distant(client, key: str, state: ScanState) -> None:
    """On Redis: when this scan's provinces (each at its latest scan) show a far-apart pair
    for the first time, keep it in the code's state, so the evidence outlives later scans.
    One more round trip, once per code."""
    if state.distant is not None:
        return
    state.distant = distant_in([(at, name) for name, at in state.provinces.items()])
    if state.distant is not None:
        client.hset(key, "dr", "\t".join(state.distant))


def provinces_text(provinces: dict[str, datetime]) -> str:
    """Provinces and their latest scans as Redis keeps them: "name<TAB>unix time" lines."""
    return "\n".join(f"{name}\t{_utc(at).timestamp()}" for name, at in provinces.items())


def provinces_from(text: bytes | str | None) -> dict[str, datetime]:
    """:func:`provinces_text` read back."""
    if isinstance(text, bytes):
        text = text.decode()
    found = {}
    for line in filter(None, (text or "").split("\n")):
        name, _, at = line.partition("\t")
        found[name] = datetime.fromtimestamp(float(at), UTC)
    return found


def state_after(history: History, event: dict, count: int, first_at, since: datetime) -> ScanState:
    """The state of a code after *event*, from its earlier *history*."""
    provinces = dict(history.provinces)
    province = province_of(event.get("region"))
    if province:
        provinces[province] = event["scanned_at"]
    visitor = event.get("visitor_hash")
    seen = history.visitors.get(visitor) if visitor else None
    networks = set(history.networks)
    if event.get("network_hash"):
        networks.add(event["network_hash"])
    return ScanState(
        count,
        first_at or event["scanned_at"],
        provinces,
        visitor_before=seen is not None and seen >= since,
        networks=len(networks),
        distant=history.distant,
    )


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


LocalRecorder = DatabaseRecorder  # the embedded default's name before issue 15


@dataclass(frozen=True)
class CountedCode:
    """A code as the database path's one statement returns it, with the generations of its
    batch's view (0 while never raised)."""

    id: int
    batch_id: int
    kind: str
    serial: int
    count: int
    first_at: datetime | None
    generations: tuple[int, int]


class WriterLock:
    """On a SQLite file, the scan writers of every worker queue on an flock of a file beside
    the database before they take SQLite's write lock: SQLite's own busy wait polls (sleeps
    of 1, 2, 5, 10 ... ms), which under a stream of scans costs more than the writes; the
    kernel hands an flock over at once. Nothing on PostgreSQL (its row lock queues)."""

    def __init__(self):
        self._handles: dict[tuple[int, str], int] = {}

    def _handle(self, path: str) -> int:
        """This process's descriptor of the lock file (a raw descriptor: kept for life)."""
        key = (os.getpid(), path)
        handle = self._handles.get(key)
        if handle is None:
            flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
            handle = self._handles[key] = os.open(path + ".scan-lock", flags, 0o600)
        return handle

    @contextmanager
    def held(self):
        """Hold the lock while the block runs (a no-op off SQLite files)."""
        url = db.engine.url
        if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
            yield
            return
        handle = self._handle(url.database)
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


writer_lock = WriterLock()


@lru_cache(maxsize=1)
def _count_statement():
    """The database path's one statement (built once: building costs more than running)."""
    from backend.codes.models import CodeStatus, ScanGeneration

    table = UnitCode.__table__
    generations = ScanGeneration.__table__

    def generation(batch_id):
        return func.coalesce(
            select(generations.c.value).where(generations.c.batch_id == batch_id).scalar_subquery(),
            0,
        )

    now = bindparam("now", type_=table.c.first_scanned_at.type)
    return (
        update(table)
        .where(table.c.code == bindparam("code_text"), table.c.status == CodeStatus.ACTIVE)
        .values(
            scan_count=table.c.scan_count + 1,
            first_scanned_at=func.coalesce(table.c.first_scanned_at, now),
            last_scanned_at=now,
        )
        .returning(
            table.c.id,
            table.c.batch_id,
            table.c.kind,
            table.c.serial,
            table.c.scan_count,
            table.c.first_scanned_at,
            generation(table.c.batch_id).label("batch_generation"),
            generation(0).label("all_generation"),
        )
    )


def count_in_database(code: str, now: datetime) -> CountedCode | None:
    """Count one scan of the active code *code* in its counter and return it, in one
    statement that also reads its batch's view generations; None when no active code has
    that text. The row stays locked (PostgreSQL) or the database write-locked (SQLite) until
    the caller commits, so concurrent scans of one code are numbered one after another."""
    connection = db.session.connection()
    row = connection.execute(_count_statement(), {"code_text": code, "now": now}).first()
    if row is None:
        return None
    return CountedCode(
        row.id,
        row.batch_id,
        str(row.kind),
        row.serial,
        row.scan_count,
        _utc(row.first_scanned_at) if row.first_scanned_at else None,
        (int(row.batch_generation), int(row.all_generation)),
    )


@lru_cache(maxsize=1)
def _insert_statement():
    """One scan event's INSERT (built once)."""
    return insert(ScanEvent.__table__)


def record_in_database(counted: CountedCode, event: dict, since: datetime) -> ScanState:
    """Write the scan event of a code counted by :func:`count_in_database` (flushes, no
    commit) and return the code's state after it, read from its newest events."""
    rows = _history_rows(counted.id)
    provinces, visitors, networks = history_of(rows, since)
    scans = _province_scans(rows)
    province = province_of(event.get("region"))
    if province:
        scans.append((event["scanned_at"], province))
    distant = distant_in(scans)
    history = History(counted.count - 1, counted.first_at, provinces, visitors, networks, distant)
    row = {**event, "channel": ScanChannel(event["channel"])}
    db.session.connection().execute(_insert_statement(), row)
    first = counted.first_at if counted.count > 1 else event["scanned_at"]
    return state_after(history, event, counted.count, first, since)


# Move up to ARGV[1] events from the queue (KEYS[1]) to a claim list (KEYS[2]) registered in
# the claims' sorted set (KEYS[3]) with the claim's time (ARGV[2]), in one atomic step.
CLAIM_SCRIPT = """
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #items == 0 then return 0 end
redis.call('LTRIM', KEYS[1], #items, -1)
for i = 1, #items, 500 do
    redis.call('RPUSH', KEYS[2], unpack(items, i, math.min(i + 499, #items)))
end
redis.call('ZADD', KEYS[3], ARGV[2], KEYS[2])
return #items
"""

# Put a claim list (KEYS[2]) back at the head of the queue (KEYS[1]), in its order, and
# forget it (KEYS[3]); atomic, so a batch is never both queued and claimed.
RELEASE_SCRIPT = """
local items = redis.call('LRANGE', KEYS[2], 0, -1)
for i = #items, 1, -1 do
    redis.call('LPUSH', KEYS[1], items[i])
end
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[3], KEYS[2])
return #items
"""


class RedisRecorder:
    """Counts and queues scans in Redis, shared by every worker."""

    QUEUE = "yipin:scan:queue"
    CLAIMS = "yipin:scan:claims"

    def __init__(self, client):
        self.client = client
        self._claim = client.register_script(CLAIM_SCRIPT)
        self._release = client.register_script(RELEASE_SCRIPT)

    def _key(self, code_id: int) -> str:
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
        """Count and queue in Redis (the fields are the fast path's: backend/scan/fastpath.py)."""
        key = self._key(code_id)
        now = event["scanned_at"]
        since = now - timedelta(seconds=current_app.config["SCAN_VISITOR_WINDOW"])
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


def _utc(moment: datetime) -> datetime:
    """*moment* as an aware UTC time (SQLite may hand back naive ones)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


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
    written = {(r.code_id, _utc(r.scanned_at), r.visitor_hash) for r in rows}
    kept = [
        e for e in events if (e["code_id"], _utc(e["scanned_at"]), e["visitor_hash"]) not in written
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


def init_recorder(app: Flask) -> None:
    """Choose the recorder for *app* (Redis when configured)."""
    client = app.extensions.get("redis")
    app.extensions["scan_recorder"] = RedisRecorder(client) if client else DatabaseRecorder()
    app.extensions["scan_flusher"] = None
