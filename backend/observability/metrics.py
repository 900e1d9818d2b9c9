"""Prometheus metrics at ``/metrics``: requests, latencies, scans and queue depths.

Counters live in prometheus_client's default registry; with several gunicorn workers set
``PROMETHEUS_MULTIPROC_DIR`` (before the workers start: deploy/gunicorn.conf.py does) and the
scrape adds up every worker's files. Endpoints, not paths, label the requests, so codes in
URLs cannot blow up the number of series. Queue depths are read when scraped.
"""

from __future__ import annotations

import hmac
import time

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

from backend.config import address_allowed

REQUESTS = Counter(
    "yipin_http_requests_total",
    "HTTP requests answered, by method, endpoint and status.",
    ["method", "endpoint", "status"],
)
LATENCY = Histogram(
    "yipin_http_request_duration_seconds",
    "Time to answer a request, by endpoint.",
    ["endpoint"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
SCANS = Counter(
    "yipin_scans_total",
    "Scans recorded (queued for the database), by channel.",
    ["channel"],
)

blueprint = Blueprint("metrics", __name__)


def count_scan(channel: str) -> None:
    """Count one recorded scan."""
    SCANS.labels(channel).inc()


class QueueCollector:
    """Queue depths read at scrape time: scans waiting to be written, Celery's queue."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self):
        """Yield the gauges (this process's queue when scans queue in memory)."""
        recorder = self.app.extensions.get("scan_recorder")
        gauge = GaugeMetricFamily(
            "yipin_scan_queue_depth", "Scan events queued and not yet written to the database."
        )
        gauge.add_metric([], recorder.pending() if recorder else 0)
        yield gauge
        client = self.app.extensions.get("redis")
        if client is not None:
            celery = GaugeMetricFamily(
                "yipin_celery_queue_depth", "Jobs waiting in Celery's default queue."
            )
            try:
                celery.add_metric([], client.llen("celery"))
            except Exception:  # Redis down: the gauge is left out, the scrape still works
                return
            yield celery


def _registry(app: Flask) -> CollectorRegistry:
    """What a scrape reads: every worker's files in multiprocess mode, else this process."""
    if app.config.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:  # only our own metrics, not the interpreter's
        registry = CollectorRegistry()
        for collector in (REQUESTS, LATENCY, SCANS):
            registry.register(collector)
    registry.register(QueueCollector(app))
    return registry


def _allowed() -> bool:
    """A scraper at an allowed address, or one sending the bearer token."""
    config = current_app.config
    token = config.get("METRICS_TOKEN")
    sent = request.headers.get("Authorization", "")
    if token and sent.startswith("Bearer "):
        if hmac.compare_digest(sent[7:].encode(), token.encode()):
            return True
    return address_allowed(request.remote_addr, config.get("METRICS_ALLOWED_ADDRS"))


@blueprint.get("/metrics")
def scrape() -> Response:
    """The metrics in Prometheus' text format (403 for anybody else)."""
    if not _allowed():
        abort(403)
    data = generate_latest(_registry(current_app))
    response = Response(data, mimetype=CONTENT_TYPE_LATEST.split(";")[0])
    response.headers["Cache-Control"] = "no-store"
    return response


def init_metrics(app: Flask) -> None:
    """Count every request and mount /metrics (unless METRICS_ENABLED is off)."""
    if not app.config["METRICS_ENABLED"]:
        return

    @app.after_request
    def count_request(response):
        endpoint = request.endpoint or "none"
        REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
        started = g.get("request_started")
        if started is not None:
            LATENCY.labels(endpoint).observe(time.perf_counter() - started)
        return response

    app.register_blueprint(blueprint)
