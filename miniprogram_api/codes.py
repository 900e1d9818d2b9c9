"""Codes: operators issue and void the codes of their own batches, and print their label
sheets (the ``codes`` and ``labels`` tags)."""

from __future__ import annotations

from flask import Response, send_file, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from backend.codes import printing, qr_images, services
from backend.codes.models import CodeKind, PrintJob, PrintJobStatus
from backend.codes.services import MAX_CODES_PER_CALL
from backend.codes.tasks import enqueue_print_job
from backend.codes.urls import scan_url
from backend.core.errors import ValidationError
from backend.extensions import db
from backend.files import storage
from miniprogram_api.auth import current_user
from miniprogram_api.idempotency import idempotent

blp = Blueprint("codes", __name__, url_prefix="", description="Issuing and voiding codes")


class IssueSchema(Schema):
    """How many codes to issue."""

    count = fields.Integer(
        required=True,
        validate=validate.Range(min=1, max=MAX_CODES_PER_CALL),
        metadata={"example": 200},
    )
    kind = fields.Enum(CodeKind, by_value=True, load_default=CodeKind.UNIT)


class IssuanceSchema(Schema):
    """A run of issued codes."""

    id = fields.Integer()
    batch_no = fields.String(attribute="batch.batch_no")
    kind = fields.String()
    count = fields.Integer()
    first_serial = fields.Integer()
    last_serial = fields.Function(lambda i: i.first_serial + i.count - 1)
    created_at = fields.DateTime()


class VoidSchema(Schema):
    """One code, or a serial range of a batch, and why."""

    code = fields.String(validate=validate.Length(max=64))
    batch_no = fields.String(validate=validate.Length(max=40))
    first = fields.Integer(validate=validate.Range(min=1))
    last = fields.Integer(validate=validate.Range(min=1))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))


class VoidResultSchema(Schema):
    """How many codes were voided."""

    voided = fields.Integer()


@blp.route("/batches/<batch_no>/codes")
class BatchCodes(MethodView):
    """The codes of a batch."""

    decorators = [idempotent]

    @blp.arguments(IssueSchema)
    @blp.response(201, IssuanceSchema)
    def post(self, args, batch_no):
        """Issue codes for one of your batches (1 to 100,000 per call)."""
        user = current_user()
        issuance = services.issue_codes(
            services.get_batch(batch_no), args["count"], kind=args["kind"], by=user
        )
        return issuance


@blp.route("/codes/void")
class VoidCodes(MethodView):
    """Voiding codes."""

    @blp.arguments(VoidSchema)
    @blp.response(200, VoidResultSchema)
    def post(self, args):
        """Void one code, or a serial range of one of your batches (owners only)."""
        user = current_user()
        if args.get("code"):
            result = services.void_code(args["code"], args["reason"], by=user)
        elif args.get("batch_no") and args.get("first") and args.get("last"):
            batch = services.get_batch(args["batch_no"])
            result = services.void_range(
                batch, args["first"], args["last"], args["reason"], by=user
            )
        else:
            raise ValidationError(
                "请提供码，或批次号及起止序号。",
                slug="nothing_to_void",
                errors={"code": ["give code, or batch_no with first and last"]},
            )
        return result


@blp.route("/codes/<code>/wxacode.png")
class WxaCode(MethodView):
    """The mini-program code image of a code."""

    @blp.response(200, content_type="image/png")
    @blp.alt_response(503, description="WeChat is not configured or not reachable")
    def get(self, code):
        """The mini-program code (scene = the code), an alternative label for operators."""
        image = services.wxa_code_image(code, by=current_user())
        return Response(image, mimetype="image/png")


labels_blp = Blueprint(
    "labels", __name__, url_prefix="", description="QR images and printable label sheets"
)

# The OpenAPI schema of a file answer (the view returns the bytes itself).
BINARY = {"type": "string", "format": "binary"}


class QrPngArgs(Schema):
    """How large the PNG should be."""

    box = fields.Integer(
        load_default=10,
        validate=validate.Range(min=1, max=40),
        metadata={"description": "Pixels per QR module."},
    )


