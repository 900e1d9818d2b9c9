"""The one error format: JSON under /api/, an HTML page everywhere else.

JSON errors look like ``{"code": 422, "status": "Unprocessable Entity",
"error": "validation_failed", "message": "...", "errors": {...}}``.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from flask import Flask, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from backend.core.errors import DomainError
from backend.extensions import db

log = logging.getLogger(__name__)

# People-facing texts for HTTP statuses that have no more specific message.
STATUS_MESSAGES = {
    400: lambda: _("请求有误。"),
    401: lambda: _("请先登录。"),
    403: lambda: _("您无权进行此操作。"),
    404: lambda: _("未找到您要的内容。"),
    405: lambda: _("不支持该请求方法。"),
    409: lambda: _("与当前状态冲突。"),
    413: lambda: _("上传内容过大。"),
    415: lambda: _("不支持的内容类型。"),
    422: lambda: _("提交的数据未通过校验。"),
    429: lambda: _("请求过于频繁，请稍后再试。"),
    500: lambda: _("服务器出错了，我们已记录此问题。"),
    503: lambda: _("服务暂时不可用。"),
}


def _slug(status: int) -> str:
    """Return a stable snake_case slug for an HTTP status."""
    if status == 422:
        return "validation_failed"
    return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")


def error_response(status: int, slug: str, message: str, errors: dict | None = None):
    """Build the error response in the shape the request's path calls for."""
    phrase = HTTPStatus(status).phrase
    if request.path.startswith("/api/"):
        body = {
            "code": status,
            "status": phrase,
            "error": slug,
            "message": message,
            "errors": errors or {},
        }
        return make_response(jsonify(body), status)
    html = render_template(
        "errors/page.html", status=status, phrase=phrase, message=message, errors=errors or {}
    )
    return make_response(html, status)


def _default_message(status: int) -> str:
    """Return the people-facing text for *status*."""
    maker = STATUS_MESSAGES.get(status)
    return maker() if maker else HTTPStatus(status).phrase


def handle_http_exception(exc: HTTPException):
    """Render Werkzeug and flask-smorest HTTP errors (including 422 from schemas)."""
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    errors = data.get("messages") or {}
    message = data.get("message") or _default_message(status)
    response = error_response(status, data.get("error") or _slug(status), message, errors)
    response.headers.update(data.get("headers") or {})
    if getattr(exc, "valid_methods", None):
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def handle_csrf_error(exc: CSRFError):
    """A console form came back without its token (or with a stale one): 400, nothing kept."""
    db.session.rollback()
    message = _("表单已失效或缺少安全令牌，未保存任何内容。请返回上一页，刷新后重新提交。")
    return error_response(400, "csrf_failed", message)


def handle_domain_error(exc: DomainError):
    """Render an error raised by a service; nothing it started is kept."""
    db.session.rollback()
    response = error_response(exc.status_code, exc.slug, exc.message, exc.errors)
    response.headers.update(getattr(exc, "headers", {}))
    return response


def handle_integrity_error(exc: IntegrityError):
    """A uniqueness or foreign-key rule in the database said no: 409, nothing kept."""
    db.session.rollback()
    log.info("integrity error turned into 409: %s", exc.orig)
    return error_response(409, "conflict", _("与已有记录冲突，未保存任何内容。"))


DATABASE_RETRY_AFTER = 5  # seconds a client waits before retrying while the database is away


def handle_database_unavailable(exc: Exception):
    """The database could not be reached or dropped the connection (a restart, a failover):
    503 with Retry-After, nothing kept; a write with an Idempotency-Key may simply be sent
    again."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection is already gone; the pool replaces it
        log.debug("rollback after a lost database connection failed", exc_info=True)
    log.warning("database unavailable on %s %s: %s", request.method, request.path, exc)
    response = error_response(
        503, "database_unavailable", _("数据库暂时不可用，请稍后重试；本次提交未保存。")
    )
    response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER)
    return response


def handle_unexpected(exc: Exception):
    """Log anything unforeseen and answer 500 in the usual shape, without a trace."""
    if isinstance(exc, HTTPException):
        return handle_http_exception(exc)
    db.session.rollback()
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500, "internal_server_error", _default_message(500))


def register_error_handlers(app: Flask) -> None:
    """Install the handlers; call after flask-smorest so ours win."""
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(IntegrityError, handle_integrity_error)
    app.register_error_handler(OperationalError, handle_database_unavailable)
    app.register_error_handler(InterfaceError, handle_database_unavailable)
    app.register_error_handler(Exception, handle_unexpected)
