"""Accounts: logging in with WeChat, logging out, binding a phone, who am I, and invite
codes that bind operators to workshops (the ``auth`` and ``invites`` tags).

``POST /auth/dev-login`` exists only in a development app running in debug: its route is
added when the blueprint is registered on such an app and never otherwise, and the view
checks again on every request, so no setting turns it on in production.
"""

from __future__ import annotations

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from werkzeug.exceptions import NotFound

from backend.accounts import invites, login
from backend.accounts.models import MemberRole, Role
from miniprogram_api.auth import current_user
from miniprogram_api.idempotency import idempotent

blp = Blueprint("auth", __name__, url_prefix="", description="Login, logout and your account")

# What WeChat hands the mini-program: short printable ASCII, no spaces.
_TOKENISH = validate.Regexp(r"^[\x21-\x7e]+$", error="must be printable ASCII without spaces")


class WeChatLoginSchema(Schema):
    """The code from ``wx.login()``."""

    code = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=128), _TOKENISH],
        metadata={"example": "0a3Xyz000abcDE1f2Gh30gH1Ij4Xyz0q"},
    )


class DevLoginSchema(Schema):
    """Whom to log in as (development only)."""

    openid = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=64), _TOKENISH],
        metadata={"example": "dev-operator-1"},
    )


class PhoneSchema(Schema):
    """The code from the ``getPhoneNumber`` button."""

    code = fields.String(required=True, validate=[validate.Length(min=1, max=128), _TOKENISH])


class WorkshopLinkSchema(Schema):
    """A workshop you work in."""

    id = fields.Integer()
    name = fields.String()
    registration_no = fields.String()
    role = fields.Enum(MemberRole, by_value=True)


class ProfileSchema(Schema):
    """Your account (the phone number itself and WeChat's session key are never sent)."""

    id = fields.Integer()
    role = fields.Enum(Role, by_value=True)
    display_name = fields.String()
    phone_bound = fields.Boolean()
    workshops = fields.List(fields.Nested(WorkshopLinkSchema))


class LoginResultSchema(Schema):
    """A bearer token (shown once) and the account it opens."""

    token = fields.String(metadata={"description": "Send as `Authorization: Bearer <token>`."})
    expires_at = fields.DateTime()
    user = fields.Nested(ProfileSchema)


class RevokedSchema(Schema):
    """How many tokens were revoked."""

    revoked = fields.Integer()


@blp.route("/auth/wechat/login")
class WeChatLogin(MethodView):
    """Log in with WeChat."""

    @blp.arguments(WeChatLoginSchema)
    @blp.response(200, LoginResultSchema)
    @blp.alt_response(503, description="WeChat is not configured or not reachable")
    def post(self, args):
        """Exchange a wx.login code for a bearer token (first login creates an operator)."""
        result = login.wechat_login(args["code"])
        return result


@blp.route("/auth/logout")
class Logout(MethodView):
    """Log out."""

    @blp.response(204)
    def post(self):
        """Revoke the bearer token this request carries."""
        current_user()
        secret = request.headers.get("Authorization", "").partition(" ")[2].strip()
        login.logout(secret)


@blp.route("/auth/phone")
class BindPhone(MethodView):
    """Your phone number."""

    decorators = [idempotent]

    @blp.arguments(PhoneSchema)
    @blp.response(200, ProfileSchema)
    def post(self, args):
        """Bind the phone number the user allowed with WeChat's getPhoneNumber button."""
        result = login.bind_phone(current_user(), args["code"])
        return result


@blp.route("/me")
class Me(MethodView):
    """Who you are."""

    @blp.response(200, ProfileSchema)
    def get(self):
        """Your account: role, whether a phone is bound, and your workshops."""
        return login.profile(current_user())


@blp.route("/users/<int(max=2147483647):user_id>/revoke-tokens")
class RevokeTokens(MethodView):
    """Logging someone out everywhere."""

    @blp.response(200, RevokedSchema)
    def post(self, user_id):
        """Revoke every token of a user, e.g. a lost phone (regulators only)."""
        revoked = login.revoke_user_tokens(user_id, by=current_user())
        return {"revoked": revoked}


def dev_login_allowed(app) -> bool:
    """Only a development app in debug has a development login."""
    return bool(app.debug) and app.config.get("ENV_NAME") == "development"


class DevLogin(MethodView):
    """Log in without WeChat, on a developer's machine."""

    @blp.arguments(DevLoginSchema)
    @blp.response(200, LoginResultSchema)
    def post(self, args):
        """Log in as the user with this openid, created as an operator (development only)."""
        if not dev_login_allowed(current_app):
            raise NotFound()
        result = login.dev_login(args["openid"])
        return result


@blp.record_once
def _add_dev_login(state) -> None:
    """Add the development login to a development app in debug, and to no other."""
    if dev_login_allowed(state.app):
        state.add_url_rule(
            "/auth/dev-login", view_func=DevLogin.as_view("DevLogin"), methods=["POST"]
        )


invites_blp = Blueprint(
    "invites", __name__, url_prefix="", description="Binding operators to workshops"
)


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


@invites_blp.route("/workshops/<registration_no>/invites")
class WorkshopInvites(MethodView):
    """Invite codes of a workshop.

    Not idempotent on purpose: a replay would have to keep the plaintext code.
    """

    @invites_blp.arguments(CreateInviteSchema)
    @invites_blp.response(201, IssuedInviteSchema)
    def post(self, args, registration_no):
        """Issue a one-time invite code for a workshop (regulators only)."""
        user = current_user()
        issued = invites.create_invite(registration_no, args["role"], args["days"], by=user)
        return issued


@invites_blp.route("/invites/redeem")
class RedeemInvite(MethodView):
    """Using an invite code."""

    decorators = [idempotent]

    @invites_blp.arguments(RedeemSchema)
    @invites_blp.response(200, RedemptionSchema)
    def post(self, args):
        """Become a workshop's owner or staff with the invite code a regulator gave you."""
        result = invites.redeem(args["code"], by=current_user())
        return result
