"""Uploading photos, vouchers and reports, and fetching them back."""

from __future__ import annotations

from flask import request, send_file
from flask.views import MethodView
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from marshmallow import Schema, fields

from backend.core.errors import ValidationError
from backend.core.i18n import gettext as _
from backend.files import storage, uploads
from miniprogram_api.auth import current_user
from miniprogram_api.idempotency import idempotent

blp = Blueprint("uploads", __name__, url_prefix="", description="Photos, vouchers and reports")

BINARY = {"type": "string", "format": "binary"}


class UploadFormSchema(Schema):
    """One file in the multipart field ``file``."""

    file = Upload(
        required=True,
        metadata={"description": "JPEG, PNG or WebP (and PDF for inspectors and regulators)."},
    )


class StoredFileSchema(Schema):
    """A stored file."""

    id = fields.Integer()
    sha256 = fields.String()
    size = fields.Integer()
    content_type = fields.String(metadata={"description": "Decided from the bytes."})
    filename = fields.String()


def _only_the_file() -> None:
    """Refuse multipart fields other than the one file."""
    extra = sorted(set(request.form) | (set(request.files) - {"file"}))
    if extra or len(request.files.getlist("file")) > 1:
        raise ValidationError(
            _("只能上传一个文件（字段名 file）。"),
            slug="validation_failed",
            errors={name: ["Unknown field."] for name in extra} or {"file": ["one file only"]},
        )


@blp.route("/uploads")
class Uploads(MethodView):
    """Uploading a file."""

    decorators = [idempotent]

    @blp.arguments(UploadFormSchema, location="files")
    @blp.response(201, StoredFileSchema)
    @blp.alt_response(413, description="The file is larger than UPLOAD_MAX_BYTES")
    def post(self, args):
        """Upload a ledger photo or voucher (type checked from the bytes, size limited)."""
        user = current_user()
        _only_the_file()
        upload = args["file"]
        stored = uploads.save_upload(upload.stream, upload.filename, by=user)
        return stored


@blp.route("/uploads/<int(max=2147483647):file_id>")
class UploadFile(MethodView):
    """One uploaded file."""

    @blp.response(200, BINARY, content_type="application/octet-stream")
    def get(self, file_id):
        """Download a file you uploaded (regulators: any file)."""
        stored = uploads.get_upload(file_id, by=current_user())
        response = send_file(
            storage.open_file(stored),
            mimetype=stored.content_type,
            download_name=stored.filename,
            etag=stored.sha256,
            max_age=0,
        )
        if response.status_code == 200:
            response.content_length = stored.size
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
