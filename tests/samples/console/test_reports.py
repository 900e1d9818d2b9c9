"""Test report PDFs in the console: attached, downloaded, refused next to the field."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.accounts.models import Role
from backend.samples.models import Sample
from tests.samples.console.pages import PDF, counts, error_near, upload
from tests.support.console import logged_in, submit, text


def test_a_report_is_attached_and_downloaded(client, db, site):
    logged_in(client, Role.INSPECTOR)
    response = upload(client, "CJ-1", PDF, "检验报告 CJ-1.pdf")
    assert response.status_code == 302, text(response)[:2000]
    page = text(client.get("/console/samples/CJ-1"))
    assert "已上传检验报告" in page and "/console/samples/CJ-1/report" in page
    with client.get("/console/samples/CJ-1/report") as download:
        assert download.status_code == 200 and download.data == PDF
        assert download.mimetype == "application/pdf"
        assert "attachment" in download.headers["Content-Disposition"]
        assert "no-store" in download.headers["Cache-Control"]
    client.delete_cookie("session")
    anonymous = client.get("/console/samples/CJ-1/report")
    assert anonymous.status_code == 302 and "/console/login" in anonymous.headers["Location"]


def test_a_missing_report_is_a_404_page(client, db, site):
    logged_in(client)
    response = client.get("/console/samples/CJ-1/report")
    assert response.status_code == 404 and "尚无检验报告" in text(response)


@pytest.mark.parametrize(
    ("content", "limit", "message"),
    [
        (b"GIF89a not a pdf", None, "检验报告须为 PDF 文件"),
        (b"", None, "检验报告须为 PDF 文件"),
        (PDF + b"0" * 4096, 1024, "文件过大"),  # over the service's limit
        (PDF + b"0" * 300_000, "content", "文件过大"),  # cut off before it is read
    ],
)
def test_bad_reports_are_refused_next_to_the_field(
    client, db, site, app, monkeypatch, content, limit, message
):
    if limit == "content":
        monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 100_000)
    elif limit:
        monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", limit)
    logged_in(client, Role.INSPECTOR)
    before = counts(db)
    response = upload(client, "CJ-1", content)
    assert response.status_code == 422, text(response)[:2000]
    assert error_near(text(response), "file", message)
    db.session.expire_all()
    assert counts(db) == before
    assert (
        db.session.scalar(select(Sample.report_file_id).where(Sample.sample_no == "CJ-1")) is None
    )


def test_no_file_chosen_is_refused(client, db, site):
    logged_in(client)
    page = "/console/samples/CJ-1"
    response = submit(client, page, {}, action=f"{page}/report")
    assert response.status_code == 422 and error_near(text(response), "file", "请选择要上传")
