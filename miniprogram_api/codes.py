"""Operators issue and void the codes of their own batches."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from backend.codes import services
from backend.codes.models import CodeKind
from backend.codes.services import MAX_CODES_PER_CALL
from backend.core.errors import ValidationError
from miniprogram_api.auth import current_user
from miniprogram_api.idempotency import idempotent

blp = Blueprint("codes", __name__, url_prefix="", description="Issuing and voiding codes")


class IssueSchema(Schema):
    """How many codes to issue."""

    count = fields.Integer(
        required=True,
        validate=validate.Range(min=1, max=MAX_CODES_PER_CALL),
        metadata={"example": 200},
    )
    kind = fields.Enum(CodeKind, by_value=True, load_default=CodeKind.UNIT)


class IssuanceSchema(Schema):
    """A run of issued codes."""

    id = fields.Integer()
    batch_no = fields.String(attribute="batch.batch_no")
    kind = fields.String()
    count = fields.Integer()
    first_serial = fields.Integer()
    last_serial = fields.Function(lambda i: i.first_serial + i.count - 1)
    created_at = fields.DateTime()


class VoidSchema(Schema):
    """One code, or a serial range of a batch, and why."""

    code = fields.String(validate=validate.Length(max=64))
    batch_no = fields.String(validate=validate.Length(max=40))
    first = fields.Integer(validate=validate.Range(min=1))
    last = fields.Integer(validate=validate.Range(min=1))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))


class VoidResultSchema(Schema):
    """How many codes were voided."""

    voided = fields.Integer()


@blp.route("/batches/<batch_no>/codes")
class BatchCodes(MethodView):
    """The codes of a batch."""

    decorators = [idempotent]

    @blp.arguments(IssueSchema)
    @blp.response(201, IssuanceSchema)
    def post(self, args, batch_no):
        """Issue codes for one of your batches (1 to 100,000 per call)."""
        user = current_user()
        issuance = services.issue_codes(
            services.get_batch(batch_no), args["count"], kind=args["kind"], by=user
        )
        return issuance


@blp.route("/codes/void")
class VoidCodes(MethodView):
    """Voiding codes."""

    @blp.arguments(VoidSchema)
    @blp.response(200, VoidResultSchema)
    def post(self, args):
        """Void one code, or a serial range of one of your batches (owners only)."""
        user = current_user()
        if args.get("code"):
            result = services.void_code(args["code"], args["reason"], by=user)
        elif args.get("batch_no") and args.get("first") and args.get("last"):
            batch = services.get_batch(args["batch_no"])
            result = services.void_range(
                batch, args["first"], args["last"], args["reason"], by=user
            )
        else:
            raise ValidationError(
                "请提供码，或批次号及起止序号。",
                slug="nothing_to_void",
                errors={"code": ["give code, or batch_no with first and last"]},
            )
        return result


@blp.route("/codes/<code>/wxacode.png")
class WxaCode(MethodView):
    """The mini-program code image of a code."""

    @blp.response(200, content_type="image/png")
    @blp.alt_response(503, description="WeChat is not configured or not reachable")
    def get(self, code):
        """The mini-program code (scene = the code), an alternative label for operators."""
        image = services.wxa_code_image(code, by=current_user())
        return Response(image, mimetype="image/png")
