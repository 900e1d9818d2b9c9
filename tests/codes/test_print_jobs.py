"""The printing API: QR images of a code, label-sheet print jobs and their PDFs."""

from __future__ import annotations

import hashlib
import logging
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backend import create_app
from backend.accounts.models import MemberRole
from backend.accounts.tokens import issue_token
from backend.batches.models import BatchState
from backend.codes import labels, printing, qr_images, tasks
from backend.codes.models import PrintJob, PrintJobStatus, UnitCode
from backend.codes.services import issue_codes, void_code
from backend.codes.urls import scan_url
from backend.files.models import StoredFile
from tests.conftest import make_config
from tests.factories import (
    BatchFactory,
    InspectorFactory,
    PrintJobFactory,
    ProductFactory,
    RegulatorFactory,
    StoredFileFactory,
    UserFactory,
    WorkshopFactory,
    WorkshopMembershipFactory,
)
from tests.support import qr


@pytest.fixture()
def uploads(app, tmp_path, monkeypatch):
    """A private UPLOAD_DIR for the test."""
    path = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(path))
    return path


@pytest.fixture()
def shop(db, uploads):
    """A workshop with a released batch of 20 codes, its staff operator and a token."""
    workshop = WorkshopFactory(contact_phone="0596-8321234")
    product = ProductFactory(workshop=workshop, shelf_life_days=None, labelled_alcohol=15.0)
    batch = BatchFactory(
        product=product,
        workshop=workshop,
        state=BatchState.RELEASED,
        produced_on=date(2026, 11, 20),
    )
    issuance = issue_codes(batch, 20)
    operator = UserFactory()
    WorkshopMembershipFactory(user=operator, workshop_id=workshop.id, role=MemberRole.STAFF)
    codes = db.session.scalars(
        select(UnitCode.code).where(UnitCode.issuance_id == issuance.id).order_by(UnitCode.serial)
    ).all()
    db.session.flush()

    class Shop:
        pass

    shop = Shop()
    shop.workshop, shop.batch, shop.issuance, shop.codes = workshop, batch, issuance, codes
    shop.operator = operator
    shop.headers = bearer(operator)
    return shop


def bearer(user) -> dict:
    """Authorization header for *user*."""
    return {"Authorization": f"Bearer {issue_token(user)}"}


def outsider() -> dict:
    """Header of an operator of some other workshop."""
    user = UserFactory()
    WorkshopMembershipFactory(user=user, workshop_id=WorkshopFactory().id, role=MemberRole.OWNER)
    return bearer(user)


