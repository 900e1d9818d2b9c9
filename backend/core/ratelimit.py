"""Fixed-window rate limits: in Redis when REDIS_URL is set, else in a SQLite file shared
by every worker of the host (RATELIMIT_STORE_PATH), else in-process (one process only).

Small on purpose: the scan path checks two limits per request, and a general-purpose
limiter cost more than the rest of a cached scan. Limits are written like
``"60/minute;1000/hour"``.

While Redis does not answer, a limit cannot be counted: the scopes in FAIL_OPEN_SCOPES (the
consumer scan) let the request through, every other scope (console logins, invite codes,
complaints) refuses it with a retryable 503.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app

from backend.core.errors import DomainError, ServiceUnavailable
from backend.core.i18n import gettext as _

log = logging.getLogger(__name__)
FAIL_OPEN_SCOPES = frozenset({"scan", "scan-failures"})
UNAVAILABLE_RETRY_AFTER = 30  # seconds a client is told to wait while limits cannot be counted

clock = time.time  # replaced by tests that need a still clock
PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
LIMIT = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour|day)\s*$")


class RateLimited(DomainError):
    """Too many requests from one client."""

    status_code = 429
    slug = "too_many_requests"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after)}


class StoreUnavailable(Exception):
    """The counters' store (Redis) did not answer."""


class LimitsUnavailable(ServiceUnavailable):
    """A limit that must hold could not be counted: try again shortly."""

    slug = "rate_limit_unavailable"

    def __init__(self, message: str):
        super().__init__(message)
        self.headers = {"Retry-After": str(UNAVAILABLE_RETRY_AFTER)}


@dataclass(frozen=True)
class Window:
    """At most `count` hits per `seconds`."""

    count: int
    seconds: int


def parse_limits(text: str) -> tuple[Window, ...]:
    """``"10/minute;40/hour"`` → two windows; ValueError on anything else."""
    windows = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        match = LIMIT.match(part)
        if not match:
            raise ValueError(f"not a rate limit: {part!r}")
        windows.append(Window(int(match.group(1)), PERIODS[match.group(2)]))
    return tuple(windows)


