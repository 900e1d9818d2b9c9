"""Two real gunicorn workers and no Redis (issue 15, item 6): every worker shows a hold on
the very next scan after it commits, one code's scan numbers never go back or repeat, and
the scan rate limit holds at its value across the workers.

gunicorn runs as deploy/ runs it (``-c deploy/gunicorn.conf.py "backend:create_app()"``),
with GUNICORN_WORKERS=2, REDIS_URL empty, on a SQLite file (or a throwaway PostgreSQL
database next to TEST_DATABASE_URL's). Its access log records each request's worker pid,
so the test knows both workers answered.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from backend.extensions import db
from tests.faults.helpers import build_app, free_port, own_database, wait_for

ROOT = Path(__file__).resolve().parents[2]


def get(url: str, client: str) -> tuple[int, dict | str]:
    """GET *url* as client address *client* (X-Forwarded-For, one trusted proxy)."""
    request = urllib.request.Request(url, headers={"X-Forwarded-For": client})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 - loopback
            body = response.read().decode()
            status = response.status
    except urllib.error.HTTPError as error:
        body, status = error.read().decode(), error.code
    if body.startswith("{"):
        return status, json.loads(body)
    return status, body


@pytest.fixture()
def server(tmp_path):
    """gunicorn with two workers on a database of its own; yields (base URL, app, batch id,
    codes, access log)."""
    from backend.batches.models import BatchState
    from backend.codes.models import UnitCode
    from backend.codes.services import issue_codes
    from tests.factories import BatchFactory, ProductFactory, WorkshopFactory

    with own_database(tmp_path) as database_url:
        app = build_app({"SQLALCHEMY_DATABASE_URI": database_url})
        with app.app_context():
            product = ProductFactory(workshop=WorkshopFactory(), shelf_life_days=None)
            batch = BatchFactory(
                product=product, state=BatchState.RELEASED, produced_on=date(2026, 11, 20)
            )
            issuance = issue_codes(batch, 4)
            db.session.commit()
            batch_id = batch.id
            codes = list(
                db.session.scalars(select(UnitCode.code).where(UnitCode.issuance_id == issuance.id))
            )
            db.session.remove()
        port = free_port()
        access = tmp_path / "access.log"
        env = {
            **os.environ,
            "YIPIN_ENV": "development",
            "DATABASE_URL": database_url,
            "REDIS_URL": "",
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": "2",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
            "RATELIMIT_STORE_PATH": str(tmp_path / "ratelimits.sqlite3"),
            "SCAN_RATE_LIMIT": "60/minute",
            "PROXY_FIX_X_FOR": "1",
            "LOG_LEVEL": "WARNING",
        }
        process = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py",
                "--access-logfile", str(access), "--access-logformat", "%(p)s %(s)s %(U)s",
                "backend:create_app()",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            assert process.poll() is None, process.stderr.read().decode()[-3000:]
            try:
                return get(base + "/api/v1/ping", "10.9.9.9")[0] == 200
            except OSError:
                return False

        try:
            wait_for(up, 30, "gunicorn to answer")
            yield base, app, batch_id, codes, access
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stderr.close()
            with app.app_context():
                db.engine.dispose()  # before its database is dropped


def workers_that_answered(access: Path, path_part: str, after: int = 0) -> set[str]:
    """Pids of the workers that answered requests whose path contains *path_part*, in the
    access log's lines after the first *after*."""
    time.sleep(0.2)  # the access log is written after the response
    lines = access.read_text().splitlines()[after:]
    return {line.split()[0] for line in lines if path_part in line}


def log_length(access: Path) -> int:
    """How many lines the access log has now."""
    time.sleep(0.2)
    return len(access.read_text().splitlines())


def until_both_answered(  # noqa: PLR0913 - what a round needs
    access: Path, part: str, send, after: int = 0, rounds: int = 12, at_once: int = 8
):
    """Send *at_once* requests at a time (``send(i)`` for a running i) until both workers
    have answered requests whose path contains *part* (in the log after its first *after*
    lines), at most *rounds* times; the replies.

    The kernel hands connections to whichever worker is free, and a fast answer leaves one
    worker free for all of them: concurrent rounds make the other one take part too."""
    replies = []
    for round_no in range(rounds):
        with ThreadPoolExecutor(at_once) as pool:
            replies += pool.map(send, range(round_no * at_once, (round_no + 1) * at_once))
        if len(workers_that_answered(access, part, after)) == 2:
            break
    return replies


