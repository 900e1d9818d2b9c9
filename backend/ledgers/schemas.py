"""What a ledger entry from a phone looks like, per kind, and what a correction may change."""

from __future__ import annotations

from decimal import Decimal

from marshmallow import ValidationError, fields, validate, validates_schema

from backend.core.fields import (
    MAX_PHOTOS,
    Flag,
    Id,
    Quantity,
    StrictSchema,
    Temperature,
    Text,
    Whole,
    code_text,
)
from backend.ledgers.models import AcceptanceResult, LedgerKind

ADDITIVE_UNITS = ("mg", "g", "kg", "ml", "L")


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


class ProductionSchema(EntryFields):
    """生产记录: a step of an open batch, with its parameters."""

    batch_no = code_text(required=True)
    process = Text(1000, min_length=1, required=True, metadata={"example": "煮浆95℃，5分钟"})
    quantity = Quantity()
    unit = Text(10)


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


class CleaningSchema(EntryFields):
    """清洗消毒: what was cleaned or disinfected, how, by whom."""

    what = Text(200, min_length=1, required=True, metadata={"example": "地面、操作台、容器"})
    how = Text(200, min_length=1, required=True, metadata={"example": "清水冲洗后消毒液擦拭"})
    disinfectant = Text(100, load_default="")
    by_staff_id = Id()


class InspectionFieldsSchema(StrictSchema):
    """The outgoing inspection of a batch."""

    inspection_cert_no = Text(40, min_length=1, required=True)
    items = fields.List(Text(50, min_length=1), required=True, validate=validate.Length(1, 30))
    result = fields.String(required=True, validate=validate.OneOf(("pass", "fail")))
    quantity = Quantity()


class OutgoingInspectionSchema(EntryFields, InspectionFieldsSchema):
    """出厂检验, through the ledger endpoint (names the batch)."""

    batch_no = code_text(required=True)


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