class PrintJobSchema(Schema):
    """A label sheet being rendered, and where to fetch it once done."""

    id = fields.Integer()
    issuance_id = fields.Integer()
    batch_no = fields.String(attribute="issuance.batch.batch_no")
    status = fields.Enum(PrintJobStatus, by_value=True)
    done = fields.Integer(metadata={"description": "Labels drawn so far."})
    total = fields.Integer(metadata={"description": "Labels in the sheet."})
    progress = fields.Method("get_progress", metadata={"description": "0.0 to 1.0."})
    error = fields.String(allow_none=True)
    download_url = fields.Method("get_download_url", allow_none=True)
    size = fields.Integer(attribute="file.size", allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)

    def get_progress(self, job: PrintJob) -> float:
        """Share of the labels drawn."""
        if job.status is PrintJobStatus.DONE:
            return 1.0
        return round(job.done / job.total, 4) if job.total else 0.0

    def get_download_url(self, job: PrintJob) -> str | None:
        """Where the PDF is, once it is done."""
        if job.status is not PrintJobStatus.DONE:
            return None
        return url_for("labels.PrintJobFile", job_id=job.id, _external=True)


def _no_store(response: Response) -> Response:
    """Keep per-user files out of shared caches."""
    response.headers["Cache-Control"] = "private, no-store"
    return response


@labels_blp.route("/codes/<code>/qr.png")
class CodeQrPng(MethodView):
    """The QR of one code as a PNG."""

    @labels_blp.arguments(QrPngArgs, location="query")
    @labels_blp.response(200, BINARY, content_type="image/png", description="The QR code as a PNG.")
    def get(self, args, code):
        """QR image (PNG) of a code of your workshop, encoding its printed link."""
        unit = printing.code_for_qr(code, by=current_user())
        png = qr_images.qr_png(scan_url(unit.code), box_size=args["box"])
        return _no_store(Response(png, mimetype="image/png"))


@labels_blp.route("/codes/<code>/qr.svg")
class CodeQrSvg(MethodView):
    """The QR of one code as an SVG."""

    @labels_blp.response(
        200, BINARY, content_type="image/svg+xml", description="The QR code as an SVG."
    )
    def get(self, code):
        """QR image (SVG) of a code of your workshop, encoding its printed link."""
        unit = printing.code_for_qr(code, by=current_user())
        return _no_store(Response(qr_images.qr_svg(scan_url(unit.code)), mimetype="image/svg+xml"))


@labels_blp.route("/issuances/<int:issuance_id>/labels")
class IssuanceLabels(MethodView):
    """The label sheet of one issuance."""

    @labels_blp.response(202, PrintJobSchema)
    def post(self, issuance_id):
        """Start rendering the label sheet (A4 PDF) of an issuance; poll the job returned."""
        user = current_user()
        issuance = printing.get_issuance(issuance_id, by=user)
        job, created = printing.request_print_job(issuance, by=user)
        job_id = job.id
        if created:
            # Inline (and finished on return) without Redis; a Celery worker otherwise.
            enqueue_print_job(job_id)
        return db.session.get(PrintJob, job_id)


@labels_blp.route("/print-jobs/<int:job_id>")
class PrintJobStatusView(MethodView):
    """One print job."""

    @labels_blp.response(200, PrintJobSchema)
    def get(self, job_id):
        """Progress of a print job and, once done, the download link of its PDF."""
        return printing.get_print_job(job_id, by=current_user())


@labels_blp.route("/print-jobs/<int:job_id>/file")
class PrintJobFile(MethodView):
    """The PDF of a finished print job."""

    @labels_blp.response(
        200, BINARY, content_type="application/pdf", description="The label sheet."
    )
    def get(self, job_id):
        """Download the label sheet (PDF) of a finished print job."""
        job = printing.get_print_job(job_id, by=current_user())
        stored = printing.job_file(job)
        response = send_file(
            storage.open_file(stored),
            mimetype=stored.content_type,
            as_attachment=True,
            download_name=stored.filename,
            etag=stored.sha256,
            max_age=0,
        )
        return _no_store(response)
