"""Marshmallow schemas of the ledgers and batches: what a phone may send, field by field.

Every schema refuses unknown fields. The fields follow DOMAIN.md (Food Safety Law arts. 45,
50, 51, 53 and provincial practice); the rules that need the database (staff belong to the
workshop, a health certificate is valid, a lot has enough left …) live in the services.
"""

from __future__ import annotations

import re
from decimal import Decimal

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from backend.production.models import AcceptanceResult, LedgerKind

MAX_QUANTITY = Decimal(1_000_000)  # more than any small workshop handles in one record
MAX_PHOTOS = 9
CODE_TEXT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$")
ADDITIVE_UNITS = ("mg", "g", "kg", "ml", "L")


class Text(fields.String):
    """A string with surrounding spaces removed; a required one may not be blank."""

    def __init__(self, max_length: int, *, min_length: int = 0, **kwargs):
        super().__init__(validate=validate.Length(min=min_length, max=max_length), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        text = text.strip()
        if self.required and not text:
            raise ValidationError("Must not be blank.")
        return text


class Flag(fields.Boolean):
    """A JSON true or false, nothing else ("yes", 1 and "true" are refused)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class Whole(fields.Integer):
    """An integer given as a JSON number (not a string, a float or a boolean)."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class Id(Whole):
    """A positive integer id."""

    def __init__(self, **kwargs):
        super().__init__(validate=validate.Range(min=1, max=2**53), **kwargs)


class Quantity(fields.Decimal):
    """A positive amount with at most three decimals, below MAX_QUANTITY.

    Accepts a JSON number or a numeric string; floats are read as written (0.1 is 0.1).
    """

    def __init__(self, maximum: Decimal = MAX_QUANTITY, **kwargs):
        # The documented bounds are numbers (apispec would write the Decimals as strings).
        metadata = {"minimum": 0, "maximum": int(maximum), **kwargs.pop("metadata", {})}
        super().__init__(
            as_string=True,
            validate=validate.Range(min=0, min_inclusive=False, max=maximum),
            metadata=metadata,
            **kwargs,
        )

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, float):
            value = repr(value)
        number = super()._deserialize(value, attr, data, **kwargs)
        if number.as_tuple().exponent < -3:
            raise ValidationError("At most three decimal places.")
        return number


class Temperature(fields.Decimal):
    """A body temperature in °C, one decimal."""

    def __init__(self, **kwargs):
        metadata = {"minimum": 34, "maximum": 43, **kwargs.pop("metadata", {})}
        super().__init__(
            as_string=True, validate=validate.Range(min=34, max=43), metadata=metadata, **kwargs
        )

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, float):
            value = repr(value)
        number = super()._deserialize(value, attr, data, **kwargs)
        if number.as_tuple().exponent < -1:
            raise ValidationError("At most one decimal place.")
        return number


def code_text(**kwargs) -> fields.String:
    """A lot, batch or document number: letters, digits and _.- (up to 40)."""
    return fields.String(
        validate=validate.Regexp(CODE_TEXT, error="Letters, digits and _.- only (1–40)."),
        **kwargs,
    )


class StrictSchema(Schema):
    """Unknown fields are an error, never silently dropped."""

    class Meta:
        """Refuse unknown fields."""

        unknown = RAISE


class EntryFields(StrictSchema):
    """What every ledger entry from a phone carries."""

    occurred_at = fields.AwareDateTime(
        required=True,
        metadata={"description": "When it happened, by the phone's clock (ISO 8601 with offset)."},
    )
    recorded_at = fields.AwareDateTime(
        metadata={"description": "When the phone saved the record (if later, e.g. offline)."}
    )
    photos = fields.List(
        Id(),
        validate=validate.Length(max=MAX_PHOTOS),
        load_default=list,
        metadata={"description": "Ids of files you uploaded (POST /api/v1/uploads)."},
    )
    note = Text(500, load_default="")


# -- morning health check 晨检 (FSL art. 45) ------------------------------------------------


class StaffCheckSchema(StrictSchema):
    """One person's morning check."""

    staff_id = Id(required=True)
    temperature = Temperature(required=True, metadata={"example": "36.5"})
    symptoms = Flag(
        required=True,
        metadata={"description": "Fever, diarrhoea, vomiting, sore throat, skin disease …"},
    )
    hand_wounds = Flag(required=True)
    fit_for_work = Flag(required=True, metadata={"description": "On duty today."})
    note = Text(200, load_default="")


class MorningCheckSchema(EntryFields):
    """晨检: every person checked this morning."""

    checks = fields.List(
        fields.Nested(StaffCheckSchema), required=True, validate=validate.Length(min=1, max=100)
    )


