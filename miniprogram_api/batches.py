"""Batches and raw lots: open a batch from accepted lots, record additives, move its state.

Operators of the workshop open batches, record additives and move a batch through
production; releasing is for the owner; holding, recalling and lifting a hold are for
regulators (with the rules of backend.samples.holds). Lists are for the workshop's
operators and regulators.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from backend.batches import listing, operations
from backend.batches.models import STATE_NAMES_ZH, BatchState
from backend.batches.schemas import BatchStateSchema, OpenBatchSchema
from backend.core.i18n import gettext as _
from backend.ledgers.schemas import AdditiveBodySchema
from backend.rules import additives
from miniprogram_api.auth import current_user
from miniprogram_api.idempotency import idempotent

blp = Blueprint(
    "batches", __name__, url_prefix="", description="Batches, their raw lots and additives"
)

Amount = fields.Decimal(as_string=True)


class PageArgs(Schema):
    """Which page."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class LotArgs(PageArgs):
    """Only the lots a batch can use now?"""

    available = fields.Boolean(
        load_default=False,
        metadata={"description": "1: accepted, something left, not expired."},
    )


class BatchArgs(PageArgs):
    """Filter by state."""

    state = fields.Enum(BatchState, by_value=True)


class SupplierBriefSchema(Schema):
    """Who supplied a lot."""

    id = fields.Integer()
    name = fields.String()
    licence_no = fields.String()


class RawLotSchema(Schema):
    """A raw lot with what is left of it."""

    id = fields.Integer(attribute="lot.id")
    lot_no = fields.String(attribute="lot.lot_no")
    material_name = fields.String(attribute="lot.material_name")
    is_additive = fields.Boolean(attribute="lot.is_additive")
    specification = fields.String(attribute="lot.specification")
    supplier = fields.Nested(SupplierBriefSchema, attribute="lot.supplier")
    supplier_batch_no = fields.String(attribute="lot.supplier_batch_no")
    quantity = fields.Decimal(as_string=True, attribute="lot.quantity")
    used = Amount
    remaining = Amount
    unit = fields.String(attribute="lot.unit")
    purchased_on = fields.Date(attribute="lot.purchased_on")
    produced_on = fields.Date(attribute="lot.produced_on", allow_none=True)
    expires_on = fields.Date(attribute="lot.expires_on", allow_none=True)
    result = fields.String(attribute="lot.result")


class RawLotPageSchema(Schema):
    """A page of raw lots."""

    items = fields.List(fields.Nested(RawLotSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class ProductBriefSchema(Schema):
    """The product of a batch."""

    id = fields.Integer()
    name = fields.String()
    specification = fields.String()
    category_code = fields.String()


class InputSchema(Schema):
    """A raw lot used in a batch."""

    raw_lot_id = fields.Integer()
    lot_no = fields.String(attribute="raw_lot.lot_no")
    material = fields.String(attribute="raw_lot.material_name")
    quantity = Amount
    unit = fields.String()


class AdditiveSchema(Schema):
    """An additive used in a batch."""

    id = fields.Integer()
    additive = fields.String(attribute="additive_name")
    additive_code = fields.String(allow_none=True)
    purpose = fields.String()
    amount = Amount
    unit = fields.String()
    raw_lot_id = fields.Integer(allow_none=True)


class BatchSchema(Schema):
    """A batch with its inputs and additives."""

    batch_no = fields.String()
    workshop_id = fields.Integer()
    product = fields.Nested(ProductBriefSchema)
    state = fields.String()
    state_name = fields.Function(lambda b: _(STATE_NAMES_ZH[b.state]))
    produced_on = fields.Date(allow_none=True)
    expires_on = fields.Date(allow_none=True)
    planned_quantity = fields.Decimal(as_string=True, allow_none=True)
    unit = fields.String()
    process = fields.String(attribute="process_notes")
    hold_reason = fields.String()
    released_at = fields.AwareDateTime(allow_none=True)
    inputs = fields.List(fields.Nested(InputSchema))
    additives = fields.List(fields.Nested(AdditiveSchema), attribute="additive_uses")


class BatchPageSchema(Schema):
    """A page of batches."""

    items = fields.List(fields.Nested(BatchSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class LimitSchema(Schema):
    """The limit the standards table sets for the additive in this category."""

    item_code = fields.String()
    item_name = fields.String(attribute="item_name_zh")
    comparison = fields.String()
    limit_value = fields.Decimal(as_string=True, allow_none=True)
    unit = fields.String()
    basis = fields.String()
    standard = fields.String()
    clause = fields.String()
    gb2760_category = fields.String()
    verified = fields.Boolean()


class CheckSchema(Schema):
    """How the rule base judged the use: within (a verified limit), permitted (按生产需要适量
    使用), residue (decided by testing), review (an unverified rule: needs regulator review)."""

    status = fields.String()
    amount_per_kg = fields.Decimal(as_string=True, allow_none=True)
    unit = fields.String()
    message = fields.String()
    warnings = fields.List(fields.String())


class AdditiveResultSchema(Schema):
    """The additive use recorded, its ledger entry, the rule that applies and the judgement."""

    additive = fields.Nested(AdditiveSchema, attribute="use")
    entry_id = fields.Integer(attribute="entry.id")
    limit = fields.Nested(LimitSchema, allow_none=True)
    check = fields.Nested(CheckSchema)


@blp.route("/workshops/<int:workshop_id>/raw-lots")
class RawLots(MethodView):
    """A workshop's raw lots."""

    @blp.arguments(LotArgs, location="query")
    @blp.response(200, RawLotPageSchema)
    def get(self, args, workshop_id):
        """List raw lots, newest first, with what is left (``available=1`` for the picker)."""
        return listing.list_raw_lots(workshop_id, current_user(), **args)


@blp.route("/workshops/<int:workshop_id>/batches")
class WorkshopBatches(MethodView):
    """A workshop's batches."""

    @blp.arguments(BatchArgs, location="query")
    @blp.response(200, BatchPageSchema)
    def get(self, args, workshop_id):
        """List batches, newest first, with inputs and additives."""
        return listing.list_batches(workshop_id, current_user(), **args)

    @idempotent
    @blp.arguments(OpenBatchSchema)
    @blp.response(201, BatchSchema)
    def post(self, data, workshop_id):
        """Open a batch of one of your products from accepted raw lots."""
        batch = operations.open_batch(workshop_id, current_user(), data)
        return batch


@blp.route("/batches/<batch_no>")
class OneBatch(MethodView):
    """One batch."""

    @blp.response(200, BatchSchema)
    def get(self, batch_no):
        """Show a batch of your workshop with its inputs and additives."""
        return listing.get_batch(batch_no, current_user())


@blp.route("/batches/<batch_no>/additives")
class BatchAdditives(MethodView):
    """Additives used in a batch."""

    decorators = [idempotent]

    @blp.arguments(AdditiveBodySchema)
    @blp.response(201, AdditiveResultSchema)
    def post(self, data, batch_no):
        """Record an additive use, checked against the standards table."""
        user = current_user()
        with additives.reporting_non_food(user):
            result = operations.add_additive(operations.batch_by_no(batch_no), user, data)
        return result


@blp.route("/batches/<batch_no>/state")
class BatchStateView(MethodView):
    """A batch's state."""

    decorators = [idempotent]

    @blp.arguments(BatchStateSchema)
    @blp.response(200, BatchSchema)
    def post(self, data, batch_no):
        """Move a batch (operators: production and release; regulators: hold, recall)."""
        user = current_user()
        batch = operations.move_batch(operations.batch_by_no(batch_no), user, data)
        return batch
