"""Entry point for Celery workers: ``celery -A backend.worker worker``."""

from backend import create_app

app = create_app()
celery = app.extensions["celery"]
