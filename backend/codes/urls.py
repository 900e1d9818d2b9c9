"""The links printed in QR codes."""

from __future__ import annotations

from flask import current_app


def public_url(path: str) -> str:
    """Absolute URL on the public host, e.g. https://yipin.example.cn/t/ABC."""
    config = current_app.config
    return f"{config['PUBLIC_SCHEME']}://{config['PUBLIC_HOST']}{path}"


def scan_url(code: str) -> str:
    """The printed link of a unit code: ``https://<PUBLIC_HOST>/t/<code>``."""
    return public_url(f"/t/{code}")


def digital_link(gtin14: str, batch_no: str, code: str) -> str:
    """The GS1 Digital Link form of a unit code: /01/<gtin>/10/<batch>/21/<code>."""
    return public_url(f"/01/{gtin14}/10/{batch_no}/21/{code}")
