"""Throwaway databases for the benchmarks: a SQLite file or a PostgreSQL database on loopback."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


def _psql(sql: str, check: bool) -> None:
    """Run one statement as postgres on 127.0.0.1."""
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=check)


@contextmanager
def throwaway_database(kind: str, name: str) -> Iterator[str]:
    """Yield the URL of a fresh database of *kind* ("sqlite" or "postgresql"); drop it after."""
    if kind == "sqlite":
        yield f"sqlite:///{tempfile.mkdtemp(prefix='yipin-bench-')}/{name}.db"
        return
    database = f"yipin_bench_{name}_{os.getpid()}"
    _psql(f"CREATE DATABASE {database}", check=True)
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{database}"
    finally:
        _psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)", check=False)
