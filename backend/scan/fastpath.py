"""The scan on Redis in one round trip.

A scan of a code this worker has seen recently costs one script call: Redis checks the
client's failure limit, compares the generations of what this worker has cached, counts the
client's scan against its limit, counts the code's scan and queues the event — or answers
why it did not. Everything else comes from this process's memory:

- **code identities** (code → id, batch, kind, serial), tagged with the *codes generation*,
  which every voiding raises (:func:`backend.scan.caching.forget_codes`);
- **batch views** (the consumer view, its JSON text and the rendered scan pages), tagged
  with the batch's generation and the *all-batches generation*, which every change a view
  shows raises (:func:`backend.scan.caching.forget_batch`), and kept at most SCAN_VIEW_TTL
  seconds (the view's playback links age).

When the script finds a generation moved, it records nothing and answers the current ones;
the worker drops what is stale, reads it again (a view from the shared Redis copy when that
copy carries the same generations, else from the database) and calls once more. Because the
generations are read *before* the database is, a view built from rows that change meanwhile
is stale at once, and a writer raises them at its flush and again after its commit.

A code this worker has not seen costs more: the limits are counted first (before any
look-up, so unknown codes cannot be guessed quickly), then the codes generation is read and
the code looked up in the database. While Redis does not answer, the caller falls back to
the path without it (backend/scan/view.py).
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app

from backend.core import ratelimit
from backend.scan.caching import ALL_GENERATION, CODES_GENERATION, EPOCH, batch_generation
from backend.scan.recorder import (
    MAX_NETWORKS,
    MAX_VISITORS,
    STATE_TTL,
    History,
    RedisRecorder,
    ScanState,
    distant_of,
    keep_distant,
    province_of,
    provinces_from,
    state_fields,
)

MAX_CODES = 50_000
MAX_VIEWS = 2_000
ATTEMPTS = 3

# The limits and the generations, first in both scripts. KEYS[1] is the codes generation,
# KEYS[2] the epoch, then NF failure-limit slots and NS scan-limit slots; ARGV[1] is NF,
# ARGV[2] NS, then the NF failure limits and NS pairs (limit, slot's time to live). K and A
# index the script's own keys and arguments. The epoch is set from Redis' clock when missing,
# so after Redis lost its data (a restart without persistence) no generation read matches one
# held from before, even once the counters have climbed back to the same numbers.
PRELUDE = """
local nf, ns = tonumber(ARGV[1]), tonumber(ARGV[2])
local function over_failures()
    for i = 1, nf do
        local seen = tonumber(redis.call('GET', KEYS[2 + i]) or '0')
        if seen >= tonumber(ARGV[2 + i]) then return i end
    end
    return nil
end
local function hit_scans()
    local counts, over = {}, false
    for j = 1, ns do
        local key = KEYS[2 + nf + j]
        local seen = redis.call('INCR', key)
        if seen == 1 then redis.call('EXPIRE', key, tonumber(ARGV[2 + nf + 2 * j])) end
        counts[j] = seen
        if seen > tonumber(ARGV[1 + nf + 2 * j]) then over = true end
    end
    if over then return counts end
    return nil
end
local function generation(key, epoch)
    return epoch .. ':' .. (redis.call('GET', key) or '0')
end
local function epoch()
    local value = redis.call('GET', KEYS[2])
    if not value then
        local now = redis.call('TIME')
        value = now[1] .. now[2]
        redis.call('SET', KEYS[2], value)
    end
    return value
end
local K, A = 3 + nf + ns, 3 + nf + 2 * ns
"""

# Before a code this worker does not hold is looked up: the limits, and the codes generation.
ADMIT_SCRIPT = """
local failing = over_failures()
if failing then return {'failures', failing} end
local counts = hit_scans()
if counts then return {'limited', unpack(counts)} end
return {'ok', generation(KEYS[1], epoch())}
"""

# The scan. KEYS from K: the code's scan state, the scan queue, the all-batches generation,
# the batch's generation. ARGV from A: the codes, all-batches and batch generations this
# worker holds, the event (JSON), its time (ISO), its province or '', the state's time to
# live, '1' when a base state follows, the base's fields ("name<TAB>value" lines), the
# visitor's hash or '', the network's hash or '', the scan's Unix time, and how many
# visitors and networks a state remembers at most. The state's fields: count, first, pl
# (provinces and their latest scans, "name<TAB>time" lines), v:<visitor> (latest scan), nv,
# n:<network>, nn, dr (a far-apart pair once seen, kept by the caller). The reply: 'ok',
# the count, the first scan before this one, the visitor's latest scan before this one, the
# distinct networks, the provinces and the far-apart pair.
SCAN_SCRIPT = """
local failing = over_failures()
if failing then return {'failures', failing} end
local now = epoch()
local gc = generation(KEYS[1], now)
local ga = generation(KEYS[K + 2], now)
local gb = generation(KEYS[K + 3], now)
if gc ~= ARGV[A] or ga ~= ARGV[A + 1] or gb ~= ARGV[A + 2] then
    return {'stale', gc, ga, gb}
