"""The live kitchen end to end, with the real streaming server: nginx with Debian's RTMP module
runs deploy/nginx-rtmp.conf (only ports, paths and the secret filled in), Yipin answers its
callbacks on a loopback port, and ffmpeg pushes a test pattern with a camera's key.

Checked: the publish is allowed by our callback and the camera shows online; the HLS
playlist and a segment come with a signed link, not with an unsigned, tampered or expired
one; a wrong key is refused; a snapshot is taken from the stream; stopping ffmpeg marks
the camera offline. Every process and temporary directory is removed, also on failure.

The test installs nothing: it is skipped (with the reason) when nginx, its RTMP module or
ffmpeg is missing. ``.ci/run`` installs ``nginx``, ``libnginx-mod-rtmp`` and ``ffmpeg`` and
sets ``YIPIN_STREAMING_TEST=required``, which turns such a skip into a failure.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from contextlib import suppress
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import select
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from backend import create_app
from backend.cameras import snapshots
from backend.cameras.deploy import RTMP_MODULE, NginxValues, render
from backend.cameras.links import playback_key, playback_url
from backend.cameras.models import Camera, CameraEvent, CameraEventKind
from backend.cameras.signing import signed_hls_url
from backend.core.time import utcnow
from backend.extensions import db
from backend.files.models import StoredFile
from backend.files.storage import open_file
from tests.conftest import make_config
from tests.factories import WorkshopFactory
from tests.support.video import make_camera

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
FFMPEG = shutil.which("ffmpeg")
SECRET = "integration-secret-0123456789"


def _missing() -> str | None:
    """Why the real components cannot run here (None: they can)."""
    if NGINX is None:
        return "nginx is not installed (Debian: apt-get install nginx libnginx-mod-rtmp)"
    if not Path(RTMP_MODULE).exists():
        return f"nginx's RTMP module {RTMP_MODULE} is missing (apt-get install libnginx-mod-rtmp)"
    if FFMPEG is None:
        return "ffmpeg is not installed (apt-get install ffmpeg)"
    return None


# .ci/run installs the components and sets this: there a missing one fails the test.
REQUIRED = os.environ.get("YIPIN_STREAMING_TEST") == "required"
pytestmark = pytest.mark.skipif(_missing() is not None and not REQUIRED, reason=_missing() or "")


def free_port() -> int:
    """A TCP port free on the loopback interface now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, timeout: float, what: str, interval: float = 0.2):
    """Poll *condition* until it returns something truthy; fail after *timeout* seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 10) -> None:
    """Wait until something listens on loopback *port* (and *process* is still running)."""

    def listening():
        assert process.poll() is None, f"process exited with {process.returncode}"
        with socket.socket() as sock:
            sock.settimeout(0.2)
            return sock.connect_ex(("127.0.0.1", port)) == 0

    wait_for(listening, timeout, f"port {port}")


def http_get(url: str) -> tuple[int, bytes]:
    """GET *url*: (status, body)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture()
def database(database_url, tmp_path):
    """A new, empty database of the suite's kind, really committed to (and dropped after)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        yield f"sqlite:///{tmp_path / 'streaming.db'}"
        return
    name = f"{url.database}_rtmp_{uuid.uuid4().hex[:8]}"
    server = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
    """Stop *process* (politely, then by force) and reap it."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()


class Stack:
    """Yipin on a loopback port, nginx-rtmp in front of it, and the processes started."""

    def __init__(self, database_url: str, uploads: Path):
        self.rtmp_port = free_port()
        self.http_port = free_port()
        self.work = Path(tempfile.mkdtemp(prefix="yipin-rtmp-"))
        # nginx started as root runs its workers as nobody, who must reach these files.
        self.work.chmod(0o755)
        self.processes: list[subprocess.Popen] = []
        self.server = None
        self.thread = None
        self.app = create_app(
            make_config(
                database_url,
                STREAMING_CALLBACK_SECRET=SECRET,
                STREAMING_HLS_BASE_URL=f"http://127.0.0.1:{self.http_port}/hls",
                STREAMING_RTMP_URL=f"rtmp://127.0.0.1:{self.rtmp_port}/live",
                UPLOAD_DIR=str(uploads),
                FFMPEG_PATH=FFMPEG,
                SNAPSHOT_TIMEOUT=20,
            )
        )

    # -- Yipin -------------------------------------------------------------------------

    def start_yipin(self) -> None:
        """The schema, then Yipin served on a loopback port in a thread."""
        with self.app.app_context():
            db.create_all()
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def read(self, fn):
        """Run *fn* in an app context with a fresh session (sees what the callbacks committed)."""
        with self.app.app_context():
            try:
                return fn()
            finally:
                db.session.remove()

    # -- nginx -------------------------------------------------------------------------

    def start_nginx(self) -> None:
        """Render deploy/nginx-rtmp.conf for this run and start nginx in the foreground."""
        for name in ("hls", "run", "log"):
            (self.work / name).mkdir()
            (self.work / name).chmod(0o777)
        conf = render(
            NginxValues(
                rtmp_listen=f"127.0.0.1:{self.rtmp_port}",
                http_listen=f"127.0.0.1:{self.http_port}",
                yipin_addr=f"127.0.0.1:{self.server.server_port}",
                hls_dir=str(self.work / "hls"),
                run_dir=str(self.work / "run"),
                log_dir=str(self.work / "log"),
                secret=SECRET,
            )
        )
        path = self.work / "nginx.conf"
        path.write_text(conf, encoding="utf-8")
        error_log = self.work / "log" / "error.log"
        command = [NGINX, "-p", str(self.work), "-c", str(path), "-e", str(error_log)]
        check = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, check.stderr
        self.nginx = self.start([*command, "-g", "daemon off;"])
        wait_for_port(self.rtmp_port, self.nginx)
        wait_for_port(self.http_port, self.nginx)

    def nginx_log(self) -> str:
        """nginx's error log so far (for failure messages)."""
        path = self.work / "log" / "error.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    # -- processes ---------------------------------------------------------------------

    def start(self, command: list[str]) -> subprocess.Popen:
        """Start *command*, remembered for the clean-up."""
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def push(self, stream: str, key: str) -> subprocess.Popen:
        """ffmpeg pushing a test pattern with a tone to *stream* with *key*."""
        return self.start(
            [
                FFMPEG,
                "-hide_banner",
                "-loglevel",
                "error",
                "-re",
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=320x240:rate=15",
                "-f",
                "lavfi",
                "-i",
                "sine",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-g",
                "15",
                "-c:a",
                "aac",
                "-f",
                "flv",
                f"rtmp://127.0.0.1:{self.rtmp_port}/live/{stream}?key={key}",
            ]
        )

    def close(self) -> None:
        """Stop every process, the server, and remove the temporary directory."""
        for process in reversed(self.processes):
            stop(process)
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(10)
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()
        shutil.rmtree(self.work, ignore_errors=True)


