"""Test report PDFs kept with a sample."""

from io import BytesIO

import pytest
from sqlalchemy import func, select

from backend.core.errors import Forbidden, ValidationError
from backend.files.models import StoredFile
from backend.files.storage import open_file
from backend.samples.reports import ReportTooLarge, attach_report
from tests.factories import (
    UserFactory,
    WorkshopMembershipFactory,
)
from tests.samples.builders import lab_sample


@pytest.fixture()
def uploads(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))
    return tmp_path / "uploads"


def test_only_pdf_reports_are_kept(db, wine, people, uploads, app, monkeypatch):
    batch, _ = wine
    sample = lab_sample(batch, people.lab)
    pdf = b"%PDF-1.4\n" + b"x" * 1000 + b"\n%%EOF\n"
    stored = attach_report(sample, BytesIO(pdf), "../报告 CJ.pdf", by=people.lab)
    assert sample.report_file_id == stored.id and stored.content_type == "application/pdf"
    assert stored.filename == "报告 CJ.pdf" and stored.size == len(pdf)
    with open_file(stored) as handle:
        assert handle.read() == pdf
    for bad in (b"", b"PK\x03\x04zip", b"<html>%PDF-"):
        with pytest.raises(ValidationError) as refused:
            attach_report(sample, BytesIO(bad), "x.pdf", by=people.lab)
        assert refused.value.slug == "not_a_pdf"
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", 1024)
    with pytest.raises(ReportTooLarge) as big:
        attach_report(sample, BytesIO(b"%PDF-" + b"0" * 200_000), "x.pdf", by=people.lab)
    assert big.value.status_code == 413
    assert db.session.scalar(select(func.count(StoredFile.id))) == 1
    assert [p.name for p in (uploads / ".incoming").iterdir()] == []  # no half-written file
    owner = UserFactory()
    WorkshopMembershipFactory(user=owner, workshop_id=batch.workshop_id)
    with pytest.raises(Forbidden):
        attach_report(sample, BytesIO(pdf), "x.pdf", by=owner)
