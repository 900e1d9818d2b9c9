"""Structured logs: one JSON object per line, each with the request's id.

Only the path and the endpoint of a request are logged, never its query string, headers,
form or body: tokens, keys, passwords and codes sent as arguments stay out of the logs.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request

from backend.core.security import RedactSecrets

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
HANDLER_MARK = "_yipin_handler"
access_log = logging.getLogger("yipin.access")
# Attributes every LogRecord has; anything else given in ``extra`` goes into the JSON.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}


def current_request_id() -> str | None:
    """The id of the request being handled, if any."""
    return g.get("request_id") if has_request_context() else None


class RequestIdFilter(logging.Filter):
    """Put the request's id on every record logged while it is handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add ``record.request_id`` (None outside a request); never drop a record."""
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


class JsonFormatter(logging.Formatter):
    """A log record as one line of JSON: time (UTC), level, logger, message, request id,
    the ``extra`` fields, and the exception's traceback as text when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        """The JSON line for *record*."""
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info or record.exc_text:
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(app: Flask, stream=None) -> None:
    """Send the root logger's records to *stream* (stderr) in LOG_FORMAT at LOG_LEVEL.

    Under the test suite nothing is installed unless a *stream* is given (pytest captures
    logs itself). Calling it again replaces the handler it installed before.
    """
    if app.testing and stream is None:
        return
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, HANDLER_MARK, False)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    setattr(handler, HANDLER_MARK, True)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactSecrets())  # what libraries log may quote secrets (URLs, errors)
    if app.config["LOG_FORMAT"] == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")
        )
    root.addHandler(handler)
    root.setLevel(str(app.config["LOG_LEVEL"]).upper())


def init_request_ids(app: Flask) -> None:
    """Give each request an id and time it; echo the id; write the access line."""

    @app.before_request
    def start_request() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def finish_request(response):
        request_id = g.get("request_id")
        if request_id:
            response.headers["X-Request-ID"] = request_id
        if app.config["ACCESS_LOG"] and access_log.isEnabledFor(logging.INFO):
            started = g.get("request_started")
            access_log.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path[:300],
                    "endpoint": request.endpoint,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2)
                    if started
                    else None,
                },
            )
        return response
