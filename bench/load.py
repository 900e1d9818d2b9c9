"""The load harness: the consumers' scan mix and the operators' ledger writes, each measured
against the trivial endpoint in the same run, on the production setup (gunicorn with
deploy/gunicorn.conf.py, Redis for cache, limits and the scan queue, a Celery worker with
beat flushing scans, PostgreSQL), then gunicorn's worker memory after 100,000 requests.

Usage (from the repository root, after `make install`; needs Debian's wrk and redis-server):

    .venv/bin/python bench/load.py                    # docs/benchmarks.md's table (about 3 minutes)
    .venv/bin/python bench/load.py --seconds 5 --json # a quicker look, and JSON

It makes a throwaway PostgreSQL database on 127.0.0.1:5432 and a private redis-server on a
free loopback port (both removed at the end), seeds the demo, adds an operator with a token
to each workshop, and runs wrk (2 threads, 64 connections, --latency) in rounds: the trivial
endpoint /api/v1/ping, the scan mix on /api/v1/scan/<code> (bench/load_scan.lua: 90% on 20
hot codes, 10% on cold ones, 1 in 50 unknown), the same mix on the H5 page /t/<code>, and
cleaning-ledger writes with Idempotency-Keys spread over the workshops
(bench/load_ledger.lua). Ratios are against the trivial endpoint of the same round; p99 is
the worst round. Then it tops gunicorn up to 100,000 requests in all and reads each
worker's resident memory from /proc. At the end the database must hold exactly one ledger
entry per write the app answered with 201 (its Idempotency-Key records), at least as many
as wrk counted: the script exits 1 otherwise.
Only 127.0.0.1 is ever a target; every run ends by itself.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.databases import throwaway_database  # noqa: E402
from bench.scan import flask, free_port, sql, start_server, stop_server, wrk  # noqa: E402

VENV_BIN = Path(sys.executable).parent
HOT_CODES = 20

OPERATORS = """
import sys
from sqlalchemy import select
from backend import create_app
from backend.accounts.models import MemberRole, Role, User, WorkshopMembership
from backend.accounts.tokens import issue_token
from backend.extensions import db
from backend.registry.models import Staff, Workshop
app = create_app()
with app.app_context():
    lines = []
    for workshop in db.session.scalars(select(Workshop).order_by(Workshop.id)).all():
        staff = db.session.scalar(select(Staff).where(Staff.workshop_id == workshop.id,
                                                      Staff.active.is_(True)).limit(1))
        if staff is None:
            continue
        user = User(role=Role.OPERATOR, username=f"bench-{workshop.id}", display_name="压测")
        db.session.add(user)
        db.session.flush()
        db.session.add(WorkshopMembership(user_id=user.id, workshop_id=workshop.id,
                                          role=MemberRole.STAFF, active=True))
        lines.append(f"{workshop.id} {issue_token(user)} {staff.id}")
    db.session.commit()
    print("\\n".join(lines))
"""


def start_redis(directory: Path, port: int) -> subprocess.Popen:
    """A private redis-server as production should run it (append-only file, every second)."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
         "yes", "--appendfsync", "everysec", "--dir", str(directory)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(100):
        done = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True)
        if done.stdout.strip() == b"PONG":
            return process
        time.sleep(0.1)
    process.kill()
    raise SystemExit("redis-server did not start")


