"""Complaints from the mini-program's scan page: anyone may file one, no login.

The complaint goes through :func:`backend.complaints.services.file_complaint` with the
channel ``miniprogram``, linked to the scanned code (or a batch or workshop), and is
handled in the console. Filing is limited per client address, like the scan.
"""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from backend.complaints import services
from backend.complaints.models import ComplaintChannel
from backend.core import ratelimit
from backend.core.i18n import gettext as _
from backend.core.privacy import visitor_hash

blp = Blueprint("complaints", __name__, url_prefix="/complaints", description="Complaints")

# Complaints per client address: enough for a person, too few for a flood.
COMPLAINT_LIMIT = "5/minute;30/hour"
MAX_ID = 2**31 - 1


class ComplaintInSchema(Schema):
    """What a consumer complains about, and how to reach them (optional)."""

    content = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    code = fields.String(
        load_default="",
        validate=validate.Length(max=40),
        metadata={"description": "The code on the package (from the scan)."},
    )
    batch_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    workshop_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    contact_name = fields.String(load_default="", validate=validate.Length(max=50))
    contact_phone = fields.String(load_default="", validate=validate.Length(max=30))


class FiledComplaintSchema(Schema):
    """The filed complaint: its reference to quote on the phone or at 12315."""

    reference = fields.String()
    status = fields.String()
    created_at = fields.DateTime()


@blp.route("")
class Complaints(MethodView):
    """Filing a complaint."""

    @blp.arguments(ComplaintInSchema)
    @blp.response(201, FiledComplaintSchema)
    def post(self, data):
        """File a complaint about a scanned code, a batch or a workshop (anyone)."""
        client = request.remote_addr or "-"
        ratelimit.hit(
            "complaints", client, COMPLAINT_LIMIT, _("提交过于频繁，请稍后再试或拨打 12315。")
        )
        complaint = services.file_complaint(
            services.ComplaintInput(
                content=data["content"],
                code=data["code"],
                batch_id=data.get("batch_id"),
                workshop_id=data.get("workshop_id"),
                contact_name=data["contact_name"],
                contact_phone=data["contact_phone"],
            ),
            channel=ComplaintChannel.MINIPROGRAM,
            client_hash=visitor_hash(f"{client}|{request.user_agent.string[:200]}"),
        )
        return complaint