# -- raw material acceptance 进货查验 (FSL art. 50) -----------------------------------------


class SupplierInputSchema(StrictSchema):
    """A supplier named on the spot (found by name and licence, or added)."""

    name = Text(100, min_length=1, required=True)
    licence_no = Text(60, load_default="")
    address = Text(200, load_default="")
    contact_name = Text(50, load_default="")
    contact_phone = Text(30, load_default="")


class RawAcceptanceSchema(EntryFields):
    """进货查验: a delivery checked on arrival; an accepted one becomes a usable lot."""

    supplier_id = Id()
    supplier = fields.Nested(SupplierInputSchema)
    lot_no = code_text(metadata={"description": "Our lot number; generated when omitted."})
    material_name = Text(100, min_length=1, required=True)
    is_additive = Flag(load_default=False)
    specification = Text(50, load_default="")
    quantity = Quantity(required=True)
    unit = Text(10, min_length=1, required=True)
    supplier_batch_no = Text(50, load_default="")
    produced_on = fields.Date()
    shelf_life_days = Whole(validate=validate.Range(min=1, max=3650))
    expires_on = fields.Date()
    purchased_on = fields.Date(metadata={"description": "Defaults to the day it occurred."})
    supplier_licence_checked = Flag(required=True)
    certificate_checked = Flag(required=True)
    sensory_ok = Flag(load_default=True)
    result = fields.Enum(AcceptanceResult, by_value=True, load_default=AcceptanceResult.ACCEPTED)

    @validates_schema
    def one_supplier(self, data, **kwargs):
        """Name the supplier once: by id or on the spot."""
        if ("supplier_id" in data) == ("supplier" in data):
            raise ValidationError("Give supplier_id or supplier, not both.", "supplier_id")


# -- production 生产记录 --------------------------------------------------------------------


class ProductionSchema(EntryFields):
    """生产记录: a step of an open batch, with its parameters."""

    batch_no = code_text(required=True)
    process = Text(1000, min_length=1, required=True, metadata={"example": "煮浆95℃，5分钟"})
    quantity = Quantity()
    unit = Text(10)


# -- additive use 添加剂使用 ----------------------------------------------------------------


class AdditiveBodySchema(EntryFields):
    """An additive used in a batch: name (or item code), amount, purpose."""

    additive = Text(100, min_length=1, required=True, metadata={"example": "葡萄糖酸-δ-内酯"})
    amount = Quantity(maximum=Decimal(100_000), required=True)
    unit = fields.String(required=True, validate=validate.OneOf(ADDITIVE_UNITS))
    purpose = Text(100, load_default="")
    raw_lot_id = Id(metadata={"description": "The additive's own accepted lot, if any."})
    batch_mass_kg = Quantity(
        maximum=Decimal(1_000_000),
        metadata={
            "description": "The batch's total mass in kg, when the specification "
            "and planned quantity do not give it."
        },
    )
    batch_volume_l = Quantity(
        maximum=Decimal(1_000_000),
        metadata={"description": "The batch's total volume in L (for limits in g/L)."},
    )


class AdditiveUseSchema(AdditiveBodySchema):
    """添加剂使用, through the ledger endpoint (names the batch)."""

    batch_no = code_text(required=True)


# -- cleaning and disinfection 清洗消毒 ------------------------------------------------------


class CleaningSchema(EntryFields):
    """清洗消毒: what was cleaned or disinfected, how, by whom."""

    what = Text(200, min_length=1, required=True, metadata={"example": "地面、操作台、容器"})
    how = Text(200, min_length=1, required=True, metadata={"example": "清水冲洗后消毒液擦拭"})
    disinfectant = Text(100, load_default="")
    by_staff_id = Id()


# -- outgoing inspection 出厂检验 (FSL art. 51) ---------------------------------------------


class InspectionFieldsSchema(StrictSchema):
    """The outgoing inspection of a batch."""

    inspection_cert_no = Text(40, min_length=1, required=True)
    items = fields.List(Text(50, min_length=1), required=True, validate=validate.Length(1, 30))
    result = fields.String(required=True, validate=validate.OneOf(("pass", "fail")))
    quantity = Quantity()


class OutgoingInspectionSchema(EntryFields, InspectionFieldsSchema):
    """出厂检验, through the ledger endpoint (names the batch)."""

    batch_no = code_text(required=True)


# -- sales 销售记录 (FSL art. 53) -----------------------------------------------------------


class BuyerInputSchema(StrictSchema):
    """A buyer named on the spot (found by name, or added)."""

    name = Text(100, min_length=1, required=True)
    address = Text(200, load_default="")
    contact_name = Text(50, load_default="")
    contact_phone = Text(30, load_default="")