def start_worker(env: dict, log: Path) -> subprocess.Popen:
    """A Celery worker with an embedded beat (which flushes the scan queue)."""
    return subprocess.Popen(
        [str(VENV_BIN / "celery"), "-A", "backend.worker", "worker", "-B", "--concurrency=1",
         "--loglevel=WARNING", "--without-gossip", "--without-mingle",
         f"--schedule={log.parent / 'beat-schedule'}"],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip


def worker_memory(master: int) -> list[float]:
    """Resident memory (MB) of each gunicorn worker of *master*."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if int(fields.get("PPid", "0").strip()) == master:
            out.append(int(fields["VmRSS"].split()[0]) / 1024)
    return sorted(out)


def machine() -> str:
    """CPU model and count, memory, OS: the table's 'machine' line."""
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    memory = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    return f"{os.cpu_count()} × {model}, {memory:.0f} GB RAM, {platform.platform(terse=True)}"


def main() -> int:  # noqa: PLR0915 - one linear script
    """Run the harness, print the table (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--codes", type=int, default=2000)
    parser.add_argument("--memory-requests", type=int, default=100_000)
    parser.add_argument(
        "--workers", type=int, help="gunicorn sync workers (default: deploy/gunicorn.conf.py's)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")

    workdir = Path(tempfile.mkdtemp(prefix="yipin-load-"))
    port, redis_port = free_port(), free_port()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    env = {
        **os.environ,
        "YIPIN_ENV": "production",
        "SECRET_KEY": "bench-only",
        "PUBLIC_HOST": f"127.0.0.1:{port}",
        "PUBLIC_SCHEME": "http",
        "REDIS_URL": redis_url,
        "RATELIMIT_ENABLED": "1",
        "SCAN_RATE_LIMIT": "1000000000/minute",  # one loopback client makes every request
        "SCAN_FAILURE_LIMIT": "1000000000/minute",
        "SCAN_FLUSH_INTERVAL": "2.0",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
        "UPLOAD_DIR": str(workdir / "uploads"),
    }
    if args.workers:
        env["GUNICORN_WORKERS"] = str(args.workers)
    stack = ExitStack()
    redis_process = start_redis(workdir, redis_port)
    server = worker = None
    total_requests = 0
    results: dict[str, list[dict]] = {}
    try:
        env["DATABASE_URL"] = stack.enter_context(throwaway_database("postgresql", "load"))
        flask(env, "db", "upgrade")
        flask(env, "seed-demo")
        rows = sql(
            env,
            "SELECT u.code FROM unit_codes u JOIN batches b ON b.id = u.batch_id "
            f"WHERE u.status = 'active' ORDER BY u.id LIMIT {args.codes}",
        )
        codes_file = workdir / "codes.txt"
        codes_file.write_text("\n".join(r[0] for r in rows) + "\n")
        operators = subprocess.run(
            [sys.executable, "-c", OPERATORS], cwd=ROOT, env=env, capture_output=True,
            text=True, check=True,
        ).stdout  # fmt: skip
        operators_file = workdir / "operators.txt"
        operators_file.write_text(operators)
        scans_before = sql(env, "SELECT count(*) FROM scan_events")[0][0]
        entries_before = sql(env, "SELECT count(*) FROM ledger_entries")[0][0]

        worker = start_worker(env, workdir / "worker.log")
        server = start_server(env, port)
        base = f"http://127.0.0.1:{port}"
        scan_args = [str(codes_file), str(HOT_CODES)]
        routes = [
            ("trivial /api/v1/ping", base + "/api/v1/ping", None, None),
            ("scan mix, JSON /api/v1/scan", base + "/", "load_scan.lua",
             [*scan_args, "/api/v1/scan/"]),
            ("scan mix, H5 page /t/", base + "/", "load_scan.lua", [*scan_args, "/t/"]),
            ("ledger writes (POST)", base + "/", "load_ledger.lua", [str(operators_file)]),
        ]  # fmt: skip
        for _name, url, script, script_args in routes[1:3]:  # warm the caches
            total_requests += run(url, 3, args.connections, script, script_args)["requests"]
        for _round in range(args.rounds):
            for name, url, script, script_args in routes:
                result = run(url, args.seconds, args.connections, script, script_args)
                total_requests += result["requests"]
                results.setdefault(name, []).append(result)
        ledger_ok = sum(r["requests"] - r["non_2xx"] for r in results[routes[3][0]])

        while total_requests < args.memory_requests:  # top up to the memory mark
            result = run(routes[1][1], 10, args.connections, "load_scan.lua", routes[1][4])
            total_requests += result["requests"]
        memory = worker_memory(server.pid)
        stop_server(server)
        server = None
        redis = subprocess.run(
            ["redis-cli", "-p", str(redis_port), "llen", "yipin:scan:queue"],
            capture_output=True, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while redis.stdout.strip() != "0" and time.monotonic() < deadline:
            time.sleep(1)  # the worker's beat flushes what is left
            redis = subprocess.run(
                ["redis-cli", "-p", str(redis_port), "llen", "yipin:scan:queue"],
                capture_output=True, text=True,
            )  # fmt: skip
        time.sleep(3)  # a claim in flight is committed
        scans = sql(env, "SELECT count(*) FROM scan_events")[0][0] - scans_before
        entries = sql(env, "SELECT count(*) FROM ledger_entries")[0][0] - entries_before
        answered = sql(
            env,
            "SELECT count(*) FROM idempotency_records WHERE key LIKE 'bench-%' "
            "AND status_code = 201",
        )[0][0]
    finally:
        if server is not None:
            server.kill()
        if worker is not None:
            worker.terminate()
            worker.wait(30)
        redis_process.terminate()
        redis_process.wait(10)
        stack.close()
        shutil.rmtree(workdir, ignore_errors=True)

    trivial = [r["rps"] for r in results[routes[0][0]]]
    report = {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": machine(),
        "connections": args.connections,
        "seconds": args.seconds,
        "rounds": args.rounds,
        "routes": {},
        "gunicorn_requests": total_requests,
        "workers": len(memory),
        "worker_rss_mb": memory,
        "scan_events": scans,
        "ledger_entries": entries,
        "ledger_writes_acknowledged": ledger_ok,
        "ledger_writes_answered": answered,
    }
    print(f"{report['date']}, {report['machine']}")
    print(f"PostgreSQL, Redis, gunicorn {len(memory)} sync workers; wrk -t2 -c{args.connections} "
          f"-d{args.seconds}s, {args.rounds} rounds")  # fmt: skip
    print(f"| {'route':30} | {'req/s':>7} | {'× trivial':>9} | {'p50 ms':>6} | {'p99 ms':>6} |"
          f" {'non-2xx':>7} |")  # fmt: skip
    print(f"|{'-' * 32}|{'-' * 8}:|{'-' * 10}:|{'-' * 7}:|{'-' * 7}:|{'-' * 8}:|")
    for name, runs in results.items():
        rps = sum(r["rps"] for r in runs) / len(runs)
        ratio = sum(r["rps"] / t for r, t in zip(runs, trivial, strict=True)) / len(runs)
        p50 = max(r["latency_ms"]["50"] for r in runs)
        p99 = max(r["latency_ms"]["99"] for r in runs)
        non = sum(r["non_2xx"] for r in runs)
        report["routes"][name] = {"rps": rps, "ratio": ratio, "p50_ms": p50, "p99_ms": p99,
                                  "non_2xx": non}  # fmt: skip
        print(f"| {name:30} | {rps:7.0f} | {ratio:9.2f} | {p50:6.1f} | {p99:6.1f} | {non:7d} |")
    print(
        f"gunicorn workers after {total_requests:,} requests: "
        + ", ".join(f"{m:.0f} MB" for m in memory)
    )
    print(
        f"ledger: {ledger_ok} writes acknowledged by wrk, {answered} answered 201 by the app, "
        f"{entries} entries in the database (wrk does not count the writes in flight when "
        "each run stops)"
    )
    print(f"scans: {scans} events in the database (unknown codes are not recorded)")
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    return 0 if entries == answered >= ledger_ok else 1


def run(url: str, seconds: int, connections: int, script: str | None, script_args) -> dict:
    """wrk with one of this directory's scripts (or on the bare URL)."""
    if script is None:
        return wrk(url, seconds, connections, None)
    return _wrk_script(url, seconds, connections, script, script_args)


def _wrk_script(url: str, seconds: int, connections: int, script: str, script_args) -> dict:
    """wrk -s bench/<script> URL -- args; parsed like bench.scan.wrk."""
    import re

    from bench.scan import NON_2XX, WRK_LINE

    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s",
               "-s", str(ROOT / "bench" / script), url, "--", *script_args]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    non_2xx = int(NON_2XX.search(out).group(1)) if NON_2XX.search(out) else 0
    latency = {}
    for pct in ("50", "90", "99"):
        match = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", out)
        value, unit = float(match.group(1)), match.group(2)
        latency[pct] = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    return {
        "requests": int(WRK_LINE.search(out).group(1)),
        "non_2xx": non_2xx,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "latency_ms": latency,
    }


if __name__ == "__main__":
    sys.exit(main())
