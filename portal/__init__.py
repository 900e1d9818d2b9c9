"""Server-rendered pages: the public site, the H5 scan page and the console (/console)."""

from __future__ import annotations

from flask import Flask
from flask_babel import get_locale


def register(app: Flask) -> None:
    """Register the portal's blueprints and template helpers."""
    from portal import console
    from portal.cameras import blueprint as live
    from portal.public import blueprint as public
    from portal.resolver import blueprint as resolver
    from portal.scan import blueprint as scan
    from portal.scan import register_verification_file

    app.register_blueprint(public)
    app.register_blueprint(live)
    app.register_blueprint(scan)
    app.register_blueprint(resolver)
    register_verification_file(app)
    console.register(app)
    app.jinja_env.globals["localized"] = localized


def localized(obj, field: str) -> str:
    """``obj.<field>_en`` when the page is in English and it is filled, else ``_zh``."""
    if str(get_locale()) == "en":
        english = getattr(obj, f"{field}_en", "")
        if english:
            return english
    return getattr(obj, f"{field}_zh")
