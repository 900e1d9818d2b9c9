"""A Celery worker's process killed in the middle of a label job: the job is delivered again,
drawn anew from the issuance's codes, and no code is issued twice.

A real worker (prefork, one child) on the machine's Redis (a database of this run's own) and
a committed database of the test's own; the child is killed with SIGKILL while the job is
running. Skipped without Redis, unless YIPIN_SERVICES_TEST=required.
"""

from __future__ import annotations

import os
import signal
from datetime import date

import pytest
from sqlalchemy import func, select

from backend.codes.models import PrintJob, PrintJobStatus, UnitCode
from backend.extensions import db
from tests.faults.helpers import CeleryWorker, build_app, own_database, own_redis_db, wait_for

CODES = 600  # a few seconds of drawing: long enough to be killed in the middle


@pytest.fixture()
def stack(tmp_path):
    """The test's app and a started worker sharing its database, Redis and uploads."""
    with own_redis_db() as redis_url, own_database(tmp_path) as database_url:
        settings = {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url,
            "CELERY_ALWAYS_EAGER": False,
            "SCAN_FLUSH_INTERVAL": 0.0,
            "UPLOAD_DIR": str(tmp_path / "uploads"),
        }
        app = build_app(settings)
        worker = CeleryWorker(settings, tmp_path / "worker.log")
        worker.start()
        try:
            yield app, worker, tmp_path / "uploads"
        finally:
            worker.stop()
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


def job_row(app, job_id: int) -> tuple[PrintJobStatus, int, int | None]:
    """The job's committed status, progress and file."""
    with app.app_context():
        job = db.session.get(PrintJob, job_id)
        row = (job.status, job.done, job.file_id)
        db.session.remove()
        return row


def test_a_label_job_survives_its_worker_being_killed(stack):
    from backend.batches.models import BatchState
    from backend.codes import printing
    from backend.codes.services import issue_codes
    from backend.codes.tasks import enqueue_print_job
    from tests.factories import BatchFactory, ProductFactory, WorkshopFactory

    app, worker, uploads = stack
    with app.app_context():
        workshop = WorkshopFactory(contact_phone="0596-8321234")
        product = ProductFactory(workshop=workshop, shelf_life_days=None, labelled_alcohol=15.0)
        batch = BatchFactory(
            product=product,
            workshop=workshop,
            state=BatchState.RELEASED,
            produced_on=date(2026, 11, 20),
        )
        issuance = issue_codes(batch, CODES)
        job, _ = printing.request_print_job(issuance)
        db.session.commit()
        job_id, issuance_id = job.id, issuance.id
        codes_before = set(
            db.session.scalars(select(UnitCode.code).where(UnitCode.issuance_id == issuance_id))
        )
        enqueue_print_job(job_id)
        db.session.remove()
    assert len(codes_before) == CODES

    wait_for(lambda: job_row(app, job_id)[0] is PrintJobStatus.RUNNING, 30, "the job to start")
    wait_for(lambda: job_row(app, job_id)[1] > 0, 30, "the first progress")
    children = worker.pool_children()
    assert len(children) == 1
    status, done, _ = job_row(app, job_id)
    assert status is PrintJobStatus.RUNNING and 0 < done < CODES  # in the middle
    os.kill(children[0], signal.SIGKILL)

    wait_for(
        lambda: job_row(app, job_id)[0] in (PrintJobStatus.DONE, PrintJobStatus.FAILED),
        90,
        "the job to be retried and finished",
    )
    status, done, file_id = job_row(app, job_id)
    log = worker.output()
    assert status is PrintJobStatus.DONE, log[-3000:]
    assert done == CODES and file_id is not None
    assert "WorkerLostError" in log or "SIGKILL" in log
    assert "drawing it again" in log  # the second delivery took the job over

    with app.app_context():
        rows = db.session.execute(
            select(func.count(UnitCode.id), func.count(func.distinct(UnitCode.code))).where(
                UnitCode.issuance_id == issuance_id
            )
        ).one()
        codes_after = set(
            db.session.scalars(select(UnitCode.code).where(UnitCode.issuance_id == issuance_id))
        )
        jobs = db.session.scalar(
            select(func.count(PrintJob.id)).where(PrintJob.issuance_id == issuance_id)
        )
        db.session.remove()
    assert tuple(rows) == (CODES, CODES) and codes_after == codes_before  # none issued again
    assert jobs == 1
    sheets = [p for p in uploads.rglob("*.pdf") if ".incoming" not in p.parts]
    assert len(sheets) == 1  # one finished sheet; the killed attempt's scratch file is not one
