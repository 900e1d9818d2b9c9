"""The JSON API under /api/v1 for the mini-program (consumers, operators, inspectors).

Built with flask-smorest: the schemas that validate requests also generate
/api/v1/openapi.json.
"""

from __future__ import annotations

from flask import Flask

from backend.extensions import api


def register(app: Flask) -> None:
    """Register every API blueprint under /api/v1."""
    from miniprogram_api.codes import blp as codes
    from miniprogram_api.labels import blp as labels
    from miniprogram_api.scan import blp as scan
    from miniprogram_api.scan import ping
    from miniprogram_api.zones import blp as zones

    for blueprint in (zones, scan, ping, codes, labels):
        api.register_blueprint(blueprint, url_prefix=f"/api/v1{blueprint.url_prefix or ''}")
