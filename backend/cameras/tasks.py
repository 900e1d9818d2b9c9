"""The live kitchen's background jobs and their Celery beat entries.

- ``video.check_streams`` every STREAM_PROBE_INTERVAL seconds: stale cameras offline,
  Tencent cameras probed (:mod:`backend.cameras.probe`).
- ``video.take_snapshots`` every SNAPSHOT_INTERVAL seconds (none when 0): a picture of each
  live camera (:mod:`backend.cameras.snapshots`).

Like CLI commands, the tasks are edges: they commit (after each camera). ``backend.jobs``
imports this module, so every Celery app knows the tasks; without Redis they run inline.
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from flask import current_app

from backend.cameras import probe, snapshots
from backend.core.transactions import committing
from backend.extensions import db

CHECK_TASK = "video.check_streams"
SNAPSHOT_TASK = "video.take_snapshots"


def beat_schedule(config) -> dict:
    """The beat entries of the live kitchen, from the app's *config*."""
    schedule = {
        "check-camera-streams": {
            "task": CHECK_TASK,
            "schedule": timedelta(seconds=config["STREAM_PROBE_INTERVAL"]),
        }
    }
    if config["SNAPSHOT_INTERVAL"]:
        schedule["take-camera-snapshots"] = {
            "task": SNAPSHOT_TASK,
            "schedule": timedelta(seconds=config["SNAPSHOT_INTERVAL"]),
        }
    return schedule


def enqueue(task_name: str):
    """Queue one of this module's tasks on the current app's Celery (inline without Redis)."""
    return current_app.extensions["celery"].tasks[task_name].delay()


@shared_task(name=CHECK_TASK, ignore_result=True)
@committing
def check_streams_task() -> dict:
    """Mark stale cameras offline and probe the cameras without callbacks."""
    report = probe.check_streams(checkpoint=db.session.commit)
    return report.as_dict()


@shared_task(name=SNAPSHOT_TASK, ignore_result=True)
@committing
def take_snapshots_task() -> dict:
    """Refresh the snapshot of every live camera."""
    report = snapshots.take_snapshots(checkpoint=db.session.commit, rollback=db.session.rollback)
    return report.as_dict()
