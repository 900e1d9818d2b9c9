"""The reminders' background job and its Celery beat schedule.

Like a CLI command, the task is an edge: it runs :func:`backend.reminders.services.send_due`
and commits (after each claim and each answer, so overlapping runs see each other's claims).
``backend.jobs`` imports this module, so every Celery app knows the task and beat runs it
every ``REMINDER_EVERY_MINUTES`` minutes (``celery -A backend.worker beat``). Without Redis
Celery runs tasks inline, so the beat process sends the reminders itself.
"""

from __future__ import annotations

from datetime import datetime

from celery import shared_task
from celery.schedules import crontab
from flask import current_app

from backend.core.transactions import committing
from backend.extensions import db
from backend.reminders import services

TASK_NAME = "reminders.send_due"


def beat_schedule(config) -> dict:
    """The beat entries of the reminders, from the app's *config*."""
    every = config["REMINDER_EVERY_MINUTES"]
    return {
        "send-due-reminders": {
            "task": TASK_NAME,
            # On the clock (…:00, …:15) so REMINDER_LEDGER_HOUR is met at the hour.
            "schedule": crontab(minute="*" if every == 1 else f"*/{every}"),
        }
    }


def enqueue_send_due(now: datetime | None = None):
    """Queue :func:`send_due_reminders` on this app's Celery (inline, done on return, without
    Redis); the Celery app of the current Flask app, not Celery's process-wide default."""
    celery = current_app.extensions["celery"]
    return celery.tasks[TASK_NAME].delay(now.isoformat() if now else None)


@shared_task(name=TASK_NAME, ignore_result=True)
@committing
def send_due_reminders(now: str | None = None) -> dict:
    """Send the reminders due at *now* (ISO 8601 with offset; default: this moment)."""
    moment = datetime.fromisoformat(now) if now else None
    report = services.send_due(moment, checkpoint=db.session.commit)
    return report.as_dict()
