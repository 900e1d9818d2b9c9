"""The scan path: one interface, two ways through it.

Every channel's view (portal/scan.py for /t/<code>, miniprogram_api/scan.py, the GS1
resolver in portal/resolver.py) calls :func:`scan_path` once, with the limits, the visitor
and whether it is a scan at all read here from its HTTP request. Which way it takes is chosen
when the app starts (backend/scan/setup.py):

- :class:`backend.scan.direct.DirectPath` — the database only (the embedded default): the
  scan is numbered and written in one transaction, and each worker's copy of the batch's
  view is checked against the generations read in the same statement;
- :class:`backend.scan.on_redis.RedisPath` — when REDIS_URL is set: one script call per
  scan, events written off the request path; it falls back to the direct path while Redis
  does not answer.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from functools import wraps

from flask import current_app, g, request

from backend.codes.models import ScanChannel
from backend.codes.urls import digital_link, scan_url
from backend.core import ratelimit
from backend.core.errors import DomainError
from backend.core.i18n import N_
from backend.scan.schemas import answer_json
from backend.scan.visitors import is_link_preview


@dataclass(frozen=True)
class ScanRequest:
    """One request for a code's story: what the channel's view knows of it.

    *visitor* names who scans (a login token, the page's visitor cookie, or the client
    address and user agent) and *address* is the client's address: only salted hashes of
    them are kept. *link* is (gtin, batch number) from a GS1 Digital Link. *limits* are the
    request's rate limits, not yet counted. With *record* false (HEAD, a link-preview
    crawler) the code is answered but the scan neither counted nor recorded.
    """

    code: str
    channel: ScanChannel
    visitor: str
    address: str | None = None
    link: tuple[str, str] | None = None
    limits: ratelimit.Deferred | None = None
    record: bool = True


@dataclass(frozen=True)
class CodeInfo:
    """What the scan path needs to know of a code (cached)."""

    id: int
    code: str
    batch_id: int
    kind: str
    serial: int


@dataclass
class ViewEntry:
    """A batch's view as a worker holds it: the view (as the answer's schema dumps it,
    backend/scan/story.py), the generations it was read under, and its rendered pages."""

    view: dict
    generations: tuple[bytes, bytes]
    expires: float
    pages: dict[str, list[str]] | None = field(default_factory=dict)


@dataclass(frozen=True)
class ScanResult:
    """A scan's answer: the code, the alerts, this scan, and the batch's view."""

    code: CodeInfo
    alerts: list[dict]
    scan: dict
    entry: ViewEntry

    @property
    def view(self) -> dict:
        """The batch's consumer view."""
        return self.entry.view

    @property
    def pages(self) -> dict[str, list[str]] | None:
        """This worker's rendered pages of the batch (None: kept in the shared cache)."""
        return self.entry.pages

    def to_json(self) -> str:
        """The API body, built by the schema that documents it (backend/scan/schemas.py)."""
        head = {"code": self.code_section(), "alerts": self.alerts, "scan": self.scan}
        return answer_json(head, self.entry.view)

    def code_section(self) -> dict:
        """The code section."""
        gtin = self.view["product"]["gtin"]
        batch_no = self.view["batch"]["batch_no"]
        return {
            "code": self.code.code,
            "kind": self.code.kind,
            "serial": self.code.serial,
            "url": scan_url(self.code.code),
            "digital_link": digital_link(gtin, batch_no, self.code.code) if gtin else None,
        }


class ScanPath(ABC):
    """The scan path's one interface."""

    @abstractmethod
    def scan(self, request: ScanRequest) -> ScanResult:
        """Resolve the code, count and record this scan (unless *request.record* is
        false), and answer with the batch's view. NotFound (VoidedCode for a voided code),
        ValidationError or RateLimited otherwise."""

    @abstractmethod
    def batch_view(self, batch_id: int) -> dict:
        """The batch's consumer view (the lot page of a Digital Link)."""


def scan_path() -> ScanPath:
    """The current app's scan path."""
    return current_app.extensions["scan_path"]


# -- what every channel's view shares: its limits, who scans, whether it is a scan ------


def rate_limited(view, *, deferred: bool = False):
    """Limit scans per client, and failed look-ups (bad or unknown codes) far harder.

    A client past the failure limit is refused before anything is looked up, so codes
    cannot be guessed by brute force. Only the counters are written for a bad request.
    With *deferred* the limits are left to the scan (:func:`scan_limits`), which counts them
    in its one Redis round trip, or before its first look-up.
    """

    @wraps(view)
    def guarded(*args, **kwargs):
        config = current_app.config
        limits = g.scan_limits = ratelimit.Deferred(
            client=request.remote_addr or "-",
            limits=config["SCAN_RATE_LIMIT"],
            failure_scope="scan-failures",
            failure_limits=config["SCAN_FAILURE_LIMIT"],
            scope="scan",
            message=N_("请求过于频繁，请稍后再试。"),
        )
        if not deferred:
            limits.apply()
        try:
            response = view(*args, **kwargs)
        except DomainError as exc:
            if exc.status_code in (404, 422):
                failed(limits)
            raise
        if isinstance(response, tuple) and response[1] == 404:
            failed(limits)
        limits.apply()  # (counted already on every path that answered)
        return response

    return guarded


def scan_limited(view):
    """:func:`rate_limited`, the limits counted by the scan itself."""
    return rate_limited(view, deferred=True)


def failed(limits: ratelimit.Deferred) -> None:
    """Count a failed look-up (a client already past the failure limit gets the 429)."""
    limits.apply()
    ratelimit.count(limits.failure_scope, limits.client, limits.failure_limits)


def scan_limits() -> ratelimit.Deferred | None:
    """This request's limits, when a scan view defers them to the scan."""
    return g.get("scan_limits")


def client_identity() -> str:
    """Who is scanning, as far as we can tell without a look-up (hashed before storing):
    a mini-program user's login token (it stands for their openid), else the client address
    and user agent. It only ever decides whether a scan is this visitor's own repeat, so a
    client that sends something else fools no one but itself."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer ") and len(header) > 7:
        return "token|" + hashlib.sha256(header[7:].strip().encode()).hexdigest()
    return f"{request.remote_addr}|{request.user_agent.string[:200]}"


def not_a_scan() -> bool:
    """Whether this request is answered without being recorded as a scan: a HEAD request,
    or a link-preview fetcher or search crawler (backend/scan/data/link_preview_agents.txt)
    — nobody held the product."""
    return request.method == "HEAD" or is_link_preview(request.user_agent.string)
