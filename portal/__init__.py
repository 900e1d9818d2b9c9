"""Server-rendered pages: the public site, the H5 scan page and (later) the console."""

from __future__ import annotations

from flask import Flask
from flask_babel import get_locale


def register(app: Flask) -> None:
    """Register the portal's blueprints and template helpers."""
    from portal.public import blueprint as public

    app.register_blueprint(public)
    app.jinja_env.globals["localized"] = localized


def localized(obj, field: str) -> str:
    """``obj.<field>_en`` when the page is in English and it is filled, else ``_zh``."""
    if str(get_locale()) == "en":
        english = getattr(obj, f"{field}_en", "")
        if english:
            return english
    return getattr(obj, f"{field}_zh")
