"""Shared fixtures: one app and schema per run, a rolled-back transaction per test.

The suite runs on a temporary SQLite file by default and on PostgreSQL when
TEST_DATABASE_URL is set. The schema is built by running the real migrations once.
"""

from __future__ import annotations

import contextvars
import os

import flask_migrate
import pytest
from flask.testing import FlaskClient
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import inspect, text

from backend import create_app
from backend.config import TestingConfig, normalise_database_url
from backend.extensions import db as _db
from tests.support.fake_wechat import fake_wechat  # noqa: F401  (fixture)
from tests.support.network import block_network  # noqa: F401  (autouse guard)
from tests.support.redis import on_redis, redis_url  # noqa: F401  (fixtures)
from tests.support.scenarios import wine  # noqa: F401  (fixture)
from tests.support.workshop_day import shop  # noqa: F401  (fixture)


def make_config(database_url: str, **overrides) -> type[TestingConfig]:
    """A TestingConfig subclass pointing at *database_url*."""
    return type(
        "RunConfig", (TestingConfig,), {"SQLALCHEMY_DATABASE_URI": database_url, **overrides}
    )


class ConnectionSession(FlaskSession):
    """A session that uses the connection it was given.

    Flask-SQLAlchemy's session picks the app's engine even when the session has a bind, which
    would send the test's queries (and commits) past the test's transaction.
    """

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        """Return the session's own connection unless a bind is asked for explicitly."""
        if bind is None and self.bind is not None:
            return self.bind
        return super().get_bind(mapper, clause=clause, bind=bind, **kwargs)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """The database this run tests against."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return normalise_database_url(url)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'yipin-test.db'}"


def reset_schema() -> None:
    """Drop every table (and Alembic's version table) in the current app's database."""
    with _db.engine.begin() as connection:
        _db.metadata.drop_all(connection)
        if inspect(connection).has_table("alembic_version"):
            connection.execute(text("DROP TABLE alembic_version"))


def reset_app_state(app) -> None:
    """Forget what the app keeps between requests: cache, scan counts, rate limits."""
    app.extensions["cache"].clear()
    app.extensions["scan_recorder"].reset()
    app.extensions["scan_entries"].clear()
    app.extensions["rate_limits"].reset()


@pytest.fixture(scope="session")
def app(database_url):
    """The application, with the schema built once by the migrations."""
    application = create_app(make_config(database_url))
    with application.app_context():
        reset_schema()
        flask_migrate.upgrade()
    yield application
    with application.app_context():
        _db.engine.dispose()


@pytest.fixture()
def db(app):
    """The database, inside a transaction that is rolled back after the test.

    Code under test may commit: commits end a SAVEPOINT, never the outer transaction.
    """
    with app.app_context():
        reset_app_state(app)
        connection = _db.engine.connect()
        transaction = connection.begin()
        session = _db._make_scoped_session(
            {
                "bind": connection,
                "join_transaction_mode": "create_savepoint",
                "class_": ConnectionSession,
            }
        )
        original, _db.session = _db.session, session
        try:
            yield _db
        finally:
            session.remove()
            _db.session = original
            transaction.rollback()
            connection.close()


class RequestClient(FlaskClient):
    """A test client whose every request gets its own app context, as in production.

    Without this, requests would reuse the test's app context and so share `g`, the cached
    locale and the database session between requests. The database connection (and so the
    test's transaction) is still shared.
    """

    def open(self, *args, **kwargs):
        """Send the request from an empty context."""
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture()
def client(app, db):
    """A test client whose requests share the test's transaction."""
    app.test_client_class = RequestClient
    return app.test_client()


@pytest.fixture()
def runner(app, db):
    """A CLI runner for ``flask --app backend`` commands, sharing the transaction."""
    return app.test_cli_runner()
