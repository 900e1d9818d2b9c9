"""Server-rendered pages: the public site, the H5 scan page and (later) the console."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Register the portal's blueprints."""
    from portal.public import blueprint as public

    app.register_blueprint(public)
