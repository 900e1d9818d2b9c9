"""Issuing 100,000 codes for one batch, on SQLite and on PostgreSQL.

Usage (from the repository root, after `make install`):

    .venv/bin/python bench/issue_codes.py --db sqlite
    .venv/bin/python bench/issue_codes.py --db postgresql   # throwaway db on 127.0.0.1:5432

Builds a fresh database with the demo data, then times `codes issue` for one batch three
times (generation, bulk insert and commit), in this process, and reports each run.
Target: under 5 s on PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.databases import throwaway_database  # noqa: E402


def main() -> int:
    """Run the benchmark and print one line per run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    with throwaway_database(args.db, "codes") as url:
        run(args, url)
    return 0


def run(args, url: str) -> None:
    """Seed the database at *url* and time the runs."""
    os.environ.update(YIPIN_ENV="production", SECRET_KEY="bench-only", DATABASE_URL=url)
    import flask_migrate
    from sqlalchemy import func, select

    from backend import create_app
    from backend.codes.models import UnitCode
    from backend.codes.services import get_batch, issue_codes
    from backend.demo.seed import seed_demo
    from backend.extensions import db

    app = create_app()
    with app.app_context():
        flask_migrate.upgrade()
        report = seed_demo()
        db.session.commit()
        batch_no = report.samples[0].batch_no
        print(f"database: {args.db}; batch {batch_no}; {args.count:,} codes per run")
        for n in range(1, args.runs + 1):
            started = time.perf_counter()
            issue_codes(get_batch(batch_no), args.count)
            db.session.commit()
            elapsed = time.perf_counter() - started
            print(f"run {n}: {elapsed:.2f} s ({args.count / elapsed:,.0f} codes/s)")
        total = db.session.scalar(select(func.count(UnitCode.id)))
        print(f"unit_codes rows now: {total:,}")
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
