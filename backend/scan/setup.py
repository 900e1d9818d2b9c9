"""The scan feature's part of the app factory: who records scans, which way they travel,
and the watch that keeps cached views fresh."""

from __future__ import annotations

from flask import Flask

from backend.scan import freshness
from backend.scan.caching import LocalEntries
from backend.scan.direct import DirectPath
from backend.scan.recorder import DatabaseRecorder, RedisRecorder


def init_scan(app: Flask) -> None:
    """Choose the recorder and the scan path for *app* (on Redis when it has a client)."""
    freshness.watch()
    client = app.extensions.get("redis")
    app.extensions["scan_recorder"] = RedisRecorder(client) if client else DatabaseRecorder()
    app.extensions["scan_flusher"] = None
    app.extensions["scan_entries"] = LocalEntries()
    if client is None:
        app.extensions["scan_path"] = DirectPath()
        return
    from backend.scan.on_redis import RedisPath

    app.extensions["scan_path"] = RedisPath(client, fallback=DirectPath())