class SaleItemSchema(StrictSchema):
    """How much of one released batch went out."""

    batch_no = code_text(required=True)
    quantity = Quantity(required=True)


class SaleSchema(EntryFields):
    """销售记录: a shipment to a buyer."""

    buyer_id = Id()
    buyer = fields.Nested(BuyerInputSchema)
    document_no = code_text(metadata={"description": "Generated when omitted."})
    shipped_on = fields.Date(metadata={"description": "Defaults to the day it occurred."})
    items = fields.List(
        fields.Nested(SaleItemSchema), required=True, validate=validate.Length(min=1, max=50)
    )
    inspection_cert_no = Text(40, load_default="")

    @validates_schema
    def one_buyer(self, data, **kwargs):
        """Name the buyer once: by id or on the spot."""
        if ("buyer_id" in data) == ("buyer" in data):
            raise ValidationError("Give buyer_id or buyer, not both.", "buyer_id")


ENTRY_SCHEMAS: dict[LedgerKind, type[EntryFields]] = {
    LedgerKind.MORNING_CHECK: MorningCheckSchema,
    LedgerKind.RAW_ACCEPTANCE: RawAcceptanceSchema,
    LedgerKind.PRODUCTION: ProductionSchema,
    LedgerKind.ADDITIVE_USE: AdditiveUseSchema,
    LedgerKind.CLEANING: CleaningSchema,
    LedgerKind.OUTGOING_INSPECTION: OutgoingInspectionSchema,
    LedgerKind.SALE: SaleSchema,
}


# -- corrections ---------------------------------------------------------------------------


class CorrectionSchema(StrictSchema):
    """A correction: why, and the corrected fields (which depend on the entry's kind)."""

    reason = Text(500, min_length=2, required=True, metadata={"example": "体温记错了"})
    changes = fields.Dict(
        keys=fields.String(),
        required=True,
        metadata={"description": "Corrected fields; which ones depends on the entry's kind."},
    )
    occurred_at = fields.AwareDateTime(
        metadata={"description": "The corrected time; the corrected entry's when omitted."}
    )
    recorded_at = fields.AwareDateTime()
    photos = fields.List(Id(), validate=validate.Length(max=MAX_PHOTOS), load_default=list)


class _Changes(StrictSchema):
    note = Text(500)


class MorningCheckChanges(_Changes):
    """The whole list of checks, as it should have been."""

    checks = fields.List(fields.Nested(StaffCheckSchema), validate=validate.Length(1, 100))


class RawAcceptanceChanges(_Changes):
    """Descriptive fields of the lot (quantity not below what batches already used)."""

    material_name = Text(100, min_length=1)
    specification = Text(50)
    quantity = Quantity()
    supplier_batch_no = Text(50)
    produced_on = fields.Date()
    shelf_life_days = Whole(validate=validate.Range(min=1, max=3650))
    expires_on = fields.Date()


class ProductionChanges(_Changes):
    """The process text and quantity."""

    process = Text(1000, min_length=1)
    quantity = Quantity()
    unit = Text(10)


class AdditiveUseChanges(_Changes):
    """Amount, unit and purpose (a different additive is a new entry)."""

    amount = Quantity(maximum=Decimal(100_000))
    unit = fields.String(validate=validate.OneOf(ADDITIVE_UNITS))
    purpose = Text(100)


class CleaningChanges(_Changes):
    """What, how, with what, by whom."""

    what = Text(200, min_length=1)
    how = Text(200, min_length=1)
    disinfectant = Text(100)
    by_staff_id = Id()


class OutgoingInspectionChanges(_Changes):
    """Certificate number and items checked."""

    inspection_cert_no = Text(40, min_length=1)
    items = fields.List(Text(50, min_length=1), validate=validate.Length(1, 30))


class SaleChanges(_Changes):
    """The buyer's address and contact, the certificate number."""

    buyer_address = Text(200)
    buyer_contact = Text(30)
    inspection_cert_no = Text(40)


CHANGE_SCHEMAS: dict[LedgerKind, type[_Changes]] = {
    LedgerKind.MORNING_CHECK: MorningCheckChanges,
    LedgerKind.RAW_ACCEPTANCE: RawAcceptanceChanges,
    LedgerKind.PRODUCTION: ProductionChanges,
    LedgerKind.ADDITIVE_USE: AdditiveUseChanges,
    LedgerKind.CLEANING: CleaningChanges,
    LedgerKind.OUTGOING_INSPECTION: OutgoingInspectionChanges,
    LedgerKind.SALE: SaleChanges,
}


# -- batches -------------------------------------------------------------------------------


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
