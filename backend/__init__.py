"""Yipin 一品一码: the application factory.

gunicorn runs ``"backend:create_app()"``; the command line is ``flask --app backend ...``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from babel import Locale
from flask import Flask
from flask_babel import get_locale

from backend.config import INSTANCE_DIR, Config, ConfigError, config_class, normalise_database_url
from backend.core.transactions import Application

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger(__name__)


def create_app(config: type[Config] | Mapping | None = None) -> Flask:
    """Build the Flask application; each step registers one concern."""
    app = Application(  # commits each request once, at the edge
        __name__,
        instance_path=str(INSTANCE_DIR),
        static_folder=str(ROOT / "static"),
        static_url_path="/static",
    )
    try:
        load_config(app, config)
    except ConfigError as exc:
        print(f"Yipin cannot start: {exc}", file=sys.stderr)
        raise SystemExit(3) from None
    app.json.ensure_ascii = False  # Chinese stays readable in JSON
    register_observability(app)
    register_extensions(app)
    register_error_handlers(app)
    register_security_headers(app)
    register_blueprints(app)
    register_cli(app)
    register_shell_context(app)
    return app


def load_config(app: Flask, config: type[Config] | Mapping | None) -> None:
    """Load settings from a config class (YIPIN_ENV's by default) plus optional overrides."""
    if isinstance(config, type):
        app.config.from_object(config)
        validator = config
    else:
        validator = config_class()
        app.config.from_object(validator)
        app.config.update(config or {})
    validator.validate(app.config)
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(
        app.config["SQLALCHEMY_DATABASE_URI"]
    )
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)


def register_observability(app: Flask) -> None:
    """Logs with request ids, the access log and Prometheus metrics (first, so that every
    request, even one refused early, has an id and is counted)."""
    from backend.observability import init_observability

    init_observability(app)


def register_extensions(app: Flask) -> None:
    """Bind the database, migrations, translations, the API and the console's logins."""
    import backend.core.sqlite  # noqa: F401  (SQLite connection settings)
    import backend.models  # noqa: F401  (every table, for Alembic)
    from backend.accounts.users import init_login
    from backend.core.cache import init_cache
    from backend.core.ratelimit import init_rate_limits
    from backend.extensions import api, babel, csrf, db, migrate
    from backend.jobs import init_celery
    from backend.scan import init_scan

    if app.config["PROXY_FIX_X_FOR"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_FIX_X_FOR"])
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    init_cache(app)
    init_scan(app)
    init_celery(app)
    init_rate_limits(app)
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["get_locale"] = get_locale
    api.init_app(app)
    init_login(app)
    csrf.init_app(app)


@lru_cache(maxsize=8)
def _locale(identifier: str) -> Locale:
    """A parsed Locale; Babel's parser is slow enough to show on the scan path."""
    return Locale.parse(identifier)


def select_locale() -> Locale:
    """Chinese first: ?lang=, then the lang cookie, then Accept-Language, else zh_CN
    (backend/core/i18n.py chooses; outside a request it is zh_CN)."""
    from backend.core.i18n import choose_locale_id

    return _locale(choose_locale_id())


def register_error_handlers(app: Flask) -> None:
    """Install the one error format (JSON under /api/, HTML elsewhere)."""
    from backend.errors import register_error_handlers as install

    install(app)


def register_security_headers(app: Flask) -> None:
    """Send the security headers (CSP, HSTS, framing, nosniff, referrer) on every response."""
    from backend.core.security import init_security

    init_security(app)


def register_blueprints(app: Flask) -> None:
    """Mount the health check, the streaming server's callbacks, the mini-program API and
    the portal."""
    import miniprogram_api
    import portal
    from backend.cameras.hooks import blueprint as streaming
    from backend.health import blueprint as health

    app.register_blueprint(health)
    app.register_blueprint(streaming)
    miniprogram_api.register(app)
    portal.register(app)


def register_cli(app: Flask) -> None:
    """Add the project's commands to ``flask --app backend``."""
    from backend.cli import register

    register(app)


def register_shell_context(app: Flask) -> None:
    """Make the database and models available in ``flask shell``."""
    import backend.models as models
    from backend.extensions import db

    app.shell_context_processor(lambda: {"db": db, "m": models})
