"""The scan path on the database only (the embedded default, and the Redis path's fallback).

Built to be right with several workers: each scan's number is taken atomically from its
code's counter row (one UPDATE ... RETURNING, which also reads the batch view's generations)
and its event written in the same transaction, so several gunicorn workers number one
code's scans in one sequence that never goes back or repeats. Each worker's copy of the
view is checked against the generations read in that statement, which every change the
view shows raises in its own transaction (backend/scan/freshness.py): a copy built under
older ones is rebuilt, so a hold or recall shows on the very next scan in every worker.

**This path commits.** A scan is a write of its own, not part of a change a view makes: the
counter row stays locked (PostgreSQL) or the database write-locked (SQLite) until the
commit, so the commit happens here, inside the writer lock, before the answer is built;
committing later, at the edge, would hold every other scan of the code (and, on SQLite,
every writer) for the rest of the request. Correctness over speed: a write and a commit
per scan.
"""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from flask import current_app
from sqlalchemy import bindparam, func, insert, literal_column, select, update

from backend.codes.models import CodeStatus, ScanChannel, ScanEvent, ScanGeneration, UnitCode
from backend.codes.services import parse_code
from backend.core.cache import cache, get_or_set
from backend.core.errors import NotFound
from backend.core.i18n import gettext as _
from backend.core.time import utcnow
from backend.extensions import db
from backend.observability.metrics import count_scan
from backend.registry.standing import until_midnight
from backend.scan import story
from backend.scan.alerts import VoidedCode, alerts, scan_section
from backend.scan.caching import batch_key, entries
from backend.scan.history import (
    History,
    ScanState,
    distant_in,
    history_of,
    history_rows,
    province_of,
    province_scans,
    state_after,
    utc,
    visitor_since,
)
from backend.scan.links import check_link
from backend.scan.path import CodeInfo, ScanPath, ScanRequest, ScanResult, ViewEntry
from backend.scan.visitors import scan_event


class DirectPath(ScanPath):
    """The scan on the database only."""

    def scan(self, request: ScanRequest) -> ScanResult:
        """Count and record the scan in the database, committed here (see the module)."""
        code_text = parse_code(request.code, strict=True)
        if not request.record:
            return self.peek(code_text, request)
        return self.record(code_text, None, request)

    def record(self, code_text: str, event: dict | None, request: ScanRequest) -> ScanResult:
        """The scan of *code_text* as *event* (the Redis path hands over the event it had
        made, so a scan that Redis queued before it failed is recognised by the flusher;
        made here, once the code is counted, otherwise)."""
        if request.limits is not None:
            request.limits.apply()
        result = self._scan_in_database(code_text, event, request)
        count_scan(str(request.channel))
        return result

    def _scan_in_database(
        self, code_text: str, event: dict | None, request: ScanRequest
    ) -> ScanResult:
        """Number the scan from the code's counter row and write it, in one transaction
        committed inside the writer lock; the view checked against the generations read in
        the same statement. The event (who and where, hashed) is made after the count, so
        an unknown code costs no hashing and the path reaches the database first."""
        link = request.link
        now = event["scanned_at"] if event is not None else utcnow()
        with writer_lock.held():
            try:
                counted = count_in_database(code_text, now)
                if counted is None:
                    refuse_missing(code_text)
                if event is None:
                    event = scan_event(request.channel, request.visitor, request.address, now)
                entry = checked_view(counted.batch_id, counted.generations)
                if link is not None:
                    check_link(entry.view, link)
                event = {"code_id": counted.id, **event}
                state = record_in_database(counted, event, visitor_since(now))
                db.session.commit()  # the edge of the scan's own write (see the module)
            except BaseException:
                db.session.rollback()
                raise
        code = CodeInfo(counted.id, code_text, counted.batch_id, counted.kind, counted.serial)
        return ScanResult(
            code, alerts(entry.view, state, code.kind), scan_section(state, now), entry
        )

    def peek(self, code_text: str, request: ScanRequest) -> ScanResult:
        """Answer a request that is not a scan (HEAD, a link-preview crawler): the code and
        its batch's current view, its counters as they stand; nothing counted or recorded."""
        if request.limits is not None:
            request.limits.apply()
        row = code_from_database(code_text)
        code = CodeInfo(row.id, code_text, row.batch_id, str(row.kind), row.serial)
        view = story.build_view(code.batch_id)
        if request.link is not None:
            check_link(view, request.link)
        state = ScanState(row.scan_count, row.first_scanned_at)
        section = scan_section(state, utcnow(), recorded=False)
        entry = ViewEntry(view, (b"-", b"-"), 0.0, None)
        return ScanResult(code, alerts(view, state, code.kind), section, entry)

    def batch_view(self, batch_id: int) -> dict:
        """The batch's view: this worker's copy checked against the batch's generations in
        the database (so another worker's hold shows at once); with Redis configured, the
        shared copy."""
        if getattr(cache(), "client", None) is not None:
            return shared_view(batch_id).view
        return checked_view(batch_id, read_generations(batch_id)).view


