"""Test report PDFs over the API."""

from io import BytesIO

import pytest
from sqlalchemy import func, select

from backend.files.models import StoredFile
from tests.samples.api.calls import PDF, assert_error_shape


def test_a_test_report_pdf_is_attached_and_downloaded(client, db, site):
    headers = site.headers["inspector"]
    sent = client.post(
        "/api/v1/samples/CJ-1/report",
        data={"file": (BytesIO(PDF), "检验报告.pdf")},
        content_type="multipart/form-data",
        headers=headers,
    )
    assert sent.status_code == 201, sent.get_data(as_text=True)
    report = sent.get_json()["report"]
    assert report["filename"] == "检验报告.pdf" and report["size"] == len(PDF)
    with client.get("/api/v1/samples/CJ-1/report", headers=site.headers["operator"]) as fetched:
        assert fetched.status_code == 200 and fetched.data == PDF
        assert fetched.mimetype == "application/pdf"
    other = client.get("/api/v1/samples/CJ-1/report", headers=site.headers["other_operator"])
    assert_error_shape(other, 403)


@pytest.mark.parametrize(
    "data",
    [
        {"file": (BytesIO(b"<html>hello</html>"), "report.pdf")},
        {"file": (BytesIO(b""), "empty.pdf")},
        {},
        {"file": (BytesIO(PDF), "r.pdf"), "note": "x"},
    ],
)
def test_anything_but_a_pdf_is_refused(client, db, site, data):
    response = client.post(
        "/api/v1/samples/CJ-1/report",
        data=data,
        content_type="multipart/form-data",
        headers=site.headers["inspector"],
    )
    if "note" in data:  # form fields are not read; the file alone counts
        assert response.status_code == 201
        return
    assert_error_shape(response, 422)
    assert db.session.scalar(select(func.count(StoredFile.id))) == 0
