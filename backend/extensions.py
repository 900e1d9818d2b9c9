"""Flask extensions, created unbound here and bound to the app in the factory."""

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from backend.core.models import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
babel = Babel()
api = Api()
login_manager = LoginManager()  # the console's sessions (backend/accounts/users.py)
csrf = CSRFProtect()  # checked by the console's blueprints, never on /api/
