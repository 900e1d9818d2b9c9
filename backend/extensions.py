"""Flask extensions, created unbound here and bound to the app in the factory."""

import marshmallow as ma
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api
from flask_smorest.error_handler import ErrorSchema as SmorestErrorSchema
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from backend.core.models import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
babel = Babel()


class ErrorSchema(SmorestErrorSchema):
    """The documented shape of every /api/v1 error (backend/errors.py), with its slug.

    Named like flask-smorest's own, so the OpenAPI component stays "Error".
    """

    error = ma.fields.String(
        metadata={"description": "Stable machine-readable slug, e.g. validation_failed"}
    )


class YipinApi(Api):
    """flask-smorest's Api documenting our error body (``error`` included)."""

    ERROR_SCHEMA = ErrorSchema


api = YipinApi()
login_manager = LoginManager()  # the console's sessions (backend/accounts/users.py)
csrf = CSRFProtect()  # checked by the console's blueprints, never on /api/
