"""Zones and brands: what the mini-program's home screen shows."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from backend.registry import services
from backend.registry.schemas import ZoneSchema

blp = Blueprint("zones", __name__, url_prefix="/zones", description="Zones and their brands")


@blp.route("")
class Zones(MethodView):
    """The processing zones."""

    @blp.response(200, ZoneSchema(many=True))
    def get(self):
        """List the processing zones with their brands."""
        return services.list_zones()


@blp.route("/<code>")
class ZoneByCode(MethodView):
    """One processing zone."""

    @blp.response(200, ZoneSchema)
    def get(self, code: str):
        """Show one processing zone with its brands and workshop count."""
        return services.get_zone(code)
