"""Security headers for every response, set in one place.

Each part may set a stricter policy of its own (the console forbids framing and caching; the
live pages allow video from the HLS servers); what a part leaves unset gets the defaults here:

- ``Content-Security-Policy``: pages load scripts, styles and images from this site only
  (no ``'unsafe-inline'`` anywhere: the templates hold no inline script or style), video from
  this site and the HLS servers, no plugins, no ``<base>``, forms post to this site, and only
  this site may frame them. JSON, files and everything under ``/api/`` get ``default-src
  'none'`` with ``sandbox``, so an uploaded file opened in a browser can run nothing.
- ``X-Frame-Options`` (for browsers without ``frame-ancestors``), ``X-Content-Type-Options:
  nosniff``, ``Referrer-Policy`` and ``Cross-Origin-Opener-Policy``.
- ``Strict-Transport-Security`` when ``HSTS_MAX_AGE`` is positive (servers; not the laptop's
  plain-HTTP development server nor the tests).

Path segments declared ``<int:...>`` are bounded to a 32-bit database id everywhere
(:class:`BoundedIntegerConverter`): a larger number finds nothing (the view's own 404), rather
than overflowing in the database driver (a 500 on SQLite, an error on PostgreSQL).

Requests carrying a NUL character in the path, a query argument, a urlencoded form or a JSON
string are refused with a 400 (``nul_character``) before any view runs: PostgreSQL cannot
store or compare such text and would fail with a server error.

It also holds :class:`RedactSecrets`, the log filter that blanks secrets which libraries put
in their own records (urllib3 logs WeChat's URLs with ``secret=`` and ``access_token=`` at
DEBUG; exceptions of HTTP clients quote them too).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

from flask import Flask, current_app, request
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter
from werkzeug.wrappers import Response

from backend.cameras.links import hls_base_url

MAX_ID = 2**31 - 1  # ids are 32-bit integers in every table
LOCKED_DOWN = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; sandbox"


# key=value pairs (query strings, forms) and Authorization headers that carry secrets.
SECRET_PAIRS = re.compile(
    r"(?i)\b(secret|access_token|refresh_token|js_code|code|session_key|sessionkey|key|token"
    r"|sign|signature|password|passwd|pwd|appsecret|csrf_token)=([^&\s\"'<>]+)"
)
BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """*text* with the values of secret-looking key=value pairs and credentials blanked."""
    text = SECRET_PAIRS.sub(lambda m: f"{m[1]}={REDACTED}", text)
    return BEARER.sub(lambda m: f"{m[1]} {REDACTED}", text)


class RedactSecrets(logging.Filter):
    """Blank secrets in a record's message and traceback before any handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drop it."""
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is logging's business, not ours
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def media_origins() -> str:
    """The origins video is loaded from: our HLS server and Tencent's playback domain."""
    origins = set()
    base = urlsplit(hls_base_url())
    if base.scheme and base.netloc:
        origins.add(f"{base.scheme}://{base.netloc}")
    domain = current_app.config.get("TENCENT_LIVE_PLAY_DOMAIN")
    if domain:
        origins.add(f"https://{domain}")
    return " ".join(sorted(origins))


def page_policy() -> str:
    """The Content-Security-Policy of an HTML page that sets none of its own."""
    media = media_origins()
    return (
        "default-src 'self'; img-src 'self' data:; "
        f"media-src 'self' blob: {media}; connect-src 'self' {media}; "
        "worker-src 'self' blob:; object-src 'none'; frame-ancestors 'self'; "
        "base-uri 'none'; form-action 'self'"
    )


def add_security_headers(response: Response) -> Response:
    """Fill in the security headers the view or its blueprint left unset."""
    headers = response.headers
    if "Content-Security-Policy" not in headers:
        is_page = response.mimetype == "text/html" and not request.path.startswith("/api/")
        headers["Content-Security-Policy"] = page_policy() if is_page else LOCKED_DOWN
    headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    max_age = current_app.config.get("HSTS_MAX_AGE", 0)
    if max_age > 0:
        headers.setdefault("Strict-Transport-Security", f"max-age={max_age}; includeSubDomains")
    return response


class BoundedIntegerConverter(IntegerConverter):
    """``<int:...>``: a number past MAX_ID becomes 0, an id no row has, so the view answers
    its own 404 (with its slug) instead of the database driver failing on the number."""

    def to_python(self, value: str) -> int:
        """The number, or 0 when it cannot be an id."""
        number = super().to_python(value)
        return number if number <= MAX_ID else 0


def _has_nul() -> bool:
    """Whether the request carries a NUL character anywhere PostgreSQL could be given it."""
    if "\x00" in request.path:
        return True
    if any("\x00" in key or "\x00" in value for key, value in request.args.items(multi=True)):
        return True
    if request.mimetype == "application/x-www-form-urlencoded":
        # Read (and cached, so the form still parses) rather than parsed here.
        data = request.get_data(cache=True)
        return b"%00" in data or b"\x00" in data
    if request.is_json:
        return b"\\u0000" in request.get_data(cache=True)
    return False


def refuse_nul_characters() -> None:
    """Refuse (400) a request with a NUL character in its path, arguments, form or JSON."""
    if _has_nul():
        from backend.core.i18n import gettext as _

        error = BadRequest()
        error.data = {
            "error": "nul_character",
            "message": _("请求中含有不允许的空字符（NUL），未处理。"),
        }
        raise error


def init_security(app: Flask) -> None:
    """Bound integer path segments (before any route is added), refuse NUL characters and
    send the security headers on every response of *app*."""
    from flask_smorest.spec.plugins import integerconverter2paramschema

    from backend.extensions import api

    app.url_map.converters["int"] = BoundedIntegerConverter
    api.register_converter(BoundedIntegerConverter, integerconverter2paramschema)
    app.before_request(refuse_nul_characters)
    app.after_request(add_security_headers)