def checked_ttl() -> float:
    """How long a checked copy of a view lives: SCAN_VIEW_CHECKED_TTL, at most half as long
    as the playback links it hands out work, and never past midnight."""
    config = current_app.config
    return until_midnight(min(config["SCAN_VIEW_CHECKED_TTL"], config["PLAYBACK_LINK_TTL"] // 2))


def shared_view(batch_id: int) -> ViewEntry:
    """The batch's view in the shared cache, for SCAN_VIEW_TTL (a miss while Redis does not
    answer: built from the database)."""
    ttl = until_midnight(current_app.config["SCAN_VIEW_TTL"])
    cached = get_or_set(batch_key(batch_id), lambda: {"view": story.build_view(batch_id)}, ttl)
    return ViewEntry(cached["view"], (b"-", b"-"), 0.0, None)


def checked_view(batch_id: int, generations: tuple[int, int]) -> ViewEntry:
    """The batch's view for the database path.

    Without Redis: this worker's copy when it was built under *generations* (read in the
    scan's statement), else built now and kept. With Redis configured but not answering:
    the shared copy.
    """
    if getattr(cache(), "client", None) is not None:
        return shared_view(batch_id)
    tag = tuple(str(g).encode() for g in generations)
    local = entries()
    entry = local.view(batch_id)
    if entry is None or entry.generations != tag:
        entry = ViewEntry(story.build_view(batch_id), tag, time.monotonic() + checked_ttl())
        local.keep_view(batch_id, entry)
    return entry


def read_generations(batch_id: int) -> tuple[int, int]:
    """The batch's view generations in the database (batch, every batch); 0 when never
    raised."""
    rows = db.session.execute(
        select(ScanGeneration.batch_id, ScanGeneration.value).where(
            ScanGeneration.batch_id.in_((batch_id, 0))
        )
    ).all()
    found = {row.batch_id: row.value for row in rows}
    return found.get(batch_id, 0), found.get(0, 0)


def refuse_missing(code: str) -> None:
    """Raise why no active code *code* exists: VoidedCode, or NotFound."""
    status = db.session.scalar(select(UnitCode.status).where(UnitCode.code == code))
    if status is CodeStatus.VOIDED:
        raise VoidedCode()
    raise NotFound(_("此码不是本平台发放的追溯码。"), slug="code_not_found")


def code_from_database(code: str):
    """The active code *code*'s row (id, batch, kind, serial, counters); NotFound
    (VoidedCode) otherwise."""
    columns = (UnitCode.id, UnitCode.batch_id, UnitCode.kind, UnitCode.serial, UnitCode.status)
    row = db.session.execute(
        select(*columns, UnitCode.scan_count, UnitCode.first_scanned_at).where(
            UnitCode.code == code
        )
    ).first()
    if row is None:
        raise NotFound(_("此码不是本平台发放的追溯码。"), slug="code_not_found")
    if row.status is CodeStatus.VOIDED:
        raise VoidedCode()
    return row


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
    table = UnitCode.__table__
    generations = ScanGeneration.__table__

    def generation(batch_id):
        return func.coalesce(
            select(generations.c.value).where(generations.c.batch_id == batch_id).scalar_subquery(),
            0,
        )

    # Named in full: SQLite renders RETURNING's columns unqualified, and an unqualified
    # "batch_id" inside the subquery would be scan_generations' own (every row matching).
    code_batch = literal_column(f"{table.name}.{table.c.batch_id.name}")

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
            generation(code_batch).label("batch_generation"),
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
        utc(row.first_scanned_at) if row.first_scanned_at else None,
        (int(row.batch_generation), int(row.all_generation)),
    )


@lru_cache(maxsize=1)
def _insert_statement():
    """One scan event's INSERT (built once)."""
    return insert(ScanEvent.__table__)


def record_in_database(counted: CountedCode, event: dict, since: datetime) -> ScanState:
    """Write the scan event of a code counted by :func:`count_in_database` (flushes, no
    commit) and return the code's state after it, read from its newest events."""
    rows = history_rows(counted.id)
    provinces, visitors, networks = history_of(rows, since)
    scans = province_scans(rows)
    province = province_of(event.get("region"))
    if province:
        scans.append((event["scanned_at"], province))
    distant = distant_in(scans)
    history = History(counted.count - 1, counted.first_at, provinces, visitors, networks, distant)
    row = {**event, "channel": ScanChannel(event["channel"])}
    db.session.connection().execute(_insert_statement(), row)
    first = counted.first_at if counted.count > 1 else event["scanned_at"]
    return state_after(history, event, counted.count, first, since)
