"""The backup and restore procedure of docs/deployment.md, run for real: ``pg_dump`` of a seeded
throwaway database, ``pg_restore`` into another, the same rows in every table, the restored
copy usable by the app (its ledger chains verify, Alembic at the same head).

Runs on the PostgreSQL pass of the suite (TEST_DATABASE_URL's server), skipped on SQLite.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import psycopg
import pytest
from sqlalchemy.engine import make_url

from backend.extensions import db
from tests.faults.helpers import build_app, own_database

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
    reason="needs PostgreSQL (runs on the PostgreSQL pass)",
)


def libpq(url: str) -> str:
    """*url* as pg_dump and psycopg take it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def row_counts(url: str) -> dict[str, int]:
    """Rows in every table of the public schema."""
    with psycopg.connect(libpq(url)) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def tool(name: str) -> str:
    """A PostgreSQL client tool, or skip."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed")
    return path


def test_a_dump_restores_into_an_empty_database(tmp_path):
    from backend.demo.seed import seed_demo
    from backend.ledgers.chain import verify_chains

    pg_dump, pg_restore = tool("pg_dump"), tool("pg_restore")
    with (
        own_database(tmp_path / "a") as source,
        own_database(tmp_path / "b") as target,
    ):
        app = build_app({"SQLALCHEMY_DATABASE_URI": source})
        with app.app_context():
            seed_demo()
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
        dump = tmp_path / "yipin.dump"
        # The commands of docs/deployment.md, word for word (but for the URLs).
        subprocess.run(
            [pg_dump, "--format=custom", "--no-owner", "--file", str(dump), libpq(source)],
            check=True,
        )
        subprocess.run(
            [pg_restore, "--no-owner", "--exit-on-error", "--single-transaction",
             "--dbname", libpq(target), str(dump)],
            check=True,
        )  # fmt: skip
        before, after = row_counts(source), row_counts(target)
        assert after == before
        assert before["unit_codes"] > 0 and before["ledger_entries"] > 0
        assert before["alembic_version"] == 1
        restored = build_app({"SQLALCHEMY_DATABASE_URI": target})  # upgrade: nothing to do
        with restored.app_context():
            results = verify_chains()
            assert results and all(r.ok for r in results)
            db.session.remove()
            db.engine.dispose()
