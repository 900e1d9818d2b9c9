"""The H5 scan page: what any phone browser shows for a printed code."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from backend.codes import scan as scans
from backend.codes.models import ScanChannel
from backend.core.errors import NotFound, ValidationError
from backend.extensions import limiter
from miniprogram_api.scan import client_identity, failed, failure_limit, scan_limit

blueprint = Blueprint("scan_page", __name__, template_folder="templates")


def _page(code: str, channel: ScanChannel, link: tuple[str, str] | None = None):
    """Render the scan page, or the "not from this platform" page with 404."""
    try:
        result = scans.scan(code, channel=channel, visitor=client_identity(), link=link)
    except (NotFound, ValidationError):
        return render_template("scan/not_found.html"), 404
    return render_template("scan/page.html", r=result, v=result.view)


@blueprint.get("/t/<path:code>")
@limiter.limit(scan_limit, scope="scan")
@limiter.limit(failure_limit, scope="scan-failures", deduct_when=failed)
def by_code(code: str):
    """The page a printed QR code opens outside WeChat."""
    return _page(code, ScanChannel.H5)


@blueprint.get("/01/<gtin>/10/<batch_no>/21/<path:code>")
@limiter.limit(scan_limit, scope="scan")
@limiter.limit(failure_limit, scope="scan-failures", deduct_when=failed)
def by_digital_link(gtin: str, batch_no: str, code: str):
    """The same page for the GS1 Digital Link form of a code."""
    return _page(code.rstrip("/"), ScanChannel.DIGITAL_LINK, (gtin, batch_no))


def wechat_verification():
    """WeChat's domain verification file for "scan ordinary link QR to open mini-program"."""
    body = current_app.config["WECHAT_VERIFY_CONTENT"]
    return body, 200, {"Content-Type": "text/plain; charset=utf-8"}


def register_verification_file(app) -> None:
    """Serve the verification file at its configured path (it must sit under /t/)."""
    path = app.config.get("WECHAT_VERIFY_PATH")
    if path:
        app.add_url_rule(path, "wechat_verification", wechat_verification)