def assert_error(response, status: int, slug: str) -> dict:
    """The response is the one error shape with *status* and *slug*."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"code", "status", "error", "message", "errors"}
    assert body["code"] == status and body["error"] == slug and body["message"]
    return body


# --- QR images --------------------------------------------------------------------------


def test_qr_png_and_svg_of_a_code_encode_its_printed_link(client, shop):
    code = shop.codes[0]
    response = client.get(f"/api/v1/codes/{code}/qr.png?box=5", headers=shop.headers)
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert "no-store" in response.headers["Cache-Control"]
    assert qr.decode_png(response.data) == scan_url(code)

    response = client.get(f"/api/v1/codes/{code}/qr.svg", headers=shop.headers)
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert qr.decode(qr.raster(qr.svg_matrix(response.data))) == scan_url(code)


def test_qr_accepts_the_code_as_people_type_it(client, shop):
    code = shop.codes[1]
    typed = qr_images.group_code(code).lower()
    response = client.get(f"/api/v1/codes/{typed}/qr.png", headers=shop.headers)
    assert response.status_code == 200
    assert qr.decode_png(response.data) == scan_url(code)


def test_qr_is_for_the_workshop_and_regulators_only(client, shop):
    path = f"/api/v1/codes/{shop.codes[0]}/qr.png"
    assert_error(client.get(path), 401, "token_missing")
    assert_error(client.get(path, headers={"Authorization": "Bearer nope"}), 401, "token_invalid")
    assert_error(client.get(path, headers=outsider()), 403, "not_your_workshop")
    assert_error(client.get(path, headers=bearer(InspectorFactory())), 403, "not_your_workshop")
    assert client.get(path, headers=bearer(RegulatorFactory())).status_code == 200


def test_qr_bad_input(client, shop):
    headers = shop.headers
    good = shop.codes[0]
    assert_error(
        client.get("/api/v1/codes/NOT-A-CODE/qr.png", headers=headers), 422, "malformed_code"
    )
    typo = good[:-1] + ("0" if good[-1] != "0" else "1")
    assert_error(client.get(f"/api/v1/codes/{typo}/qr.svg", headers=headers), 422, "malformed_code")
    assert_error(
        client.get(f"/api/v1/codes/{'A' * 300}/qr.png", headers=headers), 422, "malformed_code"
    )
    from backend.codes.codegen import generate_code

    unknown = generate_code()
    assert_error(
        client.get(f"/api/v1/codes/{unknown}/qr.png", headers=headers), 404, "code_not_found"
    )
    body = assert_error(
        client.get(f"/api/v1/codes/{good}/qr.png?box=0", headers=headers), 422, "validation_failed"
    )
    assert "box" in str(body["errors"])
    void_code(shop.codes[2], "damaged")
    assert_error(
        client.get(f"/api/v1/codes/{shop.codes[2]}/qr.png", headers=headers), 409, "code_voided"
    )


# --- Print jobs -------------------------------------------------------------------------


def test_a_print_job_renders_the_sheet_and_serves_the_pdf(client, db, shop, uploads):
    response = client.post(f"/api/v1/issuances/{shop.issuance.id}/labels", headers=shop.headers)
    assert response.status_code == 202, response.get_json()
    job = response.get_json()
    # Without Redis the job runs inline, so it is finished when the answer comes.
    assert job["status"] == "done"
    assert job["done"] == job["total"] == 20
    assert job["progress"] == 1.0
    assert job["issuance_id"] == shop.issuance.id
    assert job["batch_no"] == shop.batch.batch_no
    assert job["error"] is None
    assert job["download_url"] == f"http://localhost/api/v1/print-jobs/{job['id']}/file"

    polled = client.get(f"/api/v1/print-jobs/{job['id']}", headers=shop.headers)
    assert polled.status_code == 200
    assert polled.get_json()["status"] == "done"
    assert polled.get_json()["size"] > 0

    response = client.get(f"/api/v1/print-jobs/{job['id']}/file", headers=shop.headers)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    assert (
        f"labels-{shop.batch.batch_no}-{shop.issuance.id}.pdf"
        in (response.headers["Content-Disposition"])
    )
    pdf = response.data
    response.close()
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    assert qr.decode_label_sheet(pdf, 20) == [scan_url(code) for code in shop.codes]
    text = "\n".join(qr.page_texts(pdf))
    assert all(qr_images.group_code(code) in text for code in shop.codes)

    stored = db.session.get(StoredFile, db.session.get(PrintJob, job["id"]).file_id)
    assert stored.size == len(pdf)
    assert stored.sha256 == hashlib.sha256(pdf).hexdigest()
    assert (uploads / stored.storage_key).read_bytes() == pdf
    assert not list((uploads / ".incoming").iterdir())  # no temporary file left behind
    db.session.refresh(shop.issuance)
    assert shop.issuance.label_file_id == stored.id


def test_progress_is_committed_as_pages_are_drawn(client, db, shop, monkeypatch):
    issue_codes(shop.batch, 30, by=None)  # another issuance: not in this sheet
    monkeypatch.setattr(tasks, "PROGRESS_EVERY_PAGES", 1)
    commits = []
    real_record = printing.record_progress

    def record(job, done, total):
        real_record(job, done, total)
        commits.append((job.status.value, done, total))

    monkeypatch.setattr(printing, "record_progress", record)
    response = client.post(f"/api/v1/issuances/{shop.issuance.id}/labels", headers=shop.headers)
    assert response.status_code == 202
    assert commits == [("running", 14, 20), ("running", 20, 20)]
    assert response.get_json()["done"] == 20


def test_a_job_already_under_way_is_returned_not_repeated(client, db, shop):
    queued = PrintJobFactory(issuance=shop.issuance, total=20)
    response = client.post(f"/api/v1/issuances/{shop.issuance.id}/labels", headers=shop.headers)
    assert response.status_code == 202
    assert response.get_json()["id"] == queued.id
    assert response.get_json()["status"] == "queued"
    assert response.get_json()["download_url"] is None
    count = db.session.scalar(
        select(func.count()).select_from(PrintJob).where(PrintJob.issuance_id == shop.issuance.id)
    )
    assert count == 1

    # A job stuck for long is given up and a new one runs.
    queued.updated_at = queued.updated_at - timedelta(hours=1)
    db.session.flush()
    response = client.post(f"/api/v1/issuances/{shop.issuance.id}/labels", headers=shop.headers)
    assert response.get_json()["id"] != queued.id
    assert response.get_json()["status"] == "done"
    db.session.refresh(queued)
    assert queued.status is PrintJobStatus.FAILED


def test_print_jobs_are_for_the_workshop_and_regulators_only(client, shop):
    start = f"/api/v1/issuances/{shop.issuance.id}/labels"
    assert_error(client.post(start), 401, "token_missing")
    assert_error(client.post(start, headers=outsider()), 403, "not_your_workshop")
    job = client.post(start, headers=shop.headers).get_json()
    for path in (f"/api/v1/print-jobs/{job['id']}", f"/api/v1/print-jobs/{job['id']}/file"):
        assert_error(client.get(path), 401, "token_missing")
        assert_error(client.get(path, headers=outsider()), 403, "not_your_workshop")
    regulator = bearer(RegulatorFactory())
    assert client.get(f"/api/v1/print-jobs/{job['id']}", headers=regulator).status_code == 200
    response = client.get(f"/api/v1/print-jobs/{job['id']}/file", headers=regulator)
    assert response.status_code == 200
    response.close()


def test_print_job_bad_input(client, db, shop, uploads):
    headers = shop.headers
    assert_error(
        client.post("/api/v1/issuances/999999/labels", headers=headers), 404, "issuance_not_found"
    )
    # Ids past 32 bits cannot exist (and must not reach PostgreSQL as an overflow).
    assert_error(
        client.post(f"/api/v1/issuances/{2**63}/labels", headers=headers), 404, "issuance_not_found"
    )
    assert_error(client.post("/api/v1/issuances/abc/labels", headers=headers), 404, "not_found")
    assert_error(
        client.get("/api/v1/print-jobs/999999", headers=headers), 404, "print_job_not_found"
    )
    assert_error(
        client.get(f"/api/v1/print-jobs/{2**40}/file", headers=headers), 404, "print_job_not_found"
    )
    assert_error(client.get("/api/v1/print-jobs/0", headers=headers), 404, "print_job_not_found")
    english = client.get("/api/v1/print-jobs/999999?lang=en", headers=headers)
    assert assert_error(english, 404, "print_job_not_found")["message"] == (
        "This print job does not exist."
    )

    queued = PrintJobFactory(issuance=shop.issuance, total=20)
    assert_error(
        client.get(f"/api/v1/print-jobs/{queued.id}/file", headers=headers),
        409,
        "print_job_not_done",
    )

    # The file went missing from storage: 404, not 500.
    gone = PrintJobFactory(
        issuance=shop.issuance, status=PrintJobStatus.DONE, done=20, file=StoredFileFactory()
    )
    assert_error(
        client.get(f"/api/v1/print-jobs/{gone.id}/file", headers=headers), 404, "file_missing"
    )


def test_refusals_before_a_job_is_queued(client, db, shop, monkeypatch, tmp_path):
    path = f"/api/v1/issuances/{shop.issuance.id}/labels"

    with monkeypatch.context() as patch:
        patch.setattr(labels, "SYSTEM_FONTS", ())
        patch.setattr(labels, "BUNDLED_FONT", tmp_path / "gone.ttf")
        patch.setitem(client.application.config, "LABEL_FONT_PATH", None)
        body = assert_error(client.post(path, headers=shop.headers), 503, "label_font_missing")
    assert "字体" in body["message"]

    shop.batch.state = BatchState.RECALLED
    db.session.flush()
    assert_error(client.post(path, headers=shop.headers), 409, "batch_recalled")
    shop.batch.state = BatchState.RELEASED
    db.session.flush()

    db.session.execute(
        UnitCode.__table__.update()
        .where(UnitCode.issuance_id == shop.issuance.id)
        .values(status="voided")
    )
    assert_error(client.post(path, headers=shop.headers), 409, "nothing_to_print")
    assert db.session.scalar(select(func.count()).select_from(PrintJob)) == 0


def test_a_job_that_fails_says_why(db, shop, uploads, monkeypatch, caplog):
    job = PrintJobFactory(issuance=shop.issuance, total=20)
    shop.batch.produced_on = None
    db.session.flush()
    tasks.enqueue_print_job(job.id)
    db.session.refresh(job)
    assert job.status is PrintJobStatus.FAILED
    assert "生产日期" in job.error
    assert job.file_id is None

    # Something unforeseen: logged, and the job says so in words for people.
    shop.batch.produced_on = date(2026, 11, 20)
    job = PrintJobFactory(issuance=shop.issuance, total=20)
    db.session.flush()

    def explode(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(labels, "write_label_sheet", explode)
    with caplog.at_level(logging.ERROR, logger="backend.codes.tasks"):
        tasks.enqueue_print_job(job.id)
    db.session.refresh(job)
    assert job.status is PrintJobStatus.FAILED
    assert job.error == "生成标签失败，请稍后重试；问题已记录。"
    assert "disk on fire" in caplog.text
    assert not list(Path(uploads, ".incoming").iterdir())  # the half-written file is gone

    # A job that is not queued any more is left alone.
    tasks.enqueue_print_job(job.id)
    db.session.refresh(job)
    assert job.status is PrintJobStatus.FAILED
    tasks.enqueue_print_job(10**6)  # unknown: nothing happens


def test_the_job_runs_in_its_own_app_even_when_another_app_was_made_later(
    client, db, shop, uploads, tmp_path
):
    # Celery's default app is the last one created; the job must still use this app's
    # configuration (its UPLOAD_DIR here).
    elsewhere = tmp_path / "elsewhere"
    create_app(make_config(f"sqlite:///{tmp_path / 'other.db'}", UPLOAD_DIR=str(elsewhere)))
    response = client.post(f"/api/v1/issuances/{shop.issuance.id}/labels", headers=shop.headers)
    assert response.get_json()["status"] == "done"
    assert list(uploads.glob("labels/*/*/*.pdf"))
    assert not elsewhere.exists()


def test_the_printing_routes_are_documented(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    assert paths["/api/v1/issuances/{issuance_id}/labels"]["post"]["summary"].startswith(
        "Start rendering the label sheet"
    )
    assert "202" in paths["/api/v1/issuances/{issuance_id}/labels"]["post"]["responses"]
    assert "PrintJob" in spec["components"]["schemas"]
    assert paths["/api/v1/print-jobs/{job_id}"]["get"]["summary"]
    pdf = paths["/api/v1/print-jobs/{job_id}/file"]["get"]["responses"]["200"]
    assert "application/pdf" in pdf["content"]
    png = paths["/api/v1/codes/{code}/qr.png"]["get"]
    assert "image/png" in png["responses"]["200"]["content"]
    assert any(p["name"] == "box" for p in png["parameters"])
    assert (
        "image/svg+xml"
        in paths["/api/v1/codes/{code}/qr.svg"]["get"]["responses"]["200"]["content"]
    )
