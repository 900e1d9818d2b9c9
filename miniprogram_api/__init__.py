"""The JSON API under /api/v1 for the mini-program (consumers, operators, inspectors).

Built with flask-smorest: the schemas that validate requests also generate
/api/v1/openapi.json. Every module of this package is one part of the API and names its
flask-smorest blueprints in ``blueprints`` (or defines a single ``blp``); adding a module is
all it takes to mount it.
"""

from __future__ import annotations

import importlib
import pkgutil

from flask import Flask

from backend.extensions import api


def blueprints() -> list:
    """The blueprints of every module in this package, in module-name order."""
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        found.extend(
            getattr(module, "blueprints", None) or filter(None, [getattr(module, "blp", None)])
        )
    return found


def register(app: Flask) -> None:
    """Register every API blueprint under /api/v1."""
    for blueprint in blueprints():
        api.register_blueprint(blueprint, url_prefix=f"/api/v1{blueprint.url_prefix or ''}")
