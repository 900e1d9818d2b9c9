"""Helpers shared by the real-service and fault tests: free ports, a Redis database of this
run's own, private servers started in temporary directories, and waiting for things."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

MACHINE_REDIS = "redis://127.0.0.1:6379"
OWNER_KEY = "yipin:test:owner"
FIRST_DB, LAST_DB = 1, 13  # 0 is left to people, 14 and 15 to older tests


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check: Callable[[], bool], timeout: float, what: str, every: float = 0.05):
    """Poll *check* until it is true; fail the test after *timeout* seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def unavailable(reason: str):
    """Skip the test for *reason*, or fail it where CI requires the services
    (YIPIN_SERVICES_TEST=required, set by .ci/run)."""
    if os.environ.get("YIPIN_SERVICES_TEST") == "required":
        pytest.fail(f"{reason} (YIPIN_SERVICES_TEST=required)")
    pytest.skip(reason)


def machine_redis_or_skip() -> redis.Redis:
    """A client of the machine's Redis; the test is skipped without one (required in CI)."""
    client = redis.Redis.from_url(MACHINE_REDIS, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        unavailable("Redis is not running on 127.0.0.1:6379")
    finally:
        client.close()


@contextlib.contextmanager
def own_redis_db() -> Iterator[str]:
    """The URL of a database of the machine's Redis that no other test run is using.

    A run claims a free database number with a key that expires (so a killed run frees it),
    empties it, and empties it again when done.
    """
    machine_redis_or_skip()
    token = f"{os.getpid()}:{time.time()}"
    for number in range(FIRST_DB, LAST_DB + 1):
        client = redis.Redis.from_url(f"{MACHINE_REDIS}/{number}", socket_timeout=2)
        if client.set(OWNER_KEY, token, nx=True, ex=1800):
            try:
                for key in client.scan_iter("yipin:*"):
                    if key != OWNER_KEY.encode():
                        client.delete(key)
                yield f"{MACHINE_REDIS}/{number}"
            finally:
                client.flushdb()
                client.close()
            return
        client.close()
    unavailable("every Redis database this suite may use is taken by other runs")


def empty(url: str) -> None:
    """Delete this suite's keys in *url*'s database (keeping the run's claim)."""
    client = redis.Redis.from_url(url)
    for key in client.scan_iter("yipin:*"):
        if key != OWNER_KEY.encode():
            client.delete(key)
    client.close()


class PrivateRedis:
    """A redis-server of the test's own on a free loopback port, in a temporary directory."""

    def __init__(self, directory: Path, durable: bool = False):
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.durable = durable  # an append-only file written on every command
        if not Path(binary).exists():
            unavailable("redis-server is not installed")
        self.binary, self.directory = binary, directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """Its URL (database 0)."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start it (again, on the same port) and wait until it answers."""
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes" if self.durable else "no",
                "--appendfsync",
                "always",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_timeout=1)

        def up() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        wait_for(up, 10, "the private redis-server")
        client.close()

    def kill(self) -> None:
        """Crash it (SIGKILL): no chance to save anything."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        self.process = None

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL)."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None


# -- a committed database of the test's own, and a real Celery worker --------------------


@contextlib.contextmanager
def own_database(tmp_path: Path) -> Iterator[str]:
    """A database of the test's own, built by the migrations, whose commits other processes
    see: a SQLite file, or a throwaway database next to TEST_DATABASE_URL's (dropped after)."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path / 'shared.db'}"
        return
    import psycopg
    from sqlalchemy.engine import make_url

    from backend.config import normalise_database_url

    url = make_url(normalise_database_url(base))
    import uuid

    name = f"{url.database}"[:40] + f"_svc_{uuid.uuid4().hex[:12]}"
    admin = url.set(drivername="postgresql", database="postgres")
    dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def build_app(settings: dict):
    """An app with TestingConfig and *settings*, its schema made by the migrations."""
    import flask_migrate

    from backend import create_app
    from tests.faults.worker_app import settings_class

    app = create_app(settings_class(settings))
    with app.app_context():
        flask_migrate.upgrade()
    return app


def children_of(pid: int) -> list[int]:
    """Process ids whose parent is *pid* (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


class CeleryWorker:
    """``celery worker`` in a subprocess, on the test's settings, stopped by the test."""

    def __init__(
        self, settings: dict, log_path: Path, concurrency: int = 1, env: dict | None = None
    ):
        import json

        self.env = {
            **os.environ,
            "YIPIN_TEST_WORKER_SETTINGS": json.dumps(settings),
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
            **(env or {}),
        }
        self.log_path, self.concurrency = log_path, concurrency
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        """Start the worker and wait until it is ready."""
        import sys

        self.log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tests.faults.worker_app",
                "worker",
                "--pool=prefork",
                f"--concurrency={self.concurrency}",
                "--loglevel=INFO",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
            ],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[2],
        )
        wait_for(
            lambda: b"ready." in self.log_path.read_bytes() or self.process.poll() is not None,
            60,
            "the Celery worker to start",
        )
        if self.process.poll() is not None:
            pytest.fail("the Celery worker exited:\n" + self.log_path.read_text()[-3000:])

    def pool_children(self) -> list[int]:
        """The pool's child processes (where tasks run)."""
        return children_of(self.process.pid) if self.process else []

    def stop(self) -> None:
        """Stop the worker (warm, then cold)."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None
        if getattr(self, "log", None):
            self.log.close()

    def output(self) -> str:
        """What the worker has logged so far."""
        return self.log_path.read_text(errors="replace")


# -- a private PostgreSQL cluster ----------------------------------------------------------


def postgres_bin() -> Path | None:
    """The newest PostgreSQL server binaries on this machine (Debian's layout), or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: p.parts[-3])
    return found[-1].parent if found else None


class PrivatePostgres:
    """A throwaway PostgreSQL cluster in a temporary directory on a free loopback port.

    Run as the ``postgres`` user when the tests run as root (PostgreSQL refuses root). Never
    the machine's cluster: this one is created, stopped, restarted and deleted by the test.
    """

    def __init__(self):
        import tempfile

        self.bin = postgres_bin()
        if self.bin is None:
            unavailable("PostgreSQL's server binaries are not installed")
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="yipin-pg-"))
        self.data = self.root / "data"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        )

    @property
    def url(self) -> str:
        """The URL of its ``postgres`` database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        """Run one of the cluster's tools; fail the test with its output if it fails."""
        done = subprocess.run(
            [*self.as_user, str(self.bin / tool), *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode:
            pytest.fail(f"{tool} failed: {done.stdout[-2000:]}\n{done.stderr[-2000:]}")

    def _ctl(self, action: str, *extra: str) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c synchronous_commit=on"
        )
        self._run(
            "pg_ctl",
            action,
            "-D",
            str(self.data),
            "-l",
            str(self.root / "log"),
            "-w",
            "-o",
            options,
            *extra,
        )

    def start(self) -> None:
        """Start the cluster and wait until it accepts connections."""
        self._ctl("start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the cluster (``fast`` ends every connection, ``immediate`` is a crash)."""
        self._ctl("stop", "-m", mode)

    def remove(self) -> None:
        """Stop it if it runs, and delete its directory."""
        subprocess.run(
            [
                *self.as_user,
                str(self.bin / "pg_ctl"),
                "stop",
                "-D",
                str(self.data),
                "-m",
                "immediate",
            ],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.root, ignore_errors=True)
