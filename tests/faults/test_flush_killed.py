"""A Celery worker killed in the middle of a scan flush: the batch it had claimed is neither
lost nor written twice.

The first worker's flushes wait before writing (YIPIN_TEST_SLOW_FLUSH), so the test can see
the batch claimed (the queue empty, one claim registered) and kill the pool process with
SIGKILL. Nothing is in the database then. A second worker, with a short SCAN_FLUSH_LEASE,
puts the abandoned claim back in the queue and writes it: every scan exactly once.
Skipped without Redis, unless YIPIN_SERVICES_TEST=required.
"""

from __future__ import annotations

import os
import signal
from datetime import date

import redis
from sqlalchemy import func, select

from backend.codes.models import ScanChannel, ScanEvent, UnitCode
from backend.extensions import db
from backend.scan.recorder import FLUSH_TASK, RedisRecorder
from tests.faults.helpers import CeleryWorker, build_app, own_database, own_redis_db, wait_for

SCANS = 50


def counts(app) -> tuple[int, int]:
    """Scan events in the database, and the sum of the codes' counters."""
    with app.app_context():
        events = db.session.scalar(select(func.count(ScanEvent.id)))
        counted = db.session.scalar(select(func.coalesce(func.sum(UnitCode.scan_count), 0)))
        db.session.remove()
        return events, counted


def test_a_flush_killed_midway_loses_and_repeats_nothing(tmp_path):
    from backend.batches.models import BatchState
    from backend.codes.services import issue_codes
    from backend.scan.path import ScanRequest, scan_path
    from tests.factories import BatchFactory, ProductFactory, WorkshopFactory

    with own_redis_db() as redis_url, own_database(tmp_path) as database_url:
        settings = {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url,
            "CELERY_ALWAYS_EAGER": False,
            "SCAN_FLUSH_INTERVAL": 0.0,
        }
        app = build_app(settings)
        with app.app_context():
            product = ProductFactory(workshop=WorkshopFactory(), shelf_life_days=None)
            batch = BatchFactory(
                product=product, state=BatchState.RELEASED, produced_on=date(2026, 11, 20)
            )
            issuance = issue_codes(batch, 5)
            db.session.commit()
            codes = list(
                db.session.scalars(select(UnitCode.code).where(UnitCode.issuance_id == issuance.id))
            )
            db.session.remove()
        with app.test_request_context():
            for n in range(SCANS):
                scan_path().scan(ScanRequest(codes[n % 5], ScanChannel.H5, visitor=f"10.0.0.{n}"))
            db.session.remove()
        client = redis.Redis.from_url(redis_url)
        assert client.llen(RedisRecorder.QUEUE) == SCANS

        slow = CeleryWorker(settings, tmp_path / "slow.log", env={"YIPIN_TEST_SLOW_FLUSH": "120"})
        slow.start()
        try:
            app.extensions["celery"].send_task(FLUSH_TASK)
            wait_for(
                lambda: (
                    client.zcard(RedisRecorder.CLAIMS) == 1
                    and client.llen(RedisRecorder.QUEUE) == 0
                ),
                30,
                "the flush to claim the queue",
            )
            children = slow.pool_children()
            assert len(children) == 1
            os.kill(children[0], signal.SIGKILL)  # in the middle of the flush
            wait_for(lambda: "WorkerLostError" in slow.output(), 30, "the worker to notice")
        finally:
            slow.stop()
        assert counts(app) == (0, 0)  # nothing was written ...
        with app.app_context():
            assert app.extensions["scan_recorder"].pending() == SCANS  # ... and nothing lost

        fresh = CeleryWorker({**settings, "SCAN_FLUSH_LEASE": 1}, tmp_path / "fresh.log")
        fresh.start()
        try:
            app.extensions["celery"].send_task(FLUSH_TASK)
            wait_for(lambda: counts(app)[0] >= SCANS, 60, "the abandoned claim to be written")
        finally:
            fresh.stop()
        assert counts(app) == (SCANS, SCANS)  # every scan exactly once
        assert client.zcard(RedisRecorder.CLAIMS) == 0 and client.llen(RedisRecorder.QUEUE) == 0
        assert not list(client.scan_iter("yipin:scan:claim:*"))
        client.close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
