"""The Celery app a test's worker process runs: ``celery -A tests.faults.worker_app worker``.

Its settings come from YIPIN_TEST_WORKER_SETTINGS (JSON, laid over TestingConfig), so the
worker and the test share one committed database, one Redis and one storage.
"""

from __future__ import annotations

import json
import os

from backend import create_app
from backend.config import TestingConfig


def settings_class(settings: dict) -> type[TestingConfig]:
    """TestingConfig with *settings* laid over it."""
    return type("WorkerConfig", (TestingConfig,), settings)


flask_app = create_app(
    settings_class(json.loads(os.environ.get("YIPIN_TEST_WORKER_SETTINGS", "{}")))
)
celery = flask_app.extensions["celery"]
