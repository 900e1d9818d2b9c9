"""Background jobs: Celery, bound to the Flask app.

With ``REDIS_URL`` set, tasks go to Celery workers through Redis
(``celery -A backend.worker worker``); without it (the embedded default and the tests) they
run inline, in the caller's process and transaction, so one machine and one command still
work. A task queued for a worker waits for the caller's commit
(:func:`backend.core.transactions.after_commit`): a worker must find the rows it is sent.

Tasks are acknowledged only after they finish (``task_acks_late``) and requeued when the
worker running them dies (``task_reject_on_worker_lost``): a label job whose worker is
killed runs again, and the job itself makes sure no code is issued twice.
"""

from __future__ import annotations

from celery import Celery, Task
from flask import Flask, current_app, has_app_context


def init_celery(app: Flask) -> Celery:
    """Create the Celery app for *app*; every task runs inside an app context."""

    class FlaskTask(Task):
        """A task that runs with the Flask app's context pushed."""

        def __call__(self, *args, **kwargs):
            if has_app_context() and current_app._get_current_object() is app:
                return self.run(*args, **kwargs)  # inline: in the caller's transaction
            with app.app_context():
                return self.run(*args, **kwargs)

    redis_url = app.config.get("REDIS_URL")
    celery = Celery(app.name, task_cls=FlaskTask)
    celery.conf.update(
        broker_url=redis_url or "memory://",
        result_backend=redis_url,
        task_always_eager=app.config["CELERY_ALWAYS_EAGER"],
        task_eager_propagates=True,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        timezone="Asia/Shanghai",
    )
    from backend.cameras.tasks import beat_schedule as video_schedule  # (and the cameras' tasks)
    from backend.reminders.tasks import beat_schedule  # (also registers the reminders' task)
    from backend.scan import FLUSH_TASK  # (registers the scan flushing task)

    celery.conf.beat_schedule = {  # celery -A backend.worker beat
        **beat_schedule(app.config),
        **video_schedule(app.config),
    }
    if redis_url and app.config["SCAN_FLUSH_INTERVAL"] > 0:
        celery.conf.beat_schedule["flush-scans"] = {
            "task": FLUSH_TASK,
            "schedule": app.config["SCAN_FLUSH_INTERVAL"],
            "options": {"expires": max(1.0, app.config["SCAN_FLUSH_INTERVAL"])},
        }
    celery.set_default()
    app.extensions["celery"] = celery
    return celery
