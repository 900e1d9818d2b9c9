"""The scan path on Redis: one round trip per scan, falling back to the direct path.

A scan of a code this worker has seen recently costs one script call (lua/scan.lua): Redis
checks the client's failure limit, compares the generations of what this worker has cached,
counts the client's scan against its limit, counts the code's scan and queues the event —
or answers why it did not. Everything else comes from this process's memory
(backend/scan/caching.py):

- **code identities** (code → id, batch, kind, serial), tagged with the *codes generation*,
  which every voiding raises;
- **batch views** (the consumer view and the rendered scan pages), tagged with the batch's
  generation and the *all-batches generation*, which every change a view shows raises
  (backend/scan/freshness.py), and kept at most SCAN_VIEW_CHECKED_TTL seconds (the view's
  playback links age).

When the script finds a generation moved, it records nothing and answers the current ones;
the worker drops what is stale, reads it again (a view from the shared Redis copy when that
copy carries the same generations, else from the database) and calls once more. Because the
generations are read *before* the database is, a view built from rows that change meanwhile
is stale at once, and a writer raises them at its flush and again after its commit.

A code this worker has not seen costs more: the limits are counted first (lua/admit.lua,
before any look-up, so unknown codes cannot be guessed quickly), then the codes generation
is read and the code looked up in the database. The flusher writes the queued events to the
database (backend/scan/recorder.py). While Redis does not answer, or the worker's copies
keep going stale, the scan takes the direct path (backend/scan/direct.py).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from redis import RedisError

from backend.codes.services import parse_code
from backend.core import ratelimit
from backend.core.cache import cache
from backend.core.time import utcnow
from backend.observability.metrics import count_scan
from backend.scan import story
from backend.scan.alerts import alerts, scan_section
from backend.scan.caching import (
    ALL_GENERATION,
    CODES_GENERATION,
    EPOCH,
    batch_generation,
    batch_key,
    entries,
)
from backend.scan.direct import DirectPath, checked_ttl, code_from_database
from backend.scan.history import (
    MAX_NETWORKS,
    MAX_VISITORS,
    STATE_TTL,
    History,
    ScanState,
    base_state,
    distant_of,
    keep_distant,
    province_of,
    provinces_from,
    state_fields,
    visitor_since,
)
from backend.scan.links import check_link
from backend.scan.path import CodeInfo, ScanPath, ScanRequest, ScanResult, ViewEntry
from backend.scan.recorder import RedisRecorder, ensure_flusher
from backend.scan.scripts import register
from backend.scan.visitors import scan_event

log = logging.getLogger(__name__)
ATTEMPTS = 3
NOT_HELD = (b"-", b"-")  # the generations of a view this worker does not hold


class Stale(Exception):
    """Redis holds other generations than this worker's cache (nothing was recorded)."""

    def __init__(self, codes: bytes, batches: bytes, batch: bytes):
        super().__init__("stale")
        self.codes, self.batches, self.batch = codes, batches, batch


class NeedsBase(Exception):  # noqa: N818 - a signal, not an error
    """Redis knows nothing of the code's earlier scans yet (nothing was recorded)."""


