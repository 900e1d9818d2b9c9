"""The JSON API under /api/v1 for the mini-program (consumers, operators, inspectors).

Built with flask-smorest: the schemas that validate requests also generate
/api/v1/openapi.json. One module per feature (``miniprogram_api/<feature>.py``, the same
word as ``backend/<feature>/``); :func:`blueprints` names every blueprint, in the order the
OpenAPI document lists their tags.
"""

from __future__ import annotations

from flask import Flask

from backend.extensions import api


def blueprints() -> list:
    """Every blueprint of the API, in the order of the OpenAPI document's tags."""
    from miniprogram_api import (
        accounts,
        batches,
        codes,
        complaints,
        ledgers,
        registry,
        samples,
        scan,
        trace,
        uploads,
    )

    return [
        batches.blp,
        codes.blp,
        complaints.blp,
        registry.blp,
        accounts.invites_blp,
        codes.labels_blp,
        ledgers.blp,
        accounts.blp,
        samples.blp,
        scan.blp,
        scan.ping,
        samples.self_checks_blp,
        trace.blp,
        uploads.blp,
        registry.zones_blp,
    ]


def register(app: Flask) -> None:
    """Register every API blueprint under /api/v1."""
    for blueprint in blueprints():
        api.register_blueprint(blueprint, url_prefix=f"/api/v1{blueprint.url_prefix or ''}")