def test_two_workers_without_redis_agree(server):
    from backend.batches.models import Batch, BatchState
    from backend.batches.states import change_state

    base, app, batch_id, codes, access = server

    # 20 scans of one code, one after another: 20 distinct, increasing numbers
    numbers = []
    for _ in range(20):
        status, body = get(f"{base}/api/v1/scan/{codes[0]}", "10.0.0.1")
        assert status == 200, body
        numbers.append(body["scan"]["number"])
    assert numbers == list(range(1, 21))
    # 20 more at once, four at a time: none repeats, none goes back
    with ThreadPoolExecutor(4) as pool:
        replies = list(
            pool.map(lambda _: get(f"{base}/api/v1/scan/{codes[0]}", "10.0.0.2"), range(20))
        )
    # ... and more at once (each round from clients of its own, under the scan limit) until
    # both workers have taken part
    replies += until_both_answered(
        access,
        codes[0],
        lambda i: get(f"{base}/api/v1/scan/{codes[0]}", f"10.0.{1 + i // 8}.2"),
    )
    assert all(status == 200 for status, _ in replies)
    numbers = sorted(body["scan"]["number"] for _, body in replies)
    assert numbers == list(range(21, 21 + len(replies)))
    assert len(workers_that_answered(access, codes[0])) == 2  # both workers took part

    # both workers hold the released view now; the batch is held and committed ...
    for code in codes[1:]:
        warm = until_both_answered(
            access, code, lambda i, code=code: get(f"{base}/t/{code}", f"10.1.{i // 8}.3")
        )
        assert all(status == 200 for status, _ in warm)
        assert len(workers_that_answered(access, code)) == 2
    with app.app_context():
        change_state(db.session.get(Batch, batch_id), BatchState.HELD, reason="苯甲酸快检阳性")
        db.session.commit()
        db.session.remove()
    # ... and the very next 20 scans, across both workers, all show it held
    since_hold = log_length(access)
    with ThreadPoolExecutor(2) as pool:
        held = list(
            pool.map(lambda n: get(f"{base}/api/v1/scan/{codes[1 + n % 3]}", "10.0.0.4"), range(20))
        )
    held += until_both_answered(
        access,
        "/api/v1/scan/",
        lambda n: get(f"{base}/api/v1/scan/{codes[1 + n % 3]}", f"10.3.{n // 8}.4"),
        since_hold,
    )
    assert len(workers_that_answered(access, "/api/v1/scan/", since_hold)) == 2
    for status, body in held:
        assert status == 200 and body["alerts"][0]["kind"] == "held", body
        assert body["batch"]["state"] == "held"
    pages_from = log_length(access)
    pages = [get(f"{base}/t/{codes[1]}", "10.0.0.5") for _ in range(6)]
    pages += until_both_answered(
        access, codes[1], lambda i: get(f"{base}/t/{codes[1]}", f"10.2.{i // 8}.5"), pages_from
    )
    assert all(status == 200 and "暂停销售" in page for status, page in pages)
    assert len(workers_that_answered(access, codes[1], pages_from)) == 2


def test_the_scan_rate_limit_holds_across_workers(server):
    base, _app, _batch_id, codes, access = server
    if time.time() % 60 > 45:  # 150 requests take a few seconds: stay in one minute window
        time.sleep(61 - time.time() % 60)
    with ThreadPoolExecutor(4) as pool:
        statuses = list(
            pool.map(lambda _: get(f"{base}/api/v1/scan/{codes[0]}", "10.0.0.9")[0], range(150))
        )
    if len(workers_that_answered(access, codes[0])) < 2:  # one worker took them all: more
        # concurrent rounds until the other one answers too (each counted like the rest)
        replies = until_both_answered(
            access, codes[0], lambda _: get(f"{base}/api/v1/scan/{codes[0]}", "10.0.0.9")
        )
        statuses += [status for status, _body in replies]
    # SCAN_RATE_LIMIT (60 a minute), not ×2: the workers share the count
    assert statuses.count(200) == 60 and statuses.count(429) == len(statuses) - 60 >= 90
    assert len(workers_that_answered(access, codes[0])) == 2
