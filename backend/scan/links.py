"""The links a consumer's scanner hands us: a printed link (the mini-program's `q`), a GS1
Digital Link, and the check that a Digital Link's GTIN and batch are the code's own.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from flask import current_app

from backend.codes.gs1 import is_valid_gtin14
from backend.codes.models import ScanChannel
from backend.codes.services import parse_code
from backend.core.errors import NotFound, ValidationError
from backend.core.i18n import gettext as _

MAX_LINK_LENGTH = 2048
DIGITAL_LINK = re.compile(r"^/01/(\d{14})/10/([^/]{1,20})/21/([^/]{1,64})/?$")


def parse_link(link: str) -> tuple[str, ScanChannel, tuple[str, str] | None]:
    """The code in a printed link (as the mini-program's `q` gives it).

    Returns the code, the channel, and (gtin, batch number) for a GS1 Digital Link. Links of
    other hosts are refused.
    """
    if not isinstance(link, str) or not link or len(link) > MAX_LINK_LENGTH:
        raise ValidationError(_("链接无效。"), slug="bad_link")
    if "%" in link:  # `q` arrives URL-encoded; decoding twice is harmless for our links
        link = unquote(link)
    parts = urlsplit(link.strip())
    host = current_app.config["PUBLIC_HOST"].lower()
    if parts.scheme not in ("http", "https") or parts.netloc.lower() != host:
        raise ValidationError(_("这不是本平台的追溯码链接。"), slug="foreign_link")
    if parts.path.startswith("/t/"):
        return parse_code(parts.path[3:], strict=True), ScanChannel.MINIPROGRAM, None
    match = DIGITAL_LINK.match(parts.path)
    if match:
        gtin, batch_no, code = match.groups()
        check_gtin(gtin)
        return parse_code(code, strict=True), ScanChannel.MINIPROGRAM, (gtin, batch_no)
    raise ValidationError(_("这不是本平台的追溯码链接。"), slug="foreign_link")


def check_gtin(gtin: str) -> None:
    """Refuse a GTIN-14 with a wrong check digit."""
    if not is_valid_gtin14(gtin):
        raise ValidationError(_("商品条码（GTIN）校验位错误。"), slug="bad_gtin")


def check_link(view: dict, link: tuple[str, str]) -> None:
    """NotFound unless a Digital Link's (gtin, batch number), checked by :func:`parse_link`,
    are the code's own."""
    gtin, batch_no = link
    if view["product"]["gtin"] != gtin or view["batch"]["batch_no"] != batch_no:
        raise NotFound(_("此码不是本平台发放的追溯码。"), slug="code_not_found")