@pytest.fixture()
def stack(database, tmp_path):
    """Yipin and nginx-rtmp running; everything stopped and removed afterwards."""
    if _missing() is not None:  # only when REQUIRED: the module is skipped otherwise
        pytest.fail(f"YIPIN_STREAMING_TEST=required, but {_missing()}")
    running = Stack(database, tmp_path / "uploads")
    try:
        running.start_yipin()
        running.start_nginx()
        yield running
    finally:
        running.close()
    leftover = [p.pid for p in running.processes if p.poll() is None]
    assert not leftover, f"processes still running: {leftover}"
    assert not running.work.exists()


def test_a_camera_publishes_plays_signed_and_goes_offline(stack):
    def setup():
        camera = make_camera(WorkshopFactory(), stream_name="banli-production")
        db.session.commit()
        return camera.id, camera.stream_name, camera.stream_key

    camera_id, stream, key = stack.read(setup)

    def camera():
        return db.session.get(Camera, camera_id)

    # The right key: our callback allows it and the camera shows online.
    pusher = stack.push(stream, key)
    wait_for(lambda: stack.read(lambda: camera().is_live), 15, "the camera to go live")
    assert pusher.poll() is None, pusher.stderr.read().decode(errors="replace")

    # A playlist and a segment with a signed link (once nginx has written them).
    link = stack.read(lambda: playback_url(camera(), utcnow()))
    assert link.startswith(f"http://127.0.0.1:{stack.http_port}/hls/")

    def playlist():
        status, body = http_get(link)
        return body if status == 200 and b"#EXTINF" in body else None

    body = wait_for(playlist, 20, f"the HLS playlist\n{stack.nginx_log()}", interval=0.5)
    assert body.startswith(b"#EXTM3U")
    segment = next(line for line in body.decode().splitlines() if line.endswith(".ts"))
    status, data = http_get(link.rsplit("/", 1)[0] + "/" + segment)
    assert status == 200 and data[:1] == b"\x47", (status, data[:20])  # MPEG-TS sync byte

    # Not without a signature, not with a tampered or an expired one.
    base = f"http://127.0.0.1:{stack.http_port}/hls"
    assert http_get(f"{base}/{stream}/index.m3u8")[0] == 403
    assert http_get(f"{base}/{stream}/{segment}")[0] == 403
    expires, token = link.split("/hls/")[1].split("/")[:2]
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert http_get(f"{base}/{expires}/{forged}/{stream}/index.m3u8")[0] == 403
    assert http_get(f"{base}/{int(expires) + 60}/{token}/{stream}/index.m3u8")[0] == 403
    expired = stack.read(lambda: signed_hls_url(base, playback_key(), stream, int(time.time()) - 5))
    assert http_get(expired)[0] == 403
    assert http_get(expired.rsplit("/", 1)[0] + "/" + segment)[0] == 403

    # A wrong key is refused: ffmpeg fails and the refusal is recorded.
    intruder = stack.push(stream, "not-the-key")
    assert intruder.wait(20) != 0
    refused = stack.read(
        lambda: db.session.scalars(
            select(CameraEvent.detail).where(
                CameraEvent.camera_id == camera_id,
                CameraEvent.kind == CameraEventKind.PUBLISH_REFUSED,
            )
        ).all()
    )
    assert refused == ["wrong_key"]
    assert stack.read(lambda: camera().is_live)

    # The background job's snapshot, taken by ffmpeg from the signed stream.
    def snapshot():
        report = snapshots.take_snapshots(checkpoint=db.session.commit)
        db.session.commit()
        stored = db.session.get(StoredFile, camera().snapshot_file_id or 0)
        with open_file(stored) as handle:
            picture = handle.read()
        return report, picture

    report, picture = stack.read(snapshot)
    assert report.taken == [camera_id], report.failed
    assert picture[:3] == b"\xff\xd8\xff"

    # Stopping ffmpeg marks the camera offline.
    stop(pusher, signal.SIGINT)
    wait_for(lambda: stack.read(lambda: not camera().is_live), 15, "the camera to go offline")
    kinds = stack.read(
        lambda: db.session.scalars(
            select(CameraEvent.kind)
            .where(CameraEvent.camera_id == camera_id)
            .order_by(CameraEvent.at, CameraEvent.id)
        ).all()
    )
    assert kinds == [
        CameraEventKind.PUBLISH,
        CameraEventKind.PUBLISH_REFUSED,
        CameraEventKind.PUBLISH_DONE,
    ]
