"""Operations: request ids, JSON logs without secrets, and Prometheus metrics."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from backend.observability.logs import JsonFormatter, RequestIdFilter, configure_logging

ROOT = Path(__file__).resolve().parents[2]


def metric(text: str, name: str, **labels: str) -> float:
    """The sum of the samples *name* carrying *labels* in a scrape (0 when absent)."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.fixture()
def json_logs(app):
    """The app's logs as JSON lines in a buffer, for the length of a test."""
    buffer = io.StringIO()
    root = logging.getLogger()
    level = root.level
    configure_logging(app, stream=buffer)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    for handler in list(root.handlers):
        if getattr(handler, "_yipin_handler", False):
            root.removeHandler(handler)
    root.setLevel(level)


def test_every_response_carries_a_request_id(client):
    first = client.get("/api/v1/ping").headers["X-Request-ID"]
    second = client.get("/api/v1/ping").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second


def test_a_sane_incoming_request_id_is_kept_and_a_strange_one_replaced(client):
    kept = client.get("/api/v1/ping", headers={"X-Request-ID": "lb-7f3a9c21.0001"})
    assert kept.headers["X-Request-ID"] == "lb-7f3a9c21.0001"
    for strange in ("short", "has spaces in it", "x" * 65, "<script>alert(1)</script>"):
        response = client.get("/api/v1/ping", headers={"X-Request-ID": strange})
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"]), strange


def test_access_lines_are_json_with_the_request_id_and_no_query_string(client, json_logs):
    response = client.get(
        "/api/v1/scan/0000000000000000X?token=s3cret-token&key=camera-key&password=hunter2"
    )
    lines = json_logs()
    access = [line for line in lines if line["logger"] == "yipin.access"]
    assert len(access) == 1
    line = access[0]
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert line["method"] == "GET" and line["status"] == response.status_code
    assert line["path"] == "/api/v1/scan/0000000000000000X"
    assert line["endpoint"] and line["duration_ms"] >= 0
    assert line["level"] == "INFO" and line["time"].endswith("+00:00")
    everything = json.dumps(lines)
    for secret in ("s3cret-token", "camera-key", "hunter2"):
        assert secret not in everything


def test_an_error_logged_during_a_request_names_the_request(app):
    record = logging.makeLogRecord({"name": "backend.x", "levelno": 40, "levelname": "ERROR"})
    record.msg, record.args = "写入失败 %s", ("台账",)
    with app.test_request_context("/"):
        from flask import g

        g.request_id = "req-12345678"
        RequestIdFilter().filter(record)
    try:
        raise ValueError("boom")
    except ValueError:
        record.exc_info = sys.exc_info()
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "写入失败 台账"  # Chinese kept readable
    assert line["request_id"] == "req-12345678"
    assert "ValueError: boom" in line["exception"]


def test_metrics_count_requests_by_endpoint(client):
    before = client.get("/metrics").get_data(as_text=True)
    for _ in range(3):
        client.get("/api/v1/ping")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    after = response.get_data(as_text=True)
    labels = {"method": "GET", "endpoint": "ping.Ping", "status": "200"}
    assert (
        metric(after, "yipin_http_requests_total", **labels)
        - metric(before, "yipin_http_requests_total", **labels)
        == 3
    )
    buckets = "yipin_http_request_duration_seconds_count"
    assert metric(after, buckets, endpoint="ping.Ping") >= 3


def test_metrics_count_scans_and_show_the_queue(app, client, wine):
    _batch, codes = wine
    code = codes[0]
    before = client.get("/metrics").get_data(as_text=True)
    assert client.get(f"/api/v1/scan/{code}").status_code == 200
    after = client.get("/metrics").get_data(as_text=True)
    assert metric(after, "yipin_scans_total") - metric(before, "yipin_scans_total") == 1
    pending = app.extensions["scan_recorder"].pending()
    assert pending == 0  # without Redis a scan is written in its request: no queue
    assert metric(after, "yipin_scan_queue_depth") == pending


def test_metrics_are_refused_to_strangers_unless_they_have_the_token(app, client, monkeypatch):
    stranger = {"REMOTE_ADDR": "203.0.113.9"}
    refused = client.get("/metrics", environ_base=stranger)
    assert refused.status_code == 403 and refused.mimetype == "text/html"
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "scrape-token-0123456789")
    wrong = client.get("/metrics", environ_base=stranger, headers={"Authorization": "Bearer guess"})
    assert wrong.status_code == 403
    right = client.get(
        "/metrics",
        environ_base=stranger,
        headers={"Authorization": "Bearer scrape-token-0123456789"},
    )
    assert right.status_code == 200 and "yipin_http_requests_total" in right.get_data(True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback only
        return response.read().decode()


def test_gunicorn_workers_are_added_up(tmp_path):
    port = _free_port()
    env = dict(
        os.environ,
        YIPIN_ENV="development",
        DATABASE_URL=f"sqlite:///{tmp_path / 'metrics.db'}",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="2",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
        REDIS_URL="",
        LOG_LEVEL="WARNING",
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "backend:create_app()"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                _get(base + "/api/v1/ping")
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, "gunicorn did not answer"
                time.sleep(0.2)
        labels = {"method": "GET", "endpoint": "ping.Ping", "status": "200"}
        before = metric(_get(base + "/metrics"), "yipin_http_requests_total", **labels)
        for _ in range(40):  # spread over both workers by the kernel
            _get(base + "/api/v1/ping")
        after = metric(_get(base + "/metrics"), "yipin_http_requests_total", **labels)
        assert after - before == 40
        assert list((tmp_path / "metrics").glob("counter_*.db"))  # the workers' files
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server.stderr.close()
