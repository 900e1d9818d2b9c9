"""The registry for the mini-program: finding a workshop on site, its products, and the
zones with their brands (the ``directory`` and ``zones`` tags).

Inspectors look a workshop up by name or registration number before sampling; operators
pick the product when they open a batch. The rules are :mod:`backend.registry.lookup`'s.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from backend.registry import lookup, services
from backend.registry.schemas import ZoneSchema
from miniprogram_api.auth import current_user

blp = Blueprint(
    "directory",
    __name__,
    url_prefix="",
    description="Finding a workshop (inspectors, regulators) and a workshop's products",
)


class WorkshopSearchArgs(Schema):
    """What to look for, and which page."""

    q = fields.String(
        load_default="",
        validate=validate.Length(max=100),
        metadata={"description": "Part of the name, registration number, operator or address."},
    )
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=50))


class FoundWorkshopSchema(Schema):
    """A workshop as an inspector picks it from a list."""

    id = fields.Integer()
    name = fields.String()
    registration_no = fields.String()
    operator_name = fields.String()
    address = fields.String()
    township = fields.String()
    status = fields.String()


class WorkshopSearchPageSchema(Schema):
    """A page of workshops."""

    items = fields.List(fields.Nested(FoundWorkshopSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class ProductSchema(Schema):
    """A product of the workshop, as chosen when opening a batch or taking a sample."""

    id = fields.Integer()
    name = fields.String()
    specification = fields.String()
    category_code = fields.String()
    shelf_life_days = fields.Integer(allow_none=True)


class ProductListSchema(Schema):
    """The workshop's active products."""

    items = fields.List(fields.Nested(ProductSchema))


@blp.route("/workshops")
class Workshops(MethodView):
    """Finding a workshop."""

    @blp.arguments(WorkshopSearchArgs, location="query")
    @blp.response(200, WorkshopSearchPageSchema)
    def get(self, args):
        """Find workshops by name, registration number, operator or address (inspectors,
        regulators)."""
        found = lookup.find_workshops(
            args["q"], by=current_user(), page=args["page"], per_page=args["per_page"]
        )
        return {
            "items": found.items,
            "page": found.page,
            "per_page": found.per_page,
            "total": found.total,
        }


@blp.route("/workshops/<int:workshop_id>/products")
class WorkshopProducts(MethodView):
    """A workshop's products."""

    @blp.response(200, ProductListSchema)
    def get(self, workshop_id):
        """List the workshop's active products (its operators, inspectors, regulators)."""
        return {"items": lookup.workshop_products(workshop_id, by=current_user())}


zones_blp = Blueprint("zones", __name__, url_prefix="/zones", description="Zones and their brands")


@zones_blp.route("")
class Zones(MethodView):
    """The processing zones."""

    @zones_blp.response(200, ZoneSchema(many=True))
    def get(self):
        """List the processing zones with their brands."""
        return services.list_zones()


@zones_blp.route("/<code>")
class ZoneByCode(MethodView):
    """One processing zone."""

    @zones_blp.response(200, ZoneSchema)
    def get(self, code: str):
        """Show one processing zone with its brands and workshop count."""
        return services.get_zone(code)
