"""Test reports (检验报告): the PDF kept with a sample.

Whoever records a sample's results attaches its report: only PDFs (the bytes must start
with ``%PDF-``) up to the upload limit; a newer report takes the older one's place, and
both are kept.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import BinaryIO

from flask import current_app

from backend.accounts.models import User
from backend.core.errors import DomainError, NotFound, ValidationError
from backend.core.i18n import gettext as _
from backend.extensions import db
from backend.files import storage
from backend.files.models import StoredFile
from backend.samples.models import Sample
from backend.samples.recording import require_recorder

REPORT_MAX_BYTES = 8 * 1024 * 1024
PDF_MAGIC = b"%PDF-"


class ReportTooLarge(DomainError):
    """A report larger than the upload limit."""

    status_code = 413
    slug = "upload_too_large"


def attach_report(sample: Sample, stream: BinaryIO, filename: str, *, by: User) -> StoredFile:
    """Keep a test report PDF with *sample* (a newer report takes its place; both are kept).

    Only PDFs (the bytes must start with ``%PDF-``) up to the upload limit are taken.
    """
    require_recorder(by, sample)
    limit = current_app.config.get("UPLOAD_MAX_BYTES", REPORT_MAX_BYTES)
    head = stream.read(len(PDF_MAGIC))
    if head != PDF_MAGIC:
        raise ValidationError(
            _("检验报告须为 PDF 文件。"), slug="not_a_pdf", errors={"file": ["not a PDF"]}
        )

    def write(out) -> None:
        out.write(head)
        size = len(head)
        while chunk := stream.read(64 * 1024):
            size += len(chunk)
            if size > limit:
                raise ReportTooLarge(
                    _("文件过大（上限 %(mb)s MB）。", mb=max(1, limit // (1024 * 1024))),
                    errors={"file": ["too large"]},
                )
            out.write(chunk)

    name = PurePath((filename or "").replace("\\", "/")).name.strip() or "report.pdf"
    name = "".join(ch for ch in name if ch.isprintable())[:200] or "report.pdf"
    stored = storage.save_stream(
        write, filename=name, content_type="application/pdf", prefix="reports", by=by
    )
    sample.report_file_id = stored.id
    db.session.flush()
    return stored


def report_of(sample: Sample) -> StoredFile:
    """The sample's test report, or NotFound."""
    stored = db.session.get(StoredFile, sample.report_file_id) if sample.report_file_id else None
    if stored is None:
        raise NotFound(_("该样品尚无检验报告。"), slug="report_not_found")
    return stored
