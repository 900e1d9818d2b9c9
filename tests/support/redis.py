"""The app on the machine's real Redis: fixtures shared by the service tests.

Each run claims a Redis database of its own (tests/faults/helpers.py) and empties it around
each test.
"""

from __future__ import annotations

import pytest
import redis

from backend.core.cache import RedisCache
from backend.core.ratelimit import RedisStore
from backend.scan.caching import LocalEntries
from backend.scan.direct import DirectPath
from backend.scan.on_redis import RedisPath
from backend.scan.recorder import RedisRecorder
from tests.faults.helpers import empty, own_redis_db


@pytest.fixture(scope="module")
def redis_url():
    """This run's own Redis database."""
    with own_redis_db() as url:
        yield url


def use_redis(app, monkeypatch, url: str) -> redis.Redis:
    """Point the app's cache, scan path, rate limits and token store at *url*."""
    client = redis.Redis.from_url(url, socket_timeout=2)
    monkeypatch.setitem(app.extensions, "redis", client)
    monkeypatch.setitem(app.extensions, "cache", RedisCache(client))
    monkeypatch.setitem(app.extensions, "scan_recorder", RedisRecorder(client))
    monkeypatch.setitem(app.extensions, "scan_path", RedisPath(client, fallback=DirectPath()))
    monkeypatch.setitem(app.extensions, "scan_entries", LocalEntries())
    monkeypatch.setitem(app.extensions, "rate_limits", RedisStore(client))
    app.extensions.pop("wechat_storage", None)
    return client


@pytest.fixture()
def on_redis(app, monkeypatch, redis_url):
    """The app on this run's Redis database, emptied before and after."""
    empty(redis_url)
    client = use_redis(app, monkeypatch, redis_url)
    yield client
    empty(redis_url)
    app.extensions.pop("wechat_storage", None)
    client.close()
