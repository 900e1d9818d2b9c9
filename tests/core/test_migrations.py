"""The migrations build the schema the models describe, and take it down again.

Each test gets a fresh, empty database: a new SQLite file, or on PostgreSQL (when
TEST_DATABASE_URL is set) a throwaway database on the same server, dropped afterwards.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid
from contextlib import closing
from pathlib import Path

import flask_migrate
import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from psycopg import sql
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from backend import create_app
from backend.extensions import db
from tests.conftest import make_config

ROOT = Path(__file__).resolve().parents[2]
EXPECTED_TABLES = {
    "workshops",
    "batches",
    "unit_codes",
    "scan_events",
    "ledger_entries",
    "standard_limits",
    "cameras",
    "complaints",
    "users",
    "audit_log",
}


@pytest.fixture()
def empty_database_url(database_url, tmp_path):
    """The URL of a new, empty database of the same kind as the suite's."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"{url.database}_mig_{uuid.uuid4().hex[:8]}"
    server = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(name)))


@pytest.fixture()
def empty_app(empty_database_url):
    """An app of its own on the empty database; its connections are closed afterwards."""
    application = create_app(make_config(empty_database_url))
    with application.app_context():
        try:
            yield application
        finally:
            db.session.remove()
            db.engine.dispose()


def table_names() -> set[str]:
    """The tables now in the current app's database."""
    with db.engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def schema_differences() -> list:
    """What autogenerate would change to make the database match the models."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_empty_database_starts_empty(empty_app):
    assert table_names() == set()


def test_upgrade_matches_models_and_downgrade_removes_everything(empty_app):
    flask_migrate.upgrade()

    tables = table_names()
    assert len(tables) >= 40, sorted(tables)
    assert EXPECTED_TABLES <= tables
    assert "alembic_version" in tables
    assert tables - {"alembic_version"} == set(db.metadata.tables)
    assert schema_differences() == []

    flask_migrate.downgrade(revision="base")
    assert table_names() <= {"alembic_version"}

    flask_migrate.upgrade()
    assert EXPECTED_TABLES <= table_names()
    assert schema_differences() == []


def cli(*args: str, database: Path) -> subprocess.CompletedProcess:
    """``flask --app backend <args>`` in development mode on the SQLite file *database*."""
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "FLASK_APP")}
    env.update(YIPIN_ENV="development", DATABASE_URL=f"sqlite:///{database}")
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "backend", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def sqlite_tables(database: Path) -> set[str]:
    """The tables in the SQLite file *database*."""
    with closing(sqlite3.connect(database)) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for (name,) in rows if not name.startswith("sqlite_")}


def test_cli_upgrade_and_downgrade_on_sqlite(tmp_path):
    database = tmp_path / "cli.db"

    upgraded = cli("db", "upgrade", database=database)
    assert upgraded.returncode == 0, upgraded.stderr
    assert EXPECTED_TABLES <= sqlite_tables(database)

    current = cli("db", "current", database=database)
    assert current.returncode == 0, current.stderr
    assert "(head)" in current.stdout

    downgraded = cli("db", "downgrade", "base", database=database)
    assert downgraded.returncode == 0, downgraded.stderr
    assert sqlite_tables(database) <= {"alembic_version"}
