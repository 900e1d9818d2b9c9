"""Samples (the ``quality`` and ``self_checks`` tags): a workshop's own self-checks, and
samples and results from inspectors' phones; holds, releases, recalls and publication by
regulators; the public sampling announcement.

Verdicts are never sent: they are computed from the standards table. A positive rapid
screen holds the batch and opens a lab-confirmation sample; a lab fail marks it for recall.
"""

from __future__ import annotations

from flask import send_file
from flask.views import MethodView
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from backend.core.errors import NotFound
from backend.core.i18n import gettext as _
from backend.core.time import SHANGHAI
from backend.files import storage
from backend.samples import listing
from backend.samples.announcements import announcements, publish_sample
from backend.samples.holds import batch_quality, hold_batch, recall_batch, release_batch
from backend.samples.lookup import get_batch, get_plan, get_product, get_sample
from backend.samples.models import Qualitative, TaskSource, TestKind
from backend.samples.recording import record_sample
from backend.samples.reports import attach_report, report_of
from backend.samples.results import MAX_RESULTS_PER_POST, ResultInput, record_results
from backend.samples.schemas import (
    AnnouncementsSchema,
    BatchHoldSchema,
    BatchQualitySchema,
    RecordedResultsSchema,
    SampleSchema,
)
from backend.samples.self_checks import record_self_check
from miniprogram_api.auth import current_user
from miniprogram_api.idempotency import idempotent

blp = Blueprint(
    "quality",
    __name__,
    url_prefix="",
    description="Samples, test results, holds, recalls and the sampling announcement",
)

MAX_ID = 2**31 - 1
BINARY = {"type": "string", "format": "binary"}


def _id(**kwargs):
    """A strict positive 32-bit id."""
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID), **kwargs)


def _when(**kwargs):
    """An ISO 8601 time; without an offset it is read as Asia/Shanghai."""
    return fields.AwareDateTime(default_timezone=SHANGHAI, **kwargs)


class SampleInSchema(Schema):
    """A sample taken from a batch (or, when no batch is known, from a product)."""

    kind = fields.Enum(TestKind, by_value=True, required=True)
    batch_no = fields.String(validate=validate.Length(min=1, max=40))
    product_id = _id(metadata={"description": "When the batch is unknown."})
    plan_id = _id(metadata={"description": "The sampling plan; gives task source and agency."})
    task_source = fields.Enum(TaskSource, by_value=True)
    sample_no = fields.String(
        validate=validate.Length(min=3, max=36),
        metadata={"description": "Written on the bag; generated when absent."},
    )
    sampled_at = _when(metadata={"description": "Defaults to now."})
    sampling_place = fields.String(load_default="", validate=validate.Length(max=200))
    testing_agency = fields.String(validate=validate.Length(min=1, max=100))
    station = fields.String(
        load_default="",
        validate=validate.Length(max=100),
        metadata={"description": "Rapid-test vehicle or laboratory."},
    )


class ResultItemInSchema(Schema):
    """One item's reading: a value with its unit, or a qualitative reading."""

    item_code = fields.String(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={"example": "benzoic_acid"},
    )
    method = fields.String(
        required=True, validate=validate.Length(min=1, max=100), metadata={"example": "胶体金法"}
    )
    value = fields.Decimal(
        allow_none=True, metadata={"description": "Measured value (number or decimal string)."}
    )
    unit = fields.String(load_default="", validate=validate.Length(max=20))
    qualitative = fields.Enum(Qualitative, by_value=True, allow_none=True)
    tested_at = _when(metadata={"description": "Defaults to now."})
    device_no = fields.String(load_default="", validate=validate.Length(max=50))
    action_taken = fields.String(load_default="", validate=validate.Length(max=1000))
    supersedes_id = _id(metadata={"description": "The result of this sample this one corrects."})


class ResultsPostSchema(Schema):
    """Results of one or several items, recorded all together or not at all."""

    results = fields.List(
        fields.Nested(ResultItemInSchema),
        required=True,
        validate=validate.Length(min=1, max=MAX_RESULTS_PER_POST),
    )
    complete = fields.Boolean(
        load_default=True, metadata={"description": "Whether these results finish the sample."}
    )


class BatchActionReasonSchema(Schema):
    """Why a regulator acts."""

    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class ReportUploadSchema(Schema):
    """A test report PDF (multipart field `file`)."""

    file = Upload(required=True)


class AnnouncementArgsSchema(Schema):
    """Which announcements to list."""

    year = fields.Integer(
        load_default=None,
        validate=validate.Range(min=2000, max=2100),
        metadata={"description": "Year of sampling (Asia/Shanghai)."},
    )
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


@blp.route("/samples")
class Samples(MethodView):
    """Samples."""

    decorators = [idempotent]

    @blp.arguments(SampleInSchema)
    @blp.response(201, SampleSchema)
    def post(self, args):
        """Record a sample (inspectors and regulators)."""
        user = current_user()
        batch = get_batch(args["batch_no"]) if "batch_no" in args else None
        product = get_product(args["product_id"]) if "product_id" in args else None
        plan = get_plan(args["plan_id"]) if "plan_id" in args else None
        sample = record_sample(
            by=user,
            kind=args["kind"],
            batch=batch,
            product=product,
            plan=plan,
            task_source=args.get("task_source"),
            sample_no=args.get("sample_no"),
            sampled_at=args.get("sampled_at"),
            sampling_place=args["sampling_place"],
            testing_agency=args.get("testing_agency"),
            station=args["station"],
        )
        return sample


@blp.route("/samples/<sample_no>")
class SampleView(MethodView):
    """One sample."""

    @blp.response(200, SampleSchema)
    def get(self, sample_no):
        """A sample with its results (inspectors, regulators, the workshop's operators)."""
        return get_sample(sample_no, by=current_user())


