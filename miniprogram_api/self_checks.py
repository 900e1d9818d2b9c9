"""A workshop's own self-checks (作坊自检) from the operators' phones.

An operator (owner or staff) records a rapid screen of one of the workshop's batches,
with its results in the same post or later through ``/samples/<sample_no>/results``. The
verdict comes from the standards table as for any screen, and a positive holds the batch
and opens a lab-confirmation task for the inspection alliance. Inspectors and regulators
read self-checks but never write them; their own samples may not claim the task source
``self_check``.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from backend.core.errors import NotFound
from backend.core.i18n import gettext as _
from backend.core.time import SHANGHAI
from backend.samples import listing
from backend.samples import services as sampling
from backend.samples.schemas import RecordedResultsSchema, SampleSchema
from miniprogram_api.auth import current_user
from miniprogram_api.idempotency import idempotent
from miniprogram_api.samples import ResultItemInSchema

blp = Blueprint(
    "self_checks",
    __name__,
    url_prefix="",
    description="Workshops' own self-checks: rapid screens recorded by their operators",
)

MAX_ID = 2**31 - 1


class SelfCheckInSchema(Schema):
    """A rapid screen of one of the workshop's batches, and (optionally) its results."""

    batch_no = fields.String(required=True, validate=validate.Length(min=1, max=40))
    sampled_at = fields.AwareDateTime(
        default_timezone=SHANGHAI, metadata={"description": "Defaults to now."}
    )
    sampling_place = fields.String(load_default="", validate=validate.Length(max=200))
    station = fields.String(
        load_default="",
        validate=validate.Length(max=100),
        metadata={"description": "Where it was tested, e.g. the workshop's test bench."},
    )
    testing_agency = fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={"description": "Defaults to “<workshop>（作坊自检）”."},
    )
    results = fields.List(
        fields.Nested(ResultItemInSchema),
        load_default=list,
        validate=validate.Length(max=sampling.MAX_RESULTS_PER_POST),
        metadata={"description": "The screen's readings; may also be posted later."},
    )


class SelfCheckArgs(Schema):
    """Which page."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class SelfCheckPageSchema(Schema):
    """A page of a workshop's self-checks."""

    items = fields.List(fields.Nested(SampleSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


def _workshop_id(workshop_id: int) -> int:
    """A workshop id that can exist (404 otherwise, before anything is looked up)."""
    if not 0 < workshop_id <= MAX_ID:
        raise NotFound(_("作坊不存在。"), slug="workshop_not_found")
    return workshop_id


@blp.route("/workshops/<int:workshop_id>/self-checks")
class SelfChecks(MethodView):
    """A workshop's self-checks."""

    @blp.arguments(SelfCheckArgs, location="query")
    @blp.response(200, SelfCheckPageSchema)
    def get(self, args, workshop_id):
        """List the workshop's self-checks, newest first (its operators, inspectors,
        regulators)."""
        user = current_user()
        return listing.self_checks(_workshop_id(workshop_id), by=user, **args)

    @idempotent
    @blp.arguments(SelfCheckInSchema)
    @blp.response(201, RecordedResultsSchema)
    def post(self, data, workshop_id):
        """Record a rapid self-check of one of your batches (operators of the workshop);
        a positive reading holds the batch until the lab confirms."""
        user = current_user()
        recorded = sampling.record_self_check(
            _workshop_id(workshop_id),
            data["batch_no"],
            by=user,
            items=[sampling.ResultInput(**item) for item in data["results"]],
            sampled_at=data.get("sampled_at"),
            sampling_place=data["sampling_place"],
            station=data["station"],
            testing_agency=data.get("testing_agency"),
        )
        return recorded