end
local state = KEYS[K]
if redis.call('EXISTS', state) == 0 then
    if ARGV[A + 7] ~= '1' then return {'base'} end
    for line in string.gmatch(ARGV[A + 8], '[^\\n]+') do
        local name, value = string.match(line, '^(.-)\\t(.*)$')
        redis.call('HSET', state, name, (string.gsub(value, '\\r', '\\n')))
    end
    if redis.call('EXISTS', state) == 0 then redis.call('HSET', state, 'count', 0) end
end
local counts = hit_scans()
if counts then return {'limited', unpack(counts)} end
local at = ARGV[A + 11]
local first = redis.call('HGET', state, 'first') or ''
local count = redis.call('HINCRBY', state, 'count', 1)
if first == '' then redis.call('HSET', state, 'first', ARGV[A + 4]) end
local seen = ''
if ARGV[A + 9] ~= '' then
    local visitor = 'v:' .. ARGV[A + 9]
    seen = redis.call('HGET', state, visitor) or ''
    if seen ~= '' then
        redis.call('HSET', state, visitor, at)
    elseif tonumber(redis.call('HGET', state, 'nv') or '0') < tonumber(ARGV[A + 12]) then
        redis.call('HSET', state, visitor, at)
        redis.call('HINCRBY', state, 'nv', 1)
    end
end
local nn = tonumber(redis.call('HGET', state, 'nn') or '0')
if ARGV[A + 10] ~= '' and nn < tonumber(ARGV[A + 13]) then
    if redis.call('HSETNX', state, 'n:' .. ARGV[A + 10], 1) == 1 then
        nn = redis.call('HINCRBY', state, 'nn', 1)
    end
