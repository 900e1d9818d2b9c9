"""The Celery app a test's worker process runs: ``celery -A tests.faults.worker_app worker``.

Its settings come from YIPIN_TEST_WORKER_SETTINGS (JSON, laid over TestingConfig), so the
worker and the test share one committed database, one Redis and one storage.
YIPIN_TEST_SLOW_FLUSH=<seconds> makes every scan flush wait that long before it writes (so
a test can kill the worker in the middle of one).
"""

from __future__ import annotations

import json
import os
import time

from backend import create_app
from backend.config import TestingConfig


def settings_class(settings: dict) -> type[TestingConfig]:
    """TestingConfig with *settings* laid over it."""
    return type("WorkerConfig", (TestingConfig,), settings)


flask_app = create_app(
    settings_class(json.loads(os.environ.get("YIPIN_TEST_WORKER_SETTINGS", "{}")))
)
celery = flask_app.extensions["celery"]

if os.environ.get("YIPIN_TEST_SLOW_FLUSH"):
    from backend.scan import recorder

    _write_events = recorder.write_events

    def slow_write_events(events: list[dict]) -> None:
        """Wait, then write: the batch stays claimed meanwhile."""
        time.sleep(float(os.environ["YIPIN_TEST_SLOW_FLUSH"]))
        _write_events(events)

    recorder.write_events = slow_write_events
