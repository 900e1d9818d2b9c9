"""Benchmark: label-sheet PDFs for 1,000 and 10,000 codes; time and peak memory per size.

Each size gets a throwaway SQLite database with one released batch and its codes, issued
by the real service. The sheet is then rendered by ``printing.render_labels`` (codes read
from the database in chunks, pages streamed to a file) in fresh subprocesses: one timed,
reporting the process's peak RSS (``getrusage``) against its RSS just before rendering, and
one under ``tracemalloc`` for the peak of Python allocations during the render (tracemalloc
slows Python down, so its run is not timed). Memory that does not grow with the run size is
the point.

    .venv/bin/python bench/labels.py                 # 1,000 and 10,000 codes
    .venv/bin/python bench/labels.py --sizes 100 1000 20000 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BATCH_NO = "BENCH-20261126-01"


def make_app(database: Path, workdir: Path):
    """A development app on the SQLite file *database*, storing files under *workdir*."""
    os.environ["YIPIN_ENV"] = "development"
    sys.path.insert(0, str(ROOT))
    from backend import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
            "UPLOAD_DIR": str(workdir / "uploads"),
            "PUBLIC_HOST": "yipin.example.cn",
            "PUBLIC_SCHEME": "https",
        }
    )


def seed(database: Path, workdir: Path, count: int) -> None:
    """Build the schema and one released batch of *count* codes."""
    import flask_migrate

    from backend.codes.services import issue_codes
    from backend.extensions import db
    from backend.models import (
        Batch,
        BatchState,
        Product,
        ProductCategory,
        Workshop,
        WorkshopStatus,
    )

    app = make_app(database, workdir)
    with app.app_context():
        flask_migrate.upgrade(directory=str(ROOT / "migrations"))
        category = ProductCategory(code="wine-bench", name_zh="酒类", name_en="Wines")
        workshop = Workshop(
            registration_no="JY-XZF-350625-BENCH1",
            name="长泰区半里乡四大桶红曲酒作坊",
            operator_name="林德福",
            contact_phone="0596-8321234",
            address="福建省漳州市长泰区半里乡小作坊集中加工区3号",
            township="半里乡",
            district="长泰区",
            status=WorkshopStatus.ACTIVE,
            issuing_authority="漳州市长泰区市场监督管理局",
            cert_issued_on=date(2024, 1, 1),
            cert_long_term=True,
        )
        product = Product(
            workshop=workshop,
            category=category,
            name="半里红曲酒",
            specification="500ml",
            shelf_life_days=None,
            labelled_alcohol=15.0,
            ingredients="水、糯米、红曲",
            storage="阴凉干燥处",
        )
        batch = Batch(
            batch_no=BATCH_NO,
            workshop=workshop,
            product=product,
            state=BatchState.RELEASED,
            produced_on=date(2026, 11, 26),
        )
        db.session.add_all([category, workshop, product, batch])
        db.session.flush()
        issue_codes(batch, count)
        db.session.commit()
        db.engine.dispose()


def rss_kib() -> int:
    """The current resident set size in KiB (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def render(database: Path, workdir: Path, trace: bool) -> dict:
    """Render the batch's sheet to a file; return time and memory figures."""
    import tracemalloc

    from backend.codes import labels, printing
    from backend.codes.services import get_batch

    app = make_app(database, workdir)
    with app.app_context():
        batch = get_batch(BATCH_NO)
        labels.find_font()
        printing.label_text_for(batch)  # warm the relationships, like a real job would
        before = rss_kib()
        if trace:
            tracemalloc.start()
        started = time.perf_counter()
        with open(workdir / "labels.pdf", "wb") as out:
            result = printing.render_labels(out, batch)
        seconds = time.perf_counter() - started
        figures = {
            "labels": result.labels,
            "pages": result.pages,
            "bytes": result.size,
            "font": labels.find_font().path,
        }
        if trace:
            figures["tracemalloc_peak_kib"] = tracemalloc.get_traced_memory()[1] // 1024
            tracemalloc.stop()
        else:
            figures["seconds"] = seconds
            figures["rss_before_kib"] = before
            figures["maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return figures


def child(args: argparse.Namespace) -> None:
    """Run one step in this (fresh) process and print its figures as JSON."""
    database, workdir = Path(args.database), Path(args.workdir)
    if args.step == "seed":
        seed(database, workdir, args.count)
        print(json.dumps({}))
    else:
        print(json.dumps(render(database, workdir, trace=args.step == "trace")))


def step(name: str, database: Path, workdir: Path, count: int = 0) -> dict:
    """Run one step in a new Python process."""
    command = [
        sys.executable,
        __file__,
        "--step",
        name,
        "--database",
        str(database),
        "--workdir",
        str(workdir),
        "--count",
        str(count),
    ]
    env = {**os.environ, "YIPIN_ENV": "development"}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{name} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    """Benchmark each size and print a table (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--step", choices=["seed", "render", "trace"], help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        child(args)
        return

    python = platform.python_version()
    print(f"{date.today()}  nproc={os.cpu_count()}  {cpu_model()}  Python {python}")
    header = (
        f"{'codes':>7} {'pages':>6} {'seconds':>8} {'labels/s':>9} {'PDF MiB':>8} "
        f"{'RSS before':>11} {'peak RSS':>9} {'RSS growth':>11} {'tracemalloc peak':>17}"
    )
    print(header)
    rows = []
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix="yipin-bench-labels-") as tmp:
            workdir = Path(tmp)
            database = workdir / "bench.db"
            step("seed", database, workdir, size)
            timed = step("render", database, workdir)
            traced = step("trace", database, workdir)
        row = {"codes": size, **timed, "tracemalloc_peak_kib": traced["tracemalloc_peak_kib"]}
        rows.append(row)
        print(
            f"{size:>7,} {row['pages']:>6,} {row['seconds']:>8.2f} "
            f"{size / row['seconds']:>9.0f} {row['bytes'] / 2**20:>8.2f} "
            f"{row['rss_before_kib'] / 1024:>8.1f} MiB {row['maxrss_kib'] / 1024:>5.1f} MiB "
            f"{(row['maxrss_kib'] - row['rss_before_kib']) / 1024:>7.1f} MiB "
            f"{row['tracemalloc_peak_kib'] / 1024:>13.2f} MiB"
        )
    print(f"font: {rows[0]['font']}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