end
local listed = redis.call('HGET', state, 'pl') or ''
if ARGV[A + 5] ~= '' then
    local lines, found = {}, false
    for line in string.gmatch(listed, '[^\\n]+') do
        if string.match(line, '^(.-)\\t') == ARGV[A + 5] then
            lines[#lines + 1] = ARGV[A + 5] .. '\\t' .. at
            found = true
        else
            lines[#lines + 1] = line
        end
    end
    if not found then lines[#lines + 1] = ARGV[A + 5] .. '\\t' .. at end
    listed = table.concat(lines, '\\n')
    redis.call('HSET', state, 'pl', listed)
end
redis.call('EXPIRE', state, tonumber(ARGV[A + 6]))
redis.call('RPUSH', KEYS[K + 1], ARGV[A + 3])
return {'ok', count, first, seen, nn, listed, redis.call('HGET', state, 'dr') or ''}
"""


class Stale(Exception):
    """Redis holds other generations than this worker's cache (nothing was recorded)."""

    def __init__(self, codes: bytes, batches: bytes, batch: bytes):
        super().__init__("stale")
        self.codes, self.batches, self.batch = codes, batches, batch


class NeedsBase(Exception):  # noqa: N818 - a signal, not an error
    """Redis knows nothing of the code's earlier scans yet (nothing was recorded)."""


@dataclass
class ViewEntry:
    """A batch's view as this worker holds it, with the generations it was read under."""

    view: dict
    json: str
    generations: tuple[bytes, bytes]
    expires: float
    pages: dict[str, list[str]] = field(default_factory=dict)


class LocalEntries:
    """This worker's code identities and batch views (bounded, thread-safe)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.codes: OrderedDict[str, tuple[object, bytes]] = OrderedDict()
        self.views: OrderedDict[int, ViewEntry] = OrderedDict()

    def code(self, code: str):
        """(CodeInfo, codes generation) of *code*, or None."""
        with self.lock:
            held = self.codes.get(code)
            if held is not None:
                self.codes.move_to_end(code)  # the hot codes stay, the long tail goes first
            return held

    def keep_code(self, code: str, info, generation: bytes) -> None:
        """Remember *code*'s identity read under *generation*."""
        with self.lock:
            self.codes[code] = (info, generation)
            while len(self.codes) > MAX_CODES:
                self.codes.popitem(last=False)

    def forget_codes(self) -> None:
        """Drop every code identity (a code was voided somewhere)."""
        with self.lock:
            self.codes.clear()

    def view(self, batch_id: int) -> ViewEntry | None:
        """The live view entry of *batch_id*, or None."""
        with self.lock:
            entry = self.views.get(batch_id)
            if entry is not None and entry.expires < time.monotonic():
                del self.views[batch_id]
                return None
            return entry

    def keep_view(self, batch_id: int, entry: ViewEntry) -> None:
        """Remember *entry* as *batch_id*'s view."""
        with self.lock:
            self.views[batch_id] = entry
            self.views.move_to_end(batch_id)
            while len(self.views) > MAX_VIEWS:
                self.views.popitem(last=False)

    def clear(self) -> None:
        """Forget everything (tests)."""
        with self.lock:
            self.codes.clear()
            self.views.clear()


def entries() -> LocalEntries:
    """This app's (and process's) local entries."""
    return current_app.extensions["scan_entries"]


@dataclass
class ScriptLimits:
    """A request's limits as a script's keys and arguments (empty when already counted)."""

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


class FastPath:
    """The scripts and their arguments, for one app."""

    def __init__(self, recorder: RedisRecorder):
        self.recorder = recorder
        self.client = recorder.client
        self.script = self.client.register_script(PRELUDE + SCAN_SCRIPT)
        self.admit_script = self.client.register_script(PRELUDE + ADMIT_SCRIPT)

    def admit(self, limits: ScriptLimits) -> bytes:
        """Count the limits (RateLimited past one) and answer the codes generation: what a
        scan of a code this worker does not hold does before it looks the code up."""
        keys = [CODES_GENERATION, EPOCH, *limits.keys]
        reply = self.admit_script(keys=keys, args=limits.args)
        refusal = limits.refusal(reply)
        if refusal is not None:
            raise refusal
        limits.counted()
        return reply[1]

    def record(
        self,
        code,
        event: dict,
        *,
        code_generation: bytes,
        view: ViewEntry | None,
        limits: ScriptLimits,
        base: History | None,
        since: datetime,
    ) -> ScanState:
        """Run the script once: the scan's state, or RateLimited, Stale or NeedsBase."""
        keys = [
            CODES_GENERATION,
            EPOCH,
            *limits.keys,
            self.recorder._key(code.id),
            RedisRecorder.QUEUE,
            ALL_GENERATION,
            batch_generation(code.batch_id),
        ]
        held = view.generations if view is not None else (b"-", b"-")
        scanned_at: datetime = event["scanned_at"]
        if base is None:
            base_args = ["0", ""]
        else:
            fields = state_fields(base)
            # a value never holds a tab; provinces' line breaks travel as \r
            lines = (f"{k}\t{str(v).replace(chr(10), chr(13))}" for k, v in fields.items())
            base_args = ["1", "\n".join(lines)]
        args = [
            *limits.args,
            code_generation,
            held[0],
            held[1],
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
        reply = self.script(keys=keys, args=args)
        kind = reply[0]
        if kind == b"ok":
            limits.counted()
            first = datetime.fromisoformat(reply[2].decode()) if reply[2] else None
            seen = float(reply[3]) if reply[3] else None
            before = seen is not None and seen >= since.timestamp()
            provinces = provinces_from(reply[5])
            state = ScanState(
                int(reply[1]),
                first or scanned_at,
                provinces,
                before,
                int(reply[4]),
                distant_of(reply[6]),
            )
            keep_distant(self.client, self.recorder._key(code.id), state)
            return state
        if kind == b"stale":
            raise Stale(reply[1], reply[2], reply[3])
        if kind == b"base":
            raise NeedsBase()
        raise limits.refusal(reply)


def init_fast_path(app) -> None:
    """Give *app* the local entries, and the fast path when scans are recorded in Redis."""
    app.extensions["scan_entries"] = LocalEntries()
    recorder = app.extensions["scan_recorder"]
    app.extensions["scan_fast_path"] = (
        FastPath(recorder) if isinstance(recorder, RedisRecorder) else None
    )
