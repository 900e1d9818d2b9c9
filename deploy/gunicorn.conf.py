"""gunicorn settings for Yipin: ``gunicorn -c deploy/gunicorn.conf.py "backend:create_app()"``.

Sync workers (gevent gives multi-second tails on database routes here). Each worker writes
its queued scan events before it exits.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
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
