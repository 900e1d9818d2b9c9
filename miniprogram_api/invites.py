"""Invite codes: a regulator issues one for a workshop, an operator redeems it."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from backend.accounts import invites
from backend.accounts.models import MemberRole
from miniprogram_api.accounts import WorkshopLinkSchema
from miniprogram_api.auth import current_user
from miniprogram_api.idempotency import idempotent

blp = Blueprint("invites", __name__, url_prefix="", description="Binding operators to workshops")


class CreateInviteSchema(Schema):
    """What the code grants and for how long."""

    role = fields.Enum(MemberRole, by_value=True, load_default=MemberRole.STAFF)
    days = fields.Integer(
        strict=True,
        load_default=invites.DEFAULT_DAYS,
        validate=validate.Range(min=invites.MIN_DAYS, max=invites.MAX_DAYS),
        metadata={"description": "Days until the code expires (1 to 30)."},
    )


class WorkshopRefSchema(Schema):
    """The workshop a code is for."""

    id = fields.Integer()
    name = fields.String()
    registration_no = fields.String()


class IssuedInviteSchema(Schema):
    """A new invite code: the only time its text is shown."""

    id = fields.Integer(attribute="invite.id")
    code = fields.String(metadata={"description": "8 characters; give it to the operator."})
    display = fields.String(metadata={"description": "The code in two groups of four."})
    role = fields.Enum(MemberRole, by_value=True)
    expires_at = fields.DateTime()
    workshop = fields.Nested(WorkshopRefSchema)


class RedeemSchema(Schema):
    """The code the operator was given (spaces and dashes are ignored)."""

    code = fields.String(
        required=True, validate=validate.Length(min=1, max=32), metadata={"example": "K7QM 4XPA"}
    )


class RedemptionSchema(Schema):
    """The workshop you now belong to, and your role in it."""

    workshop = fields.Nested(WorkshopLinkSchema)


@blp.route("/workshops/<registration_no>/invites")
class WorkshopInvites(MethodView):
    """Invite codes of a workshop.

    Not idempotent on purpose: a replay would have to keep the plaintext code.
    """

    @blp.arguments(CreateInviteSchema)
    @blp.response(201, IssuedInviteSchema)
    def post(self, args, registration_no):
        """Issue a one-time invite code for a workshop (regulators only)."""
        user = current_user()
        issued = invites.create_invite(registration_no, args["role"], args["days"], by=user)
        return issued


@blp.route("/invites/redeem")
class RedeemInvite(MethodView):
    """Using an invite code."""

    decorators = [idempotent]

    @blp.arguments(RedeemSchema)
    @blp.response(200, RedemptionSchema)
    def post(self, args):
        """Become a workshop's owner or staff with the invite code a regulator gave you."""
        result = invites.redeem(args["code"], by=current_user())
        return result