class RedisPath(ScanPath):
    """The scan in one Redis round trip; the direct path while Redis does not answer."""

    def __init__(self, client, *, fallback: DirectPath):
        self.client = client
        self.fallback = fallback
        self.scan_script = register(client, "scan")
        self.admit_script = register(client, "admit")

    def scan(self, request: ScanRequest) -> ScanResult:
        """The scan on Redis, or on the direct path (while Redis does not answer, when the
        worker's copies kept going stale, or for a request that is not a scan)."""
        if not request.record:
            return self.fallback.scan(request)
        code_text = parse_code(request.code, strict=True)
        event = scan_event(request.channel, request.visitor, request.address, utcnow())
        try:
            result = self._scan(code_text, event, request.link, request.limits)
        except RedisError as exc:
            log.warning("scan without Redis (limits fail open, written directly): %s", exc)
            return self.fallback.record(code_text, event, request)
        if result is None:
            return self.fallback.record(code_text, event, request)
        count_scan(str(request.channel))
        return result

    def batch_view(self, batch_id: int) -> dict:
        """The batch's view, from the shared copy (the direct path's reading of it)."""
        return self.fallback.batch_view(batch_id)

    def _scan(
        self,
        code_text: str,
        event: dict,
        link: tuple[str, str] | None,
        limits: ratelimit.Deferred | None,
    ) -> ScanResult | None:
        """Up to ATTEMPTS script calls: the result, or None when this worker's copies kept
        going stale."""
        local = entries()
        base = None
        since = visitor_since(event["scanned_at"])
        for _attempt in range(ATTEMPTS):
            script_limits = ScriptLimits.of(limits, ratelimit.clock())
            held = local.code(code_text)
            if held is None:
                held, base, script_limits = self._admit(code_text, script_limits)
            code, code_generation = held
            entry = local.view(code.batch_id)
            if entry is not None and link is not None:
                check_link(entry.view, link)
            event_of_code = {"code_id": code.id, **event}
            try:
                state = self.record(
                    code, event_of_code, code_generation, entry, script_limits, base, since
                )
            except Stale as stale:
                if stale.codes != code_generation:
                    local.forget_codes()
                else:
                    generations = (stale.batches, stale.batch)
                    local.keep_view(code.batch_id, view_under(code.batch_id, generations))
                continue
            except NeedsBase:
                base = base_state(code.id, since)
                continue
            ensure_flusher(current_app._get_current_object())
            section = scan_section(state, event["scanned_at"])
            return ScanResult(code, alerts(entry.view, state, code.kind), section, entry)
        return None

    def _admit(self, code_text: str, limits: ScriptLimits):
        """A code this worker does not hold: count the limits before any look-up (unknown
        codes cannot be guessed quickly), read the codes generation, look the code up and
        keep it. ((code, generation), its base state when never scanned, limits left)."""
        generation = self.admit(limits)
        row = code_from_database(code_text)
        base = None
        if row.scan_count == 0:  # never scanned (as far as the database knows)
            base = History(0, None, {}, {}, set())
        held = (CodeInfo(row.id, code_text, row.batch_id, str(row.kind), row.serial), generation)
        entries().keep_code(code_text, *held)
        return held, base, ScriptLimits.of(None, 0)

    def admit(self, limits: ScriptLimits) -> bytes:
        """Count the limits (RateLimited past one) and answer the codes generation."""
        keys = [CODES_GENERATION, EPOCH, *limits.keys]
        reply = self.admit_script(keys=keys, args=limits.args)
        refusal = limits.refusal(reply)
        if refusal is not None:
            raise refusal
        limits.counted()
        return reply[1]

    def record(  # noqa: PLR0913 - what one script call carries
        self,
        code: CodeInfo,
        event: dict,
        code_generation: bytes,
        view: ViewEntry | None,
        limits: ScriptLimits,
        base: History | None,
        since: datetime,
    ) -> ScanState:
        """Run the scan script once: the scan's state, or RateLimited, Stale or NeedsBase."""
        state_key = RedisRecorder.state_key(code.id)
        keys = [
            CODES_GENERATION,
            EPOCH,
            state_key,
            RedisRecorder.QUEUE,
            ALL_GENERATION,
            batch_generation(code.batch_id),
            *limits.keys,
        ]
        held = view.generations if view is not None else NOT_HELD
        args = [code_generation, *held, *event_args(event, base), *limits.args]
        reply = self.scan_script(keys=keys, args=args)
        kind = reply[0]
        if kind == b"ok":
            limits.counted()
            state = state_of(reply, event["scanned_at"], since)
            keep_distant(self.client, state_key, state)
            return state
        if kind == b"stale":
            raise Stale(reply[1], reply[2], reply[3])
        if kind == b"base":
            raise NeedsBase()
        raise limits.refusal(reply)


