"""Entry point for Celery workers: ``celery -A backend.worker worker``.

Celery looks for an attribute named ``app`` (then ``celery``) in this module, so the Flask
application must not be called ``app`` here.
"""

from backend import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]
