"""Operations: structured logs with request ids, and Prometheus metrics.

``init_observability(app)`` gives every request an id (the caller's ``X-Request-ID`` when it
is a sane one, else a new one), echoes it in the response, puts it on every log line of the
request, writes one access line per request, and counts requests, their durations, scans and
queue depths for ``/metrics``.
"""

from __future__ import annotations

from flask import Flask

from backend.observability.logs import configure_logging, init_request_ids
from backend.observability.metrics import init_metrics


def init_observability(app: Flask) -> None:
    """Logs, request ids and metrics for *app*."""
    configure_logging(app)
    init_request_ids(app)
    init_metrics(app)
