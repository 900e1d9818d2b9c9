"""A small cache: in-process by default, Redis when REDIS_URL is set.

Values are JSON-able. The in-process cache is per worker process, so entries also expire
by time; Redis is shared, so an explicit `delete` reaches every worker at once.

A cache must never take the site down: while Redis does not answer, reads miss (the caller
builds the value from the database), writes are dropped and a lost delete is logged (the
entry then lives at most its time to live).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app

log = logging.getLogger(__name__)


class LocalCache:
    """A bounded, thread-safe LRU cache with per-entry expiry."""

    def __init__(self, max_entries: int = 20_000):
        self._data: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries

    def get(self, key: str) -> Any | None:
        """The live value under *key*, or None."""
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return None
            expires, value = item
            if expires < time.monotonic():
                del self._data[key]
                return None
            self._data.move_to_end(key)
            return value

    def set(self, key: str, value: Any, ttl: float) -> None:
        """Keep *value* under *key* for *ttl* seconds."""
        with self._lock:
            self._data[key] = (time.monotonic() + ttl, value)
            self._data.move_to_end(key)
            while len(self._data) > self._max:
                self._data.popitem(last=False)

    def delete(self, *keys: str) -> None:
        """Forget *keys*."""
        with self._lock:
            for key in keys:
                self._data.pop(key, None)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._data.clear()


class RedisCache:
    """The same interface on Redis (values stored as JSON), namespaced by a prefix."""

    def __init__(self, client, prefix: str = "yipin:cache:"):
        self.client = client
        self.prefix = prefix

    def get(self, key: str) -> Any | None:
        """The value under *key*, or None (also while Redis does not answer)."""
        from redis import RedisError

        try:
            raw = self.client.get(self.prefix + key)
        except RedisError as exc:
            log.warning("cache read of %s failed, treated as a miss: %s", key, exc)
            return None
        return None if raw is None else json.loads(raw)

    def set(self, key: str, value: Any, ttl: float) -> None:
        """Keep *value* under *key* for *ttl* seconds (dropped while Redis does not answer)."""
        from redis import RedisError

        payload = json.dumps(value, ensure_ascii=False)
        try:
            self.client.set(self.prefix + key, payload, ex=max(1, int(ttl)))
        except RedisError as exc:
            log.warning("cache write of %s dropped: %s", key, exc)

    def delete(self, *keys: str) -> None:
        """Forget *keys* (while Redis does not answer, they expire by their time to live)."""
        from redis import RedisError

        if keys:
            try:
                self.client.delete(*(self.prefix + k for k in keys))
            except RedisError as exc:
                log.error("cache delete of %s failed; stale until expiry: %s", keys, exc)

    def clear(self) -> None:
        """Forget every key under the prefix."""
        for key in self.client.scan_iter(self.prefix + "*"):
            self.client.delete(key)


def init_cache(app: Flask) -> None:
    """Choose the cache (and a shared Redis client) for *app*."""
    url = app.config.get("REDIS_URL")
    if url:
        import redis

        client = redis.Redis.from_url(url, socket_timeout=2, health_check_interval=30)
        app.extensions["redis"] = client
        app.extensions["cache"] = RedisCache(client)
    else:
        app.extensions["cache"] = LocalCache()


def cache() -> LocalCache | RedisCache:
    """The current app's cache."""
    return current_app.extensions["cache"]


def get_or_set(key: str, build: Callable[[], Any], ttl: float) -> Any:
    """The cached value under *key*, built and stored when missing."""
    store = cache()
    value = store.get(key)
    if value is None:
        value = build()
        store.set(key, value, ttl)
    return value
