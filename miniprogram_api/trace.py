"""Full traces and EPCIS export for regulators: backward from a batch or a code, forward from
a raw lot or a supplier, and a batch's EPCIS 2.0 document (JSON-LD)."""

from __future__ import annotations

import json

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate, validates_schema
from marshmallow import ValidationError as SchemaError

from backend.accounts.models import Role
from backend.accounts.permissions import require_role
from backend.core.i18n import gettext as _
from backend.samples.holds import REGULATORS_ONLY
from backend.trace import epcis, graph
from miniprogram_api.auth import current_user

blp = Blueprint(
    "trace",
    __name__,
    url_prefix="/trace",
    description="Backward and forward traces and EPCIS 2.0 export (regulators)",
)


class BackwardArgs(Schema):
    """Where a backward trace starts: a batch number or a unit code (one of them)."""

    batch = fields.String(validate=validate.Length(min=1, max=40))
    code = fields.String(validate=validate.Length(min=1, max=40))

    @validates_schema
    def one_start(self, data, **kwargs):
        """Exactly one of batch and code."""
        if len([k for k in ("batch", "code") if data.get(k)]) != 1:
            raise SchemaError("give either batch or code", "batch")


class ForwardArgs(Schema):
    """Where a forward trace starts: a raw lot or a supplier (ids, one of them)."""

    lot = fields.Integer(strict=False, validate=validate.Range(min=1, max=2**31 - 1))
    supplier = fields.Integer(strict=False, validate=validate.Range(min=1, max=2**31 - 1))

    @validates_schema
    def one_start(self, data, **kwargs):
        """Exactly one of lot and supplier."""
        if len([k for k in ("lot", "supplier") if data.get(k)]) != 1:
            raise SchemaError("give either lot or supplier", "lot")


class EpcisArgs(Schema):
    """The batch to export."""

    batch = fields.String(required=True, validate=validate.Length(min=1, max=40))


class TraceSchema(Schema):
    """A trace: its direction and start, and every supplier, lot, batch, shipment and buyer."""

    direction = fields.String()
    origin = fields.String()
    suppliers = fields.List(fields.Dict())
    lots = fields.List(fields.Dict())
    batches = fields.List(fields.Dict())
    shipments = fields.List(fields.Dict())
    buyers = fields.List(fields.Dict())
    code_total = fields.Integer()


@blp.route("/backward")
class Backward(MethodView):
    """Backward trace."""

    @blp.arguments(BackwardArgs, location="query")
    @blp.response(200, TraceSchema)
    def get(self, args):
        """From a batch or a unit code back to its raw lots and their suppliers."""
        require_role(
            current_user(), Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulators_only"
        )
        if args.get("batch"):
            batch = graph.batch_by_no(args["batch"])
        else:
            batch = graph.batch_by_code(args["code"])
        return graph.backward(batch).as_dict()


@blp.route("/forward")
class Forward(MethodView):
    """Forward trace."""

    @blp.arguments(ForwardArgs, location="query")
    @blp.response(200, TraceSchema)
    def get(self, args):
        """From a raw lot or a supplier forward to batches, shipments and buyers."""
        require_role(
            current_user(), Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulators_only"
        )
        if args.get("lot"):
            return graph.forward_from_lot(graph.lot_by_id(args["lot"])).as_dict()
        return graph.forward_from_supplier(graph.supplier_by_id(args["supplier"])).as_dict()


@blp.route("/epcis")
class EpcisDocument(MethodView):
    """EPCIS export."""

    @blp.arguments(EpcisArgs, location="query")
    @blp.response(
        200,
        {"type": "object"},
        content_type=epcis.MEDIA_TYPE,
        description="An EPCIS 2.0 EPCISDocument (JSON-LD).",
    )
    def get(self, args):
        """A batch's EPCIS 2.0 document: receiving, transformation, commissioning,
        inspecting and shipping events."""
        require_role(
            current_user(), Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulators_only"
        )
        document = epcis.batch_document(graph.batch_by_no(args["batch"]))
        body = json.dumps(document, ensure_ascii=False, indent=2)
        return Response(body, mimetype=epcis.MEDIA_TYPE, headers={"Cache-Control": "no-store"})