@blp.route("/samples/<sample_no>/results")
class SampleResults(MethodView):
    """The results of a sample."""

    decorators = [idempotent]

    @blp.arguments(ResultsPostSchema)
    @blp.response(201, RecordedResultsSchema)
    def post(self, args, sample_no):
        """Record results of one or several items; verdicts come from the standards table."""
        user = current_user()
        sample = get_sample(sample_no, by=user)
        recorded = record_results(
            sample,
            [ResultInput(**item) for item in args["results"]],
            by=user,
            complete=args["complete"],
        )
        return recorded


@blp.route("/samples/<sample_no>/report")
class SampleReport(MethodView):
    """The test report PDF of a sample."""

    decorators = [idempotent]

    @blp.arguments(ReportUploadSchema, location="files")
    @blp.response(201, SampleSchema)
    def post(self, files, sample_no):
        """Attach the test report (PDF only) to a sample; a newer report replaces it."""
        user = current_user()
        sample = get_sample(sample_no, by=user)
        upload = files["file"]
        attach_report(sample, upload.stream, upload.filename or "", by=user)
        return sample

    @blp.response(200, BINARY, content_type="application/pdf", description="The report.")
    def get(self, sample_no):
        """Download the test report of a sample."""
        stored = report_of(get_sample(sample_no, by=current_user()))
        response = send_file(
            storage.open_file(stored),
            mimetype="application/pdf",
            download_name=stored.filename,
            etag=stored.sha256,
        )
        response.headers["Cache-Control"] = "private, no-store"
        return response


@blp.route("/samples/<sample_no>/publish")
class SamplePublish(MethodView):
    """Publication in the sampling announcement."""

    decorators = [idempotent]

    @blp.response(200, SampleSchema)
    def post(self, sample_no):
        """Publish a completed lab sample in the public announcement (regulators)."""
        user = current_user()
        sample = publish_sample(get_sample(sample_no, by=user), user)
        return sample


@blp.route("/batches/<batch_no>/results")
class BatchResults(MethodView):
    """The results of a batch."""

    @blp.response(200, BatchQualitySchema)
    def get(self, batch_no):
        """Every result of a batch, open screens, standing lab fails, whether it may be
        released."""
        return batch_quality(get_batch(batch_no), by=current_user())


def _batch_action(action, batch_no: str, reason: str):
    """Run a regulator's batch action and commit."""
    batch = action(get_batch(batch_no), reason, current_user())
    return batch


@blp.route("/batches/<batch_no>/hold")
class BatchHold(MethodView):
    """Holding a batch by hand."""

    decorators = [idempotent]

    @blp.arguments(BatchActionReasonSchema)
    @blp.response(200, BatchHoldSchema)
    def post(self, args, batch_no):
        """Hold a released or pending batch (regulators); consumers see it at once."""
        return _batch_action(hold_batch, batch_no, args["reason"])


@blp.route("/batches/<batch_no>/release")
class BatchRelease(MethodView):
    """Releasing a held batch."""

    decorators = [idempotent]

    @blp.arguments(BatchActionReasonSchema)
    @blp.response(200, BatchHoldSchema)
    def post(self, args, batch_no):
        """Release a held batch once the lab has answered every screen (regulators)."""
        return _batch_action(release_batch, batch_no, args["reason"])


@blp.route("/batches/<batch_no>/recall")
class BatchRecall(MethodView):
    """Recalling a batch."""

    decorators = [idempotent]

    @blp.arguments(BatchActionReasonSchema)
    @blp.response(200, BatchHoldSchema)
    def post(self, args, batch_no):
        """Recall a released or held batch (regulators); consumers see it at once."""
        return _batch_action(recall_batch, batch_no, args["reason"])


@blp.route("/announcements")
class Announcements(MethodView):
    """The public sampling announcement."""

    @blp.arguments(AnnouncementArgsSchema, location="query")
    @blp.response(200, AnnouncementsSchema)
    def get(self, args):
        """Published sampling results in the announcement's columns, with the disclaimer."""
        found = announcements(args["year"])
        start = (args["page"] - 1) * args["per_page"]
        return {
            **found,
            "total": len(found["rows"]),
            "page": args["page"],
            "per_page": args["per_page"],
            "rows": found["rows"][start : start + args["per_page"]],
        }


self_checks_blp = Blueprint(
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
        validate=validate.Length(max=MAX_RESULTS_PER_POST),
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


@self_checks_blp.route("/workshops/<int:workshop_id>/self-checks")
class SelfChecks(MethodView):
    """A workshop's self-checks."""

    @self_checks_blp.arguments(SelfCheckArgs, location="query")
    @self_checks_blp.response(200, SelfCheckPageSchema)
    def get(self, args, workshop_id):
        """List the workshop's self-checks, newest first (its operators, inspectors,
        regulators)."""
        user = current_user()
        return listing.self_checks(_workshop_id(workshop_id), by=user, **args)

    @idempotent
    @self_checks_blp.arguments(SelfCheckInSchema)
    @self_checks_blp.response(201, RecordedResultsSchema)
    def post(self, data, workshop_id):
        """Record a rapid self-check of one of your batches (operators of the workshop);
        a positive reading holds the batch until the lab confirms."""
        user = current_user()
        recorded = record_self_check(
            _workshop_id(workshop_id),
            data["batch_no"],
            by=user,
            items=[ResultInput(**item) for item in data["results"]],
            sampled_at=data.get("sampled_at"),
            sampling_place=data["sampling_place"],
            station=data["station"],
            testing_agency=data.get("testing_agency"),
        )
        return recorded
