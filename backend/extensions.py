"""Flask extensions, created unbound here and bound to the app in the factory."""

from flask_babel import Babel
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy

from backend.core.models import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
babel = Babel()
api = Api()
