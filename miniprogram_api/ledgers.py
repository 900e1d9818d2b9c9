"""Today's checklist and the daily ledgers of a workshop, for its operators (and regulators).

Writes (one endpoint per ledger kind, corrections) are for the workshop's own operators and
carry an ``Idempotency-Key``; reads are for its operators and regulators. Entries are never
updated or deleted: a correction is a new entry naming the one it corrects.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from backend.core.errors import NotFound
from backend.core.i18n import gettext as _
from backend.core.time import to_local
from backend.ledgers import checklist, copy_last, corrections, history, recording
from backend.ledgers.models import LedgerKind
from backend.ledgers.schemas import ENTRY_SCHEMAS, CorrectionSchema
from backend.rules import additives
from miniprogram_api.auth import current_user
from miniprogram_api.idempotency import idempotent

blp = Blueprint(
    "ledgers", __name__, url_prefix="", description="Today's checklist and the daily ledgers"
)


def kind_name(kind) -> str:
    """The ledger's name in the request's language."""
    return _(checklist.KIND_NAMES[LedgerKind(kind)])


class LocalDateTime(fields.DateTime):
    """An aware time shown in Asia/Shanghai, ISO 8601 with its offset."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else to_local(value).isoformat()


# -- today ---------------------------------------------------------------------------------


class TodayArgs(Schema):
    """Which local day (today when omitted)."""

    date = fields.Date(metadata={"description": "YYYY-MM-DD, Asia/Shanghai; not in the future."})


class ChecklistItemSchema(Schema):
    """One thing due, and the entry that did it."""

    kind = fields.String()
    kind_name = fields.Function(lambda item: kind_name(item.kind))
    subject = fields.String(metadata={"description": "Staff name, lot no, batch no, doc no."})
    subject_id = fields.Integer(allow_none=True)
    done = fields.Boolean()
    entry_id = fields.Integer(allow_none=True)


class ChecklistSchema(Schema):
    """What the workshop owes on the day, and what is missing."""

    workshop_id = fields.Integer()
    date = fields.Date(attribute="day")
    complete = fields.Boolean()
    done = fields.Function(lambda c: sum(1 for i in c.items if i.done))
    total = fields.Function(lambda c: len(c.items))
    items = fields.List(fields.Nested(ChecklistItemSchema))
    missing = fields.List(fields.Nested(ChecklistItemSchema))


@blp.route("/workshops/<int:workshop_id>/today")
class Today(MethodView):
    """Today's checklist."""

    @blp.arguments(TodayArgs, location="query")
    @blp.response(200, ChecklistSchema)
    def get(self, args, workshop_id):
        """What is due today (or on a past day) and what is already done."""
        return checklist.today_for(workshop_id, current_user(), args.get("date"))


# -- entries -------------------------------------------------------------------------------


class AttachmentSchema(Schema):
    """A photo kept with an entry."""

    file_id = fields.Integer(attribute="id")
    sha256 = fields.String()
    content_type = fields.String()
    filename = fields.String()
    size = fields.Integer()


class EntrySchema(Schema):
    """A ledger entry as stored: evidence, with its place in the hash chain."""

    id = fields.Integer(attribute="entry.id")
    seq = fields.Integer(attribute="entry.seq")
    kind = fields.String(attribute="entry.kind")
    kind_name = fields.Function(lambda view: kind_name(view.entry.kind))
    business_date = fields.Date(attribute="entry.business_date")
    occurred_at = LocalDateTime(attribute="entry.occurred_at")
    received_at = LocalDateTime(
        attribute="entry.recorded_at", metadata={"description": "When the server received it."}
    )
    recorded_by_id = fields.Integer(attribute="entry.recorded_by_id", allow_none=True)
    recorded_by = fields.String()
    batch_no = fields.String(allow_none=True)
    lot_no = fields.String(allow_none=True)
    document_no = fields.String(allow_none=True)
    corrects_id = fields.Integer(attribute="entry.corrects_id", allow_none=True)
    payload = fields.Dict(attribute="entry.payload")
    attachments = fields.List(fields.Nested(AttachmentSchema))
    entry_hash = fields.String(attribute="entry.entry_hash")
    prev_hash = fields.String(attribute="entry.prev_hash", allow_none=True)
    retain_until = fields.Date(attribute="entry.retain_until")


