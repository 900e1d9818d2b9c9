"""gunicorn settings for Yipin: ``gunicorn -c deploy/gunicorn.conf.py "backend:create_app()"``.

Sync workers (gevent gives multi-second tails on database routes here), two per core by
default: a scan or a ledger write waits on Redis or PostgreSQL part of its time, and another
worker uses the core meanwhile (bench/load.py: scans 0.45 × the trivial endpoint with 4
workers on 2 cores, 0.39 with 2). Each worker writes
its queued scan events before it exits. Metrics: every worker counts into files under
PROMETHEUS_MULTIPROC_DIR (a fresh temporary directory unless given), emptied when gunicorn
starts, so /metrics adds up all workers.
"""

import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="yipin-metrics-"))

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", str(2 * (os.cpu_count() or 1))))
worker_class = "sync"
keepalive = 5
timeout = 30
graceful_timeout = 20
accesslog = os.environ.get("GUNICORN_ACCESSLOG")  # unset: no access log (it costs throughput)


def worker_exit(server, worker):
    """Flush this worker's queued scan events before it goes."""
    app = getattr(worker, "wsgi", None)
    flusher = getattr(app, "extensions", {}).get("scan_flusher") if app else None
    if flusher is not None:
        flusher.stop()


def on_starting(server):
    """Start the metrics of this run from zero (files of an earlier run are removed)."""
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    if directory.exists():
        for entry in directory.iterdir():
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    directory.mkdir(parents=True, exist_ok=True)


def child_exit(server, worker):
    """Keep a finished worker's counters but drop its live gauges."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
