"""What opening a batch and moving it between states take."""

from __future__ import annotations

from marshmallow import fields, validate

from backend.core.fields import MAX_PHOTOS, Flag, Id, Quantity, StrictSchema, Text, code_text
from backend.ledgers.schemas import InspectionFieldsSchema


class BatchInputSchema(StrictSchema):
    """How much of one accepted raw lot goes into the batch (in the lot's unit)."""

    raw_lot_id = Id(required=True)
    quantity = Quantity(required=True)


class OpenBatchSchema(StrictSchema):
    """Open a batch of one of the workshop's products from accepted raw lots."""

    product_id = Id(required=True)
    batch_no = code_text(metadata={"description": "Generated when omitted."})
    produced_on = fields.Date(metadata={"description": "Defaults to the day it occurred."})
    planned_quantity = Quantity()
    unit = Text(10, load_default="件")
    process = Text(1000, load_default="", metadata={"example": "黑豆浸泡8小时→磨浆→煮浆"})
    inputs = fields.List(
        fields.Nested(BatchInputSchema), required=True, validate=validate.Length(min=1, max=30)
    )
    start = Flag(load_default=True, metadata={"description": "Put it in production at once."})
    occurred_at = fields.AwareDateTime(required=True)
    recorded_at = fields.AwareDateTime()
    photos = fields.List(Id(), validate=validate.Length(max=MAX_PHOTOS), load_default=list)
    note = Text(500, load_default="")


class BatchStateSchema(StrictSchema):
    """Move a batch: operators to in_production, pending_release, released (owners);
    regulators to held, recalled, or released (lifting a hold)."""

    to = fields.String(
        required=True,
        validate=validate.OneOf(
            ("in_production", "pending_release", "released", "held", "recalled")
        ),
    )
    reason = Text(500, load_default="")
    occurred_at = fields.AwareDateTime(metadata={"description": "Defaults to now."})
    recorded_at = fields.AwareDateTime()
    quantity = Quantity(metadata={"description": "Quantity made (to pending_release)."})
    inspection = fields.Nested(
        InspectionFieldsSchema,
        metadata={"description": "The outgoing inspection (required to release)."},
    )
    photos = fields.List(Id(), validate=validate.Length(max=MAX_PHOTOS), load_default=list)
    note = Text(500, load_default="")
