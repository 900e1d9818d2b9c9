"""Make SQLite behave: enforce foreign keys and let SQLAlchemy own transactions.

Python's sqlite3 module opens transactions on its own, which breaks SAVEPOINT (and so the
test suite's per-test rollback); with these listeners SQLAlchemy emits BEGIN itself.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine


@event.listens_for(Engine, "connect")
def _on_connect(dbapi_connection, _record) -> None:
    """Turn on foreign keys and hand transaction control to SQLAlchemy."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        # Readers never wait for the scan flusher's writes (ignored for in-memory databases).
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


@event.listens_for(Engine, "begin")
def _on_begin(connection) -> None:
    """Emit BEGIN for SQLite, which the driver no longer does by itself."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN")