class HistoryEntrySchema(EntrySchema):
    """An entry with the corrections that followed it, oldest first."""

    corrections = fields.List(fields.Nested(EntrySchema))
    current = fields.Dict(metadata={"description": "The payload as last corrected."})


class HistoryArgs(Schema):
    """Filters and page."""

    kind = fields.Enum(LedgerKind, by_value=True)
    date = fields.Date(metadata={"description": "The local business day."})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class HistoryPageSchema(Schema):
    """One page of the history."""

    items = fields.List(fields.Nested(HistoryEntrySchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class TemplateSchema(Schema):
    """The last entry of a kind, as a starting point (post it back with a new time)."""

    kind = fields.String()
    entry_id = fields.Integer()
    occurred_at = LocalDateTime()
    business_date = fields.Date()
    template = fields.Dict()


@blp.route("/workshops/<int:workshop_id>/ledgers")
class History(MethodView):
    """The ledger history of a workshop."""

    @blp.arguments(HistoryArgs, location="query")
    @blp.response(200, HistoryPageSchema)
    def get(self, args, workshop_id):
        """List entries, newest first, each with its corrections beside it."""
        return history.history(workshop_id, current_user(), day=args.pop("date", None), **args)


@blp.route("/workshops/<int:workshop_id>/ledgers/<kind>/last")
class LastEntry(MethodView):
    """Copy from last time."""

    @blp.response(200, TemplateSchema)
    def get(self, workshop_id, kind):
        """The last entry of a kind (as corrected) as a template for a new one."""
        try:
            ledger_kind = LedgerKind(kind)
        except ValueError:
            raise NotFound(_("没有这类台账。"), slug="unknown_ledger_kind") from None
        return copy_last.last_template(workshop_id, current_user(), ledger_kind)


SUMMARIES = {
    LedgerKind.MORNING_CHECK: "Record the morning health check 晨检 of the staff on duty.",
    LedgerKind.RAW_ACCEPTANCE: "Record a raw material acceptance 进货查验 (creates the lot).",
    LedgerKind.PRODUCTION: "Record a production step 生产记录 of a batch in production.",
    LedgerKind.ADDITIVE_USE: "Record an additive use 添加剂使用 in an open batch.",
    LedgerKind.CLEANING: "Record a cleaning and disinfection 清洗消毒.",
    LedgerKind.OUTGOING_INSPECTION: "Record an outgoing inspection 出厂检验 of a batch.",
    LedgerKind.SALE: "Record a sale 销售记录 (creates the buyer and the shipment).",
}


def _entry_view(kind: LedgerKind, schema: type[Schema]) -> type[MethodView]:
    """A POST endpoint for one ledger kind, validated by that kind's schema."""

    def post(self, data, workshop_id):
        user = current_user()
        with additives.reporting_non_food(user):
            entry = recording.record(kind, workshop_id, user, data)
        return history.describe_new(entry, user)

    post.__doc__ = SUMMARIES[kind]
    post = blp.response(201, EntrySchema)(blp.arguments(schema())(post))  # one instance
    name = "".join(part.title() for part in kind.value.split("_")) + "Entries"
    view = type(name, (MethodView,), {"__doc__": SUMMARIES[kind], "post": post})
    view.decorators = [idempotent]
    return view


for _kind, _schema in ENTRY_SCHEMAS.items():
    blp.route(
        f"/workshops/<int:workshop_id>/ledgers/{_kind.value}", endpoint=f"ledger_{_kind.value}"
    )(_entry_view(_kind, _schema))


@blp.route("/workshops/<int:workshop_id>/ledgers/entries/<int:entry_id>/corrections")
class Corrections(MethodView):
    """Corrections of an entry."""

    decorators = [idempotent]

    @blp.arguments(CorrectionSchema())
    @blp.response(201, EntrySchema)
    def post(self, data, workshop_id, entry_id):
        """Correct an entry: a new entry naming it, with the reason (owners for others')."""
        user = current_user()
        entry = corrections.correct_entry(workshop_id, entry_id, user, data)
        return history.describe_new(entry, user)
