"""Samples, results, holds and published announcements as the API shows them."""

from __future__ import annotations

from marshmallow import Schema, fields

from backend.core.fields import LocalDateTime, decimal_text
from backend.rules.schemas import StandardLimitSchema
from backend.samples.confirmation import confirmation_of
from backend.samples.lookup import is_superseded
from backend.samples.reports import report_of


class QualityResultSchema(Schema):
    """One test item's result; its verdict was computed from the standards table."""

    id = fields.Integer()
    sample_no = fields.String(attribute="sample.sample_no")
    kind = fields.String(attribute="sample.kind", metadata={"enum": ["lab", "rapid"]})
    item_code = fields.String(metadata={"example": "benzoic_acid"})
    item = fields.String(attribute="standard_limit.item_name_zh")
    item_en = fields.String(attribute="standard_limit.item_name_en")
    method = fields.String(metadata={"example": "胶体金法"})
    value = fields.Function(lambda r: decimal_text(r.value), allow_none=True)
    unit = fields.String()
    qualitative = fields.String(allow_none=True, metadata={"enum": ["negative", "positive"]})
    verdict = fields.String(metadata={"enum": ["pass", "fail", "positive_screen", "pending"]})
    tested_at = LocalDateTime()
    tested_by_id = fields.Integer(allow_none=True)
    device_no = fields.String()
    action_taken = fields.String()
    confirms_id = fields.Integer(
        allow_none=True, metadata={"description": "The rapid screen this lab result confirms."}
    )
    supersedes_id = fields.Integer(
        allow_none=True, metadata={"description": "The result this one corrects."}
    )
    superseded = fields.Function(
        lambda r: is_superseded(r.id),
        metadata={"description": "A newer result corrects this one; it no longer counts."},
    )
    limit = fields.Nested(StandardLimitSchema, attribute="standard_limit", allow_none=True)


class QualityReportSchema(Schema):
    """A stored test report PDF."""

    filename = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    uploaded_at = LocalDateTime(attribute="created_at")


class SampleSchema(Schema):
    """A sample, with every result recorded on it (superseded ones flagged)."""

    sample_no = fields.String(metadata={"example": "KJ20261126-001"})
    kind = fields.String(metadata={"enum": ["lab", "rapid"]})
    task_source = fields.String(
        metadata={"enum": ["municipal", "district", "special", "routine", "alliance", "self_check"]}
    )
    status = fields.String(metadata={"enum": ["collected", "testing", "completed"]})
    plan_id = fields.Integer(allow_none=True)
    workshop = fields.Function(
        lambda s: {"registration_no": s.workshop.registration_no, "name": s.workshop.name}
    )
    product = fields.Function(
        lambda s: {
            "id": s.product.id,
            "name": s.product.name,
            "category_code": s.product.category_code,
        }
    )
    batch_no = fields.Function(lambda s: s.batch.batch_no if s.batch else None, allow_none=True)
    sampled_at = LocalDateTime()
    sampled_by_id = fields.Integer(allow_none=True)
    sampling_place = fields.String()
    testing_agency = fields.String()
    station = fields.String()
    confirms_sample_no = fields.Function(
        lambda s: rapid.sample_no if (rapid := confirmation_of(s)) else None,
        allow_none=True,
        metadata={"description": "The rapid sample this lab-confirmation sample was opened for."},
    )
    published_at = LocalDateTime(allow_none=True)
    report = fields.Function(
        lambda s: QualityReportSchema().dump(report_of(s)) if s.report_file_id else None,
        allow_none=True,
    )
    results = fields.List(fields.Nested(QualityResultSchema))


class BatchHoldSchema(Schema):
    """A batch's state and the banner consumers see."""

    batch_no = fields.String()
    state = fields.String(
        metadata={
            "enum": ["draft", "in_production", "pending_release", "released", "held", "recalled"]
        }
    )
    hold_reason = fields.String()
    product = fields.String(attribute="product.name")
    workshop = fields.String(attribute="workshop.name")
    released_at = LocalDateTime(allow_none=True)


class RecordedResultsSchema(Schema):
    """What a result post did."""

    sample = fields.Nested(SampleSchema)
    results = fields.List(fields.Nested(QualityResultSchema))
    batch = fields.Nested(BatchHoldSchema, allow_none=True)
    held = fields.Boolean(
        metadata={"description": "These results held the batch (or added to its hold)."}
    )
    confirmation_sample_no = fields.Function(
        lambda r: r.confirmation.sample_no if r.confirmation else None,
        allow_none=True,
        metadata={"description": "The lab-confirmation task opened by a positive screen."},
    )
    recall_recommended = fields.Boolean(
        metadata={"description": "A lab fail stands: the regulator should recall the batch."}
    )


class BatchQualitySchema(Schema):
    """A batch's results and what stands between it and release."""

    batch = fields.Nested(BatchHoldSchema)
    results = fields.List(fields.Nested(QualityResultSchema))
    open_screens = fields.Function(
        lambda q: [r.id for r in q.open_screens],
        metadata={"description": "Positive screens still awaiting lab confirmation."},
    )
    lab_fails = fields.Function(
        lambda q: [r.id for r in q.lab_fails],
        metadata={"description": "Standing lab fails."},
    )
    recall_recommended = fields.Boolean()
    releasable = fields.Boolean()


class AnnouncedPlaceSchema(Schema):
    """A name and an address."""

    name = fields.String()
    address = fields.String()


class AnnouncedItemSchema(Schema):
    """A failing item ‖ its result ‖ the standard value."""

    item_code = fields.String()
    item = fields.String()
    item_en = fields.String()
    result = fields.String(metadata={"example": "0.12 g/kg"})
    standard_value = fields.String(metadata={"example": "不得使用"})
    standard = fields.String()
    verified = fields.Boolean()


class AnnouncementRowSchema(Schema):
    """One published sample in the columns of the public announcement (抽检信息公示)."""

    number = fields.String()
    producer = fields.Nested(AnnouncedPlaceSchema, metadata={"description": "Nominal producer."})
    sampled_unit = fields.Nested(AnnouncedPlaceSchema)
    food_name = fields.String()
    specification = fields.String()
    trademark = fields.String(allow_none=True)
    production_date = fields.Date(allow_none=True)
    batch_no = fields.String(allow_none=True)
    failing_items = fields.List(fields.Nested(AnnouncedItemSchema))
    conclusion = fields.String(metadata={"enum": ["pass", "fail", "pending"]})
    category = fields.Dict()
    task_source = fields.Dict()
    testing_agency = fields.String()
    remarks = fields.String()
    sampled_at = LocalDateTime()
    published_at = LocalDateTime()


class AnnouncementsSchema(Schema):
    """Published sampling results, a page of them, and the disclaimer."""

    year = fields.Integer(allow_none=True)
    disclaimer = fields.String()
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    rows = fields.List(fields.Nested(AnnouncementRowSchema))
