"""Background jobs of the codes feature: rendering label sheets.

Like a CLI command, a task is an edge: it calls the services and commits. Progress is
committed every few pages so that ``GET /api/v1/print-jobs/<id>`` can show it while the
sheet is being drawn. A task delivered again because its worker died (Celery's
``task_reject_on_worker_lost``) takes over the job it left running and draws the sheet anew
from the issuance's codes: no code is issued by a job, so none can be issued twice. The
module is imported by the API at start-up, so a Celery worker started with
``celery -A backend.worker worker`` knows the task.
"""

from __future__ import annotations

import logging
import time

from celery import shared_task
from flask import current_app
from flask_babel import gettext as _

from backend.codes import printing
from backend.codes.models import PrintJob
from backend.core.errors import DomainError
from backend.core.transactions import after_commit
from backend.extensions import db

log = logging.getLogger(__name__)

PROGRESS_EVERY_PAGES = 10
PROGRESS_EVERY_SECONDS = 2.0


def enqueue_print_job(job_id: int) -> None:
    """Queue :func:`render_print_job` on this app's Celery (inline, finished on return, without
    Redis).

    The task is looked up on the Celery app bound to the current Flask app rather than on
    Celery's process-wide default, which is the last app created: with several apps in one
    process (the tests), that one may carry another configuration.
    """
    celery = current_app.extensions["celery"]
    task = celery.tasks[render_print_job.name]
    if celery.conf.task_always_eager:
        task.delay(job_id)  # inline, in this transaction: the job is there
    else:
        after_commit(lambda: task.delay(job_id))  # a worker must find the job committed


def _redelivered(request) -> bool:
    """Whether this delivery of a task is a repeat (its first worker died)."""
    info = getattr(request, "delivery_info", None) or {}
    return bool(info.get("redelivered"))


@shared_task(bind=True, name="codes.render_print_job", ignore_result=True)
def render_print_job(self, job_id: int) -> None:
    """Render print job *job_id*'s label sheet into storage, committing progress as it goes."""
    job = db.session.get(PrintJob, job_id)
    if job is None:
        log.warning("print job %s does not exist", job_id)
        return
    if _redelivered(self.request) and printing.restart_abandoned(job):
        log.warning("print job %s was left running by a dead worker; drawing it again", job_id)
        db.session.commit()
    if not printing.start_job(job):
        log.info("print job %s is %s; nothing to do", job_id, job.status)
        return
    db.session.commit()
    pages = 0
    last_commit = time.monotonic()

    def progress(done: int, total: int) -> None:
        nonlocal pages, last_commit
        pages += 1
        printing.record_progress(job, done, total)
        now = time.monotonic()
        if pages % PROGRESS_EVERY_PAGES == 0 or now - last_commit >= PROGRESS_EVERY_SECONDS:
            db.session.commit()
            last_commit = now

    try:
        stored = printing.render_job_file(job, progress)
        printing.finish_job(job, stored)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        printing.fail_job(job, exc.message)
        db.session.commit()
    except Exception:
        log.exception("print job %s failed", job_id)
        db.session.rollback()
        printing.fail_job(job, _("生成标签失败，请稍后重试；问题已记录。"))
        db.session.commit()
