"""What the scan path keeps, and forgetting it.

Three kinds of copies: the shared cache (in-process, or Redis) holds code identities, batch
views and rendered pages under the keys below; each worker holds its own code identities and
batch views (:class:`LocalEntries`), tagged with the *generations* they were read under.

Nobody outside the scan feature calls the forget functions: the freshness watch
(backend/scan/freshness.py) calls them when a flush changes a row a view shows.

Without Redis every worker keeps its own copies, so each forget also raises the batch's row
in `scan_generations` (batch 0: every batch) *in the writer's transaction*: the change and
its stamp commit together, and the next scan in any worker reads the stamp in its one query
and rebuilds a copy built under an older one (backend/scan/direct.py). On Redis each forget
raises the batch's generation counter (backend/scan/on_redis.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict

from flask import current_app

from backend.core.cache import cache
from backend.extensions import db
from backend.scan.path import CodeInfo, ViewEntry

log = logging.getLogger(__name__)

PENDING = "yipin_forget_batches"
PENDING_CODES = "yipin_forget_codes"
ALL = -1  # "every batch" (a zone, brand or category changed)
# Generations (Redis counters) that workers' own copies are checked against on every scan
# (backend/scan/on_redis.py): raised with every forget, at the flush and after the commit.
CODES_GENERATION = "yipin:gen:codes"
ALL_GENERATION = "yipin:gen:batches"
EPOCH = "yipin:gen:epoch"  # qualifies every generation (see backend/scan/lua/limits.lua)
MAX_CODES = 50_000  # code identities a worker keeps
MAX_VIEWS = 2_000  # batch views a worker keeps


def batch_generation(batch_id: int) -> str:
    """Key of a batch's generation."""
    return f"yipin:gen:batch:{batch_id}"


def code_key(code: str) -> str:
    """Key of a code's identity."""
    return f"code:{code}"


def batch_key(batch_id: int) -> str:
    """Key of a batch's consumer view."""
    return f"batchview:{batch_id}"


def page_key(batch_id: int, locale: str) -> str:
    """Key of the rendered batch part of the scan page, in one language."""
    return f"batchpage:{batch_id}:{locale}"


def _raise_generation(*keys: str) -> None:
    """Raise generations in Redis (nothing to do without it: copies expire by time)."""
    client = getattr(cache(), "client", None)
    if client is None:
        return
    from redis import RedisError

    try:
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.incr(key)
        pipe.execute()
    except RedisError as exc:
        log.error("could not raise %s; workers' copies stale until expiry: %s", keys, exc)


def forget_codes(codes: list[str]) -> None:
    """Drop cached code identities (after voiding; again after the commit)."""
    if codes:
        cache().delete(*(code_key(c) for c in codes))
        _raise_generation(CODES_GENERATION)
        db.session.info.setdefault(PENDING_CODES, set()).update(codes)


def stamp_batches(batch_ids: set[int]) -> None:
    """Without Redis: raise the database generations of *batch_ids* (0: every batch) in the
    current transaction, so every worker's copies built before it commits are stale."""
    if getattr(cache(), "client", None) is not None or not batch_ids:
        return
    from backend.codes.models import ScanGeneration

    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = ScanGeneration.__table__
    statement = insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.batch_id], set_={"value": table.c.value + 1}
    )
    connection.execute(statement, [{"batch_id": b, "value": 1} for b in sorted(batch_ids)])


def forget_batch(batch_id: int, *, stamp: bool = True) -> None:
    """Drop a batch's cached view (after a state change, a new result, a camera event)."""
    pages = [page_key(batch_id, locale) for locale in current_app.config["LANGUAGES"]]
    cache().delete(batch_key(batch_id), *pages)
    _raise_generation(batch_generation(batch_id))
    if stamp:
        stamp_batches({batch_id})


def forget_all_batches(*, stamp: bool = True) -> None:
    """Drop every cached batch view (after a change that many batches show)."""
    store = cache()
    client = getattr(store, "client", None)
    if client is None:
        store.clear()  # in-process: the code identities go too, and are rebuilt on demand
        if stamp:
            stamp_batches({0})
        return
    _raise_generation(ALL_GENERATION)
    from redis import RedisError

    try:
        keys = list(client.scan_iter(store.prefix + "batch*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
    except RedisError:
        pass  # logged by the cache on the next failure; the views expire by their TTL


def forget(batch_ids: set[int], *, stamp: bool = True) -> None:
    """Drop the views of *batch_ids* (and stamp them, unless the change has committed)."""
    if ALL in batch_ids:
        forget_all_batches(stamp=stamp)
    else:
        for batch_id in batch_ids:
            forget_batch(batch_id, stamp=False)
        if stamp:
            stamp_batches(batch_ids)


def forget_pending(session) -> None:
    """After a commit: drop again what the committed flushes dropped (a copy rebuilt in
    between from the old rows must not outlive the change)."""
    batch_ids = session.info.pop(PENDING, None)
    codes = session.info.pop(PENDING_CODES, None)
    if batch_ids:
        forget(batch_ids, stamp=False)  # stamped in the transaction that committed
    if codes:
        cache().delete(*(code_key(c) for c in codes))
        _raise_generation(CODES_GENERATION)


class LocalEntries:
    """This worker's code identities and batch views (bounded, thread-safe)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.codes: OrderedDict[str, tuple[CodeInfo, bytes]] = OrderedDict()
        self.views: OrderedDict[int, ViewEntry] = OrderedDict()

    def code(self, code: str) -> tuple[CodeInfo, bytes] | None:
        """(CodeInfo, codes generation) of *code*, or None."""
        with self.lock:
            held = self.codes.get(code)
            if held is not None:
                self.codes.move_to_end(code)  # the hot codes stay, the long tail goes first
            return held

    def keep_code(self, code: str, info: CodeInfo, generation: bytes) -> None:
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