class LocalStore:
    """Counters in this process (each worker counts on its own)."""

    def __init__(self):
        self._counts: dict[tuple[str, int, int], int] = {}
        self._lock = threading.Lock()
        self._swept = 0.0

    def add(self, key: str, windows: tuple[Window, ...], amount: int, now: float) -> list[int]:
        """Add *amount* to each window's counter and return the counts."""
        out = []
        with self._lock:
            if now - self._swept > 60:
                self._sweep(now)
            for window in windows:
                slot = (key, window.seconds, int(now // window.seconds))
                count = self._counts.get(slot, 0) + amount
                if amount:
                    self._counts[slot] = count
                out.append(count)
        return out

    def _sweep(self, now: float) -> None:
        """Forget finished windows."""
        self._swept = now
        for slot in [s for s in self._counts if s[2] < int(now // s[1])]:
            del self._counts[slot]

    def reset(self) -> None:
        """Forget every counter (tests)."""
        with self._lock:
            self._counts.clear()


class FileStore:
    """Counters in a SQLite file shared by every worker process of this host.

    Without Redis, per-process counters let each of N gunicorn workers admit the whole
    limit (N times the documented value). Here one small table counts for all of them: an
    upsert per window, in one immediate transaction (WAL, so readers never wait), on a
    connection of each process's own (opened after the fork). A file that cannot be
    written is StoreUnavailable, like Redis down.
    """

    SWEEP_EVERY = 60.0

    def __init__(self, path: str):
        self.path = path
        self._local = threading.local()
        self._swept = 0.0

    def _connection(self) -> sqlite3.Connection:
        """This process's (and thread's) connection, created on first use."""
        connection = getattr(self._local, "connection", None)
        if connection is None or self._local.pid != os.getpid():
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(
                "CREATE TABLE IF NOT EXISTS counters "
                "(slot TEXT PRIMARY KEY, count INTEGER NOT NULL, expires REAL NOT NULL)"
            )
            self._local.connection, self._local.pid = connection, os.getpid()
            # writers queue on an flock (handed over at once) rather than SQLite's busy
            # wait, which polls with sleeps of 1, 2, 5, 10 ... ms
            flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
            self._local.lock = os.open(self.path + ".lock", flags, 0o600)
        return connection

    def add(self, key: str, windows: tuple[Window, ...], amount: int, now: float) -> list[int]:
        """Add *amount* to each window's counter and return the counts."""
        slots = [(RedisStore.slot(key, w, now), now + w.seconds + 1) for w in windows]
        try:
            connection = self._connection()
            if not amount:
                counts = []
                for slot, _expires in slots:
                    row = connection.execute(
                        "SELECT count FROM counters WHERE slot = ?", (slot,)
                    ).fetchone()
                    counts.append(row[0] if row else 0)
                return counts
            fcntl.flock(self._local.lock, fcntl.LOCK_EX)
            connection.execute("BEGIN IMMEDIATE")
            try:
                counts = [
                    connection.execute(
                        "INSERT INTO counters (slot, count, expires) VALUES (?, ?, ?) "
                        "ON CONFLICT (slot) DO UPDATE SET count = count + excluded.count "
                        "RETURNING count",
                        (slot, amount, expires),
                    ).fetchone()[0]
                    for slot, expires in slots
                ]
                if now - self._swept > self.SWEEP_EVERY:
                    self._swept = now
                    connection.execute("DELETE FROM counters WHERE expires < ?", (now,))
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            finally:
                fcntl.flock(self._local.lock, fcntl.LOCK_UN)
            return counts
        except sqlite3.Error as exc:
            raise StoreUnavailable(str(exc)) from exc

    def reset(self) -> None:
        """Forget every counter (tests)."""
        self._connection().execute("DELETE FROM counters")


class RedisStore:
    """Counters in Redis, shared by every worker and host."""

    def __init__(self, client):
        self.client = client

    @staticmethod
    def slot(key: str, window: Window, now: float) -> str:
        """The Redis key counting *key* in *window*'s current period."""
        return f"yipin:rl:{key}:{window.seconds}:{int(now // window.seconds)}"

    def add(self, key: str, windows: tuple[Window, ...], amount: int, now: float) -> list[int]:
        """Add *amount* to each window's counter and return the counts (StoreUnavailable
        while Redis does not answer)."""
        from redis import RedisError

        pipe = self.client.pipeline(transaction=False)
        for window in windows:
            slot = self.slot(key, window, now)
            if amount:
                pipe.incrby(slot, amount)
                pipe.expire(slot, window.seconds + 1)
            else:
                pipe.get(slot)
        try:
            replies = pipe.execute()
        except RedisError as exc:
            raise StoreUnavailable(str(exc)) from exc
        counts = replies[::2] if amount else replies
        return [int(c or 0) for c in counts]

    def reset(self) -> None:
        """Forget every counter (tests)."""
        for key in self.client.scan_iter("yipin:rl:*"):
            self.client.delete(key)


def init_rate_limits(app: Flask) -> None:
    """Choose the counter store for *app*."""
    client = app.extensions.get("redis")
    path = app.config.get("RATELIMIT_STORE_PATH")
    if client:
        app.extensions["rate_limits"] = RedisStore(client)
    elif path:
        app.extensions["rate_limits"] = FileStore(path)
    else:
        app.extensions["rate_limits"] = LocalStore()


def _retry_after(windows: tuple[Window, ...], counts: list[int], now: float) -> int:
    exceeded = [w for w, c in zip(windows, counts, strict=True) if c > w.count]
    return max(int(w.seconds - now % w.seconds) + 1 for w in exceeded)


def _add(scope: str, client: str, windows, amount: int, now: float) -> list[int] | None:
    """The counts after adding *amount*; None when they cannot be had and *scope* fails open,
    LimitsUnavailable when it fails closed."""
    try:
        return current_app.extensions["rate_limits"].add(f"{scope}:{client}", windows, amount, now)
    except StoreUnavailable as exc:
        if scope in FAIL_OPEN_SCOPES:
            log.warning("rate limit %s not counted (store down, failing open): %s", scope, exc)
            return None
        log.error("rate limit %s not counted (store unavailable, refusing): %s", scope, exc)
        raise LimitsUnavailable(_("服务繁忙，请稍后再试。")) from None


def count(scope: str, client: str, limits: str) -> None:
    """Count one request of *client* in *scope* without refusing it (e.g. a failed look-up)."""
    if current_app.config["RATELIMIT_ENABLED"]:
        _add(scope, client, parse_limits_cached(limits), 1, clock())


def hit(scope: str, client: str, limits: str, message: str) -> None:
    """Count one request of *client* in *scope*; RateLimited past any window's limit."""
    if not current_app.config["RATELIMIT_ENABLED"]:
        return
    windows, now = parse_limits_cached(limits), clock()
    counts = _add(scope, client, windows, 1, now)
    if counts is not None and any(c > w.count for w, c in zip(windows, counts, strict=True)):
        raise RateLimited(message, _retry_after(windows, counts, now))


def check(scope: str, client: str, limits: str, message: str) -> None:
    """RateLimited when *client* is already past a limit in *scope* (counts nothing)."""
    if not current_app.config["RATELIMIT_ENABLED"]:
        return
    windows, now = parse_limits_cached(limits), clock()
    counts = _add(scope, client, windows, 0, now)
    if counts is not None and any(c >= w.count for w, c in zip(windows, counts, strict=True)):
        raise RateLimited(message, _retry_after(windows, [c + 1 for c in counts], now))


@dataclass
class Deferred:
    """A guarded request's two limits, not counted yet.

    The consumer scan checks the failure limit (refusing a client already past it) and
    counts the request against the scan limit. On Redis the scan folds both into its one
    round trip (backend/scan/on_redis.py) and marks them *applied*; any other path calls
    :meth:`apply` before it looks anything up.
    """

    client: str
    limits: str
    failure_scope: str
    failure_limits: str
    scope: str
    message: str  # untranslated (marked with N_): translated only for a refusal
    applied: bool = False

    def apply(self) -> None:
        """Check the failure limit and count this request (once)."""
        if not self.applied:
            self.applied = True
            message = _(self.message)
            check(self.failure_scope, self.client, self.failure_limits, message)
            hit(self.scope, self.client, self.limits, message)

    def refuse(self, windows: tuple[Window, ...], counts: list[int], now: float) -> RateLimited:
        """The refusal for *counts* past *windows* (counted elsewhere, e.g. in a script)."""
        return RateLimited(_(self.message), _retry_after(windows, counts, now))


_parsed: dict[str, tuple[Window, ...]] = {}


def parse_limits_cached(text: str) -> tuple[Window, ...]:
    """parse_limits, remembered per text."""
    windows = _parsed.get(text)
    if windows is None:
        windows = _parsed[text] = parse_limits(text)
    return windows
