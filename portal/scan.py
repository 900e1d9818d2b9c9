"""The H5 scan page: what any phone browser shows for a printed code."""

from __future__ import annotations

import re
import secrets

from flask import Blueprint, current_app, make_response, render_template, request
from markupsafe import Markup

from backend.codes.models import ScanChannel
from backend.core.cache import cache
from backend.core.errors import NotFound, ValidationError
from backend.core.i18n import current_locale_id
from backend.core.i18n import gettext as _
from backend.scan import (
    ScanRequest,
    ScanResult,
    VoidedCode,
    not_a_scan,
    page_key,
    scan_limited,
    scan_limits,
    scan_path,
)

blueprint = Blueprint("scan_page", __name__, template_folder="templates")


MARKER = "<!--yipin:this-scan-->"
VISITOR = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
VISITOR_COOKIE_AGE = 365 * 86400


def page_visitor() -> tuple[str, str | None]:
    """Who is scanning: the first-party visitor cookie (a random id), and a new id to set
    when the browser has none. The cookie only ever decides whether a scan is this
    visitor's own repeat; it weighs nothing in a counterfeit warning."""
    value = request.cookies.get(current_app.config["SCAN_VISITOR_COOKIE"], "")
    if VISITOR.match(value):
        return f"cookie|{value}", None
    fresh = secrets.token_urlsafe(16)
    return f"cookie|{fresh}", fresh


def _page(code: str, channel: ScanChannel):
    """Render the scan page, or the "not from this platform" page with 404 (naming the
    evidence when the code was voided). HEAD requests and link-preview crawlers get the
    page without being counted as scans."""
    record = not not_a_scan()
    visitor, fresh = page_visitor()
    scan = ScanRequest(
        code,
        channel,
        visitor=visitor,
        address=request.remote_addr,
        limits=scan_limits(),
        record=record,
    )
    try:
        result = scan_path().scan(scan)
    except VoidedCode as voided:
        return render_template("scan/not_found.html", evidence=voided.message), 404
    except (NotFound, ValidationError):
        return render_template("scan/not_found.html"), 404
    head, tail = _cached_page(result)
    response = make_response(head + this_scan_html(result) + tail)
    if fresh and record:
        response.set_cookie(
            current_app.config["SCAN_VISITOR_COOKIE"],
            fresh,
            max_age=VISITOR_COOKIE_AGE,
            httponly=True,
            samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response


def _cached_page(result: ScanResult) -> list[str]:
    """The page around the per-scan part, rendered once per batch and language (kept with
    this worker's copy of the view when the scan has one, else in the shared cache).

    Whether the batch is past its shelf life is this scan's (it changes with the day, not
    with the batch): a copy rendered the other way is rendered again.
    """
    locale = current_locale_id()
    expired = any(alert["kind"] == "expired" for alert in result.alerts)
    if result.pages is not None:
        slot = f"{locale}:expired" if expired else locale
        parts = result.pages.get(slot)
        if parts is None:
            parts = result.pages[slot] = _render(result, expired)
        return parts[:2]
    key = page_key(result.code.batch_id, locale)
    parts = cache().get(key)
    if parts is None or len(parts) != 3 or parts[2] != expired:
        parts = _render(result, expired)
        cache().set(key, parts, current_app.config["SCAN_VIEW_TTL"])
    return parts[:2]


def _render(result: ScanResult, expired: bool) -> list:
    """The page rendered and cut at the per-scan part: [head, tail, expired]."""
    html = render_template("scan/page.html", v=result.view, expired=expired, marker=Markup(MARKER))
    return [*html.split(MARKER, 1), expired]


def this_scan_html(result: ScanResult) -> str:
    """Alerts first, then this scan's number and the repeat-scan notice (escaped HTML)."""
    html = []
    for alert in result.alerts:
        reason = Markup("<p>{}</p>").format(alert["reason"]) if alert["reason"] else ""
        html.append(
            Markup(
                '<section class="alert alert-{}" role="alert"><strong>{}</strong>{}</section>'
            ).format(alert["level"], alert["message"], reason)
        )
    scan = result.scan
    if not scan.get("recorded", True):
        return "".join(html)  # not a scan: nothing to say about this one
    if scan["notice"]:
        html.append(
            Markup('<section class="scan-info"><p class="notice">{}</p>').format(scan["notice"])
        )
        if scan.get("visitor_repeat"):
            html.append(Markup('<p class="yours">{}</p>').format(_("您此前查询过此码。")))
    else:
        html.append(
            Markup('<section class="scan-info"><p class="first">{}</p>').format(
                _("您是第一位查询此码的消费者。")
            )
        )
    html.append(
        Markup('<p class="count">{} · {} <code>{}</code></p></section>').format(
            _("本次为第 %(n)s 次查询", n=scan["number"]), _("追溯码"), result.code.code
        )
    )
    return "".join(html)


@blueprint.get("/t/<path:code>")
@scan_limited
def by_code(code: str):
    """The page a printed QR code opens outside WeChat.

    GS1 Digital Link URIs (/01/...) are answered by the resolver (portal/resolver.py), whose
    default link for a unit code is this page with ``via=dl`` (counted as a Digital Link scan).
    """
    channel = ScanChannel.DIGITAL_LINK if request.args.get("via") == "dl" else ScanChannel.H5
    return _page(code, channel)


def wechat_verification():
    """WeChat's domain verification file for "scan ordinary link QR to open mini-program"."""
    body = current_app.config["WECHAT_VERIFY_CONTENT"]
    return body, 200, {"Content-Type": "text/plain; charset=utf-8"}


def register_verification_file(app) -> None:
    """Serve the verification file at its configured path (it must sit under /t/)."""
    path = app.config.get("WECHAT_VERIFY_PATH")
    if path:
        app.add_url_rule(path, "wechat_verification", wechat_verification)
