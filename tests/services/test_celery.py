"""Celery for real: a worker process started by the test, on the machine's Redis (a database
of this run's own), a committed database of the test's own and S3 storage on moto's server.

The worker draws a label sheet into the bucket, flushes the scan queue and sends the
reminders; tests/faults/test_worker_killed.py kills it in the middle of a label job.
"""

from __future__ import annotations

import re
import uuid
from datetime import date

import pytest
from sqlalchemy import func, select

from backend.codes.models import PrintJob, PrintJobStatus, ScanChannel, ScanEvent, UnitCode
from backend.extensions import db
from tests.faults.helpers import CeleryWorker, build_app, own_database, own_redis_db, wait_for


@pytest.fixture(scope="module")
def moto_s3():
    """moto's S3 server on a free loopback port."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, moto_s3):
    """Settings shared by the test's app and its worker, the app, and the worker (started)."""
    from backend.files import storage

    tmp_path = tmp_path_factory.mktemp("celery")
    with own_redis_db() as redis_url, own_database(tmp_path) as database_url:
        settings = {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url,
            "CELERY_ALWAYS_EAGER": False,
            "SCAN_FLUSH_INTERVAL": 0.0,
            "STORAGE_BACKEND": "s3",
            "S3_BUCKET": f"yipin-{uuid.uuid4().hex[:12]}",
            "S3_ENDPOINT_URL": moto_s3,
            "S3_REGION": "us-east-1",
            "S3_PREFIX": "worker/",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "UPLOAD_DIR": str(tmp_path / "never-used"),
        }
        app = build_app(settings)
        with app.app_context():
            storage.s3_client(app.config).create_bucket(Bucket=settings["S3_BUCKET"])
        worker = CeleryWorker(settings, tmp_path / "worker.log")
        worker.start()
        try:
            yield app, worker, settings
        finally:
            worker.stop()
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


def issued_batch(codes: int):
    """A released batch with *codes* issued codes (committed); its issuance."""
    from backend.batches.models import BatchState
    from backend.codes.services import issue_codes
    from tests.factories import BatchFactory, ProductFactory, WorkshopFactory

    workshop = WorkshopFactory(contact_phone="0596-8321234")
    product = ProductFactory(workshop=workshop, shelf_life_days=None, labelled_alcohol=15.0)
    batch = BatchFactory(
        product=product,
        workshop=workshop,
        state=BatchState.RELEASED,
        produced_on=date(2026, 11, 20),
    )
    issuance = issue_codes(batch, codes)
    db.session.commit()
    return issuance


def job_state(app, job_id: int) -> tuple[PrintJobStatus, int, int | None]:
    """A print job's committed status, progress and file."""
    with app.app_context():
        job = db.session.get(PrintJob, job_id)
        state = (job.status, job.done, job.file_id)
        db.session.remove()
        return state


def test_the_worker_draws_a_label_sheet_into_the_bucket(stack):
    from backend.codes import printing
    from backend.codes.tasks import enqueue_print_job
    from backend.files import storage
    from tests.support import qr

    app, worker, settings = stack
    with app.app_context():
        issuance = issued_batch(30)
        job, created = printing.request_print_job(issuance)
        db.session.commit()
        job_id, issuance_id = job.id, issuance.id
        assert created and job.status is PrintJobStatus.QUEUED
        enqueue_print_job(job_id)  # to Redis: nothing runs in this process
        db.session.remove()
    wait_for(
        lambda: job_state(app, job_id)[0] in (PrintJobStatus.DONE, PrintJobStatus.FAILED),
        60,
        "the label job",
    )
    status, done, file_id = job_state(app, job_id)
    assert status is PrintJobStatus.DONE, worker.output()[-3000:]
    with app.app_context():
        from backend.files.models import StoredFile

        stored = db.session.get(StoredFile, file_id)
        client = storage.s3_client(app.config)
        listed = client.list_objects_v2(Bucket=settings["S3_BUCKET"])
        assert [o["Key"] for o in listed["Contents"]] == ["worker/" + stored.storage_key]
        with printing.storage.open_file(stored) as handle:
            pdf = handle.read()
        codes = db.session.scalars(
            select(UnitCode.code)
            .where(UnitCode.issuance_id == issuance_id)
            .order_by(UnitCode.serial)
        ).all()
        from backend.codes.urls import scan_url

        assert qr.decode_label_sheet(pdf, 30) == [scan_url(c) for c in codes]
        db.session.remove()
    assert "codes.render_print_job" in worker.output()


def test_the_worker_flushes_the_scan_queue(stack):
    from backend.scan.path import ScanRequest, scan_path
    from backend.scan.recorder import FLUSH_TASK

    app, worker, _ = stack
    with app.app_context():
        issuance = issued_batch(3)
        codes = db.session.scalars(
            select(UnitCode.code).where(UnitCode.issuance_id == issuance.id)
        ).all()
        db.session.remove()
    with app.test_request_context():
        for code in codes:
            scan_path().scan(ScanRequest(code, ScanChannel.H5, visitor="127.0.0.1"))
        recorder = app.extensions["scan_recorder"]
        assert recorder.pending() == 3
        assert db.session.scalar(select(func.count(ScanEvent.id))) == 0
        app.extensions["celery"].send_task(FLUSH_TASK)
        db.session.remove()

    def written() -> bool:
        with app.app_context():
            count = db.session.scalar(select(func.count(ScanEvent.id)))
            db.session.remove()
            return count == 3

    wait_for(written, 30, "the worker to flush the scans")
    with app.app_context():
        assert app.extensions["scan_recorder"].pending() == 0


def test_the_worker_sends_the_reminders(stack):
    from backend.reminders.tasks import enqueue_send_due

    app, worker, _ = stack
    with app.app_context():
        result = enqueue_send_due()
        assert result.id  # queued, not run here
    done = re.compile(rf"Task reminders\.send_due\[{result.id}\] succeeded")
    wait_for(lambda: done.search(worker.output()) is not None, 30, "the reminders task")