def event_args(event: dict, base: History | None) -> list:
    """The scan script's arguments from ARGV[4] to ARGV[14] (see lua/scan.lua)."""
    scanned_at: datetime = event["scanned_at"]
    if base is None:
        base_args = ["0", ""]
    else:
        fields = state_fields(base)
        # a value never holds a tab; provinces' line breaks travel as \r
        lines = (f"{k}\t{str(v).replace(chr(10), chr(13))}" for k, v in fields.items())
        base_args = ["1", "\n".join(lines)]
    return [
        json.dumps({**event, "scanned_at": scanned_at.isoformat()}, ensure_ascii=False),
        scanned_at.isoformat(),
        province_of(event.get("region")) or "",
        STATE_TTL,
        *base_args,
        event.get("visitor_hash") or "",
        event.get("network_hash") or "",
        repr(scanned_at.timestamp()),
        MAX_VISITORS,
        MAX_NETWORKS,
    ]


def state_of(reply: list, scanned_at: datetime, since: datetime) -> ScanState:
    """The code's state from the scan script's 'ok' reply."""
    first = datetime.fromisoformat(reply[2].decode()) if reply[2] else None
    seen = float(reply[3]) if reply[3] else None
    before = seen is not None and seen >= since.timestamp()
    provinces = provinces_from(reply[5])
    return ScanState(
        int(reply[1]), first or scanned_at, provinces, before, int(reply[4]), distant_of(reply[6])
    )


def view_under(batch_id: int, generations: tuple[bytes, bytes]) -> ViewEntry:
    """The batch's view as of *generations* (read before this): the shared copy when it was
    built under the same generations, else built from the database and shared.

    Every scan checks the generations, so these copies live longer than SCAN_VIEW_TTL:
    SCAN_VIEW_CHECKED_TTL, at most half as long as the playback links they hand out work.
    """
    ttl = checked_ttl()
    tag = [g.decode() for g in generations]
    cached = cache().get(batch_key(batch_id))
    if cached is None or cached.get("generations") != tag:
        cached = {"view": story.build_view(batch_id), "generations": tag}
        cache().set(batch_key(batch_id), cached, ttl)
    return ViewEntry(cached["view"], generations, time.monotonic() + ttl)


@dataclass
class ScriptLimits:
    """A request's limits as a script's trailing keys and arguments (empty when already
    counted): see read_limits in lua/limits.lua."""

    limits: ratelimit.Deferred | None
    failure_windows: tuple[ratelimit.Window, ...]
    scan_windows: tuple[ratelimit.Window, ...]
    keys: list[str]
    args: list
    now: float

    @classmethod
    def of(cls, limits: ratelimit.Deferred | None, now: float) -> ScriptLimits:
        """The limits still to count for this request."""
        failure_windows = scan_windows = ()
        keys, args = [], [0, 0]
        if limits is not None and not limits.applied and current_app.config["RATELIMIT_ENABLED"]:
            failure_windows = ratelimit.parse_limits_cached(limits.failure_limits)
            scan_windows = ratelimit.parse_limits_cached(limits.limits)
            slot = ratelimit.RedisStore.slot
            failure_key = f"{limits.failure_scope}:{limits.client}"
            scan_key = f"{limits.scope}:{limits.client}"
            keys = [slot(failure_key, w, now) for w in failure_windows]
            keys += [slot(scan_key, w, now) for w in scan_windows]
            args = [len(failure_windows), len(scan_windows), *(w.count for w in failure_windows)]
            for window in scan_windows:
                args += [window.count, window.seconds + 1]
        return cls(limits, failure_windows, scan_windows, keys, args, now)

    def counted(self) -> None:
        """The script counted them: nobody counts them again."""
        if self.limits is not None:
            self.limits.applied = True

    def refusal(self, reply: list) -> ratelimit.RateLimited | None:
        """The refusal a script answered with, or None."""
        kind = reply[0]
        if kind == b"failures":
            self.counted()
            failing, windows = int(reply[1]) - 1, self.failure_windows
            counts = [w.count + 1 if i == failing else 0 for i, w in enumerate(windows)]
            return self.limits.refuse(windows, counts, self.now)
        if kind == b"limited":
            self.counted()
            counts = [int(c) for c in reply[1:]]
            return self.limits.refuse(self.scan_windows, counts, self.now)
        return None
