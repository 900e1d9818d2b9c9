"""Scan throughput: /api/v1/scan/<code> and /t/<code> against /api/v1/ping, side by side.

Usage (from the repository root, after `make install`; needs Debian's wrk):

    .venv/bin/python bench/scan.py --db sqlite
    .venv/bin/python bench/scan.py --db postgresql   # a throwaway database on 127.0.0.1:5432

It builds and seeds a fresh database, starts gunicorn (deploy/gunicorn.conf.py, 2 sync
workers) on a loopback port, warms the caches, then runs wrk (64 connections, --latency) on
each route in turn, cycling through a few hundred real codes. After a graceful stop it
checks the bookkeeping exactly: a fixed number of scans (16 keep-alive clients, API and page
alternately), a graceful stop, and the scan events in the database must equal the 200s.
Only 127.0.0.1 is ever a target; every run ends by itself.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.databases import throwaway_database  # noqa: E402

VENV_BIN = Path(sys.executable).parent
WRK_LINE = re.compile(r"(\d+) requests in")
NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def flask(env: dict, *args: str) -> str:
    """Run a ``flask --app backend`` command and return its output."""
    result = subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "backend", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def sql(env: dict, query: str) -> list:
    """Run one query against the benchmark database (through the app's engine)."""
    code = (
        "import json,sys\nfrom sqlalchemy import text\nfrom backend import create_app\n"
        "from backend.extensions import db\napp=create_app()\nwith app.app_context():\n"
        "    rows=db.session.execute(text(sys.argv[1])).all()\n"
        "    print(json.dumps([list(r) for r in rows]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, query],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


def wrk(url: str, seconds: int, connections: int, script_args: list[str] | None) -> dict:
    """Run wrk against *url*; return requests, non-2xx, rps and latency percentiles (ms)."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    if script_args:
        command += ["-s", str(ROOT / "bench" / "rotate.lua"), url, "--", *script_args]
    else:
        command.append(url)
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    requests = int(WRK_LINE.search(out).group(1))
    non_2xx = int(NON_2XX.search(out).group(1)) if NON_2XX.search(out) else 0
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latency = {}
    for pct in ("50", "90", "99"):
        match = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", out)
        value, unit = float(match.group(1)), match.group(2)
        latency[pct] = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    return {"requests": requests, "non_2xx": non_2xx, "rps": rps, "latency_ms": latency}


def fixed_count(port: int, codes: list[str], per_thread: int, threads: int = 16) -> int:
    """Send exactly threads × per_thread scans (API and page alternately); count the 200s."""
    import http.client
    import threading

    ok = [0] * threads

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for n in range(per_thread):
            code = codes[(index * per_thread + n) % len(codes)]
            path = f"/api/v1/scan/{code}" if n % 2 else f"/t/{code}"
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            ok[index] += response.status == 200
        conn.close()

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return sum(ok)


def start_server(env: dict, port: int) -> subprocess.Popen:
    """gunicorn with the deployment settings, waiting until it answers."""
    server = subprocess.Popen(
        [
            str(VENV_BIN / "gunicorn"),
            "-c",
            str(ROOT / "deploy" / "gunicorn.conf.py"),
            "backend:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(150):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/ping", timeout=1).read()
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("gunicorn did not answer within 30 s")


def stop_server(server: subprocess.Popen) -> None:
    """Graceful stop: every worker flushes its queued scan events first."""
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=60)


def main() -> int:
    """Run the benchmark and print a table (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--codes", type=int, default=500)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="yipin-bench-"))
    port = free_port()
    env = {
        **os.environ,
        "YIPIN_ENV": "production",
        "SECRET_KEY": "bench-only",
        "PUBLIC_HOST": f"127.0.0.1:{port}",
        "PUBLIC_SCHEME": "http",
        "RATELIMIT_ENABLED": "1",
        "SCAN_RATE_LIMIT": "1000000000/minute",  # one loopback client makes every request
        "SCAN_FAILURE_LIMIT": "1000000000/minute",
        "SCAN_FLUSH_INTERVAL": "5.0",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        # without Redis the workers share their rate limits in a file: the run's own
        "RATELIMIT_STORE_PATH": str(workdir / "ratelimits.sqlite3"),
    }
    env.pop("REDIS_URL", None)
    databases = ExitStack()
    env["DATABASE_URL"] = databases.enter_context(throwaway_database(args.db, "scan"))
    server = None
    try:
        flask(env, "db", "upgrade")
        flask(env, "seed-demo")
        rows = sql(
            env,
            "SELECT u.code FROM unit_codes u JOIN batches b ON b.id = u.batch_id "
            f"WHERE u.status = 'active' ORDER BY u.id LIMIT {args.codes}",
        )
        codes_file = workdir / "codes.txt"
        codes_file.write_text("\n".join(r[0] for r in rows) + "\n")
        before = sql(env, "SELECT count(*) FROM scan_events")[0][0]

        codes = [r[0] for r in rows]
        # 1. Exact accounting: a fixed number of scans, then a graceful stop, then count.
        server = start_server(env, port)
        exact_ok = fixed_count(port, codes, per_thread=250)
        stop_server(server)
        server = None
        exact_events = sql(env, "SELECT count(*) FROM scan_events")[0][0] - before
        before = exact_events + before

        # 2. Throughput and latency with wrk, side by side with the trivial endpoint.
        server = start_server(env, port)
        base = f"http://127.0.0.1:{port}"
        routes = [
            ("trivial /api/v1/ping", "/api/v1/ping", None),
            ("scan API /api/v1/scan/<code>", "/api/v1/scan/", [str(codes_file)]),
            ("scan page /t/<code>", "/t/", [str(codes_file)]),
        ]
        scan_ok = 0
        for _, path, script in routes[1:]:  # warm the caches on every code
            result = wrk(base + path, 3, args.connections, script + [path])
            scan_ok += result["requests"] - result["non_2xx"]
        results = {}
        for _round in range(2):  # two rounds, interleaved, so drift hits every route alike
            for name, path, script in routes:
                result = wrk(
                    base + path, args.seconds, args.connections, script + [path] if script else None
                )
                if script:
                    scan_ok += result["requests"] - result["non_2xx"]
                results.setdefault(name, []).append(result)
        stop_server(server)
        server = None
        after = sql(env, "SELECT count(*) FROM scan_events")[0][0]
    finally:
        if server is not None:
            server.kill()
        databases.close()

    trivial = sum(r["rps"] for r in results[routes[0][0]]) / 2
    report = {
        "database": args.db,
        "connections": args.connections,
        "seconds": args.seconds,
        "routes": {},
        "scan_requests_ok": scan_ok,
        "scan_events_recorded": after - before,
    }
    print(f"database: {args.db}, wrk -c{args.connections} -d{args.seconds}s, 2 rounds")
    print(f"{'route':32} {'req/s':>9} {'ratio':>6} {'p50 ms':>7} {'p99 ms':>7} {'non-2xx':>8}")
    for name, runs in results.items():
        rps = sum(r["rps"] for r in runs) / len(runs)
        p50 = max(r["latency_ms"]["50"] for r in runs)
        p99 = max(r["latency_ms"]["99"] for r in runs)
        non = sum(r["non_2xx"] for r in runs)
        report["routes"][name] = {
            "rps": rps,
            "ratio": rps / trivial,
            "p50_ms": p50,
            "p99_ms": p99,
            "non_2xx": non,
        }
        print(f"{name:32} {rps:9.0f} {rps / trivial:6.2f} {p50:7.1f} {p99:7.1f} {non:8d}")
    print(f"fixed-count phase: {exact_ok} successful scans, {exact_events} scan events recorded")
    print(
        f"wrk phases: {scan_ok} successful scans counted by wrk, {after - before} scan events "
        "(wrk does not count the requests still in flight when each run stops)"
    )
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    return 0 if exact_ok == exact_events else 1


if __name__ == "__main__":
    sys.exit(main())
