"""The rule-base export through gunicorn, as deploy/ runs it: its Chinese file name travels
as RFC 5987 ``filename*`` with an ASCII fallback (gunicorn refuses raw non-ASCII headers)."""

import http.cookiejar
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from tests.faults.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def test_the_rule_base_downloads_through_gunicorn(tmp_path):
    port = free_port()
    env = dict(
        os.environ,
        YIPIN_ENV="development",
        DATABASE_URL=f"sqlite:///{tmp_path / 'rules.db'}",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="1",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
        REDIS_URL="",
        LOG_LEVEL="WARNING",
    )
    flask = [sys.executable, "-m", "flask", "--app", "backend"]
    for command in (
        ["db", "upgrade"],
        [
            "users",
            "create",
            "--role",
            "regulator",
            "--username",
            "reg.rules",
            "--password",
            "a-long-password-1",
        ],
    ):
        done = subprocess.run(flask + command, cwd=ROOT, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "backend:create_app()"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                page = opener.open(base + "/console/login", timeout=5).read().decode()
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, "gunicorn did not answer"
                time.sleep(0.2)
        match = TOKEN.search(page)
        form = urllib.parse.urlencode(
            {
                "csrf_token": match.group(1) or match.group(2),
                "username": "reg.rules",
                "password": "a-long-password-1",
            }
        ).encode()
        opener.open(base + "/console/login", data=form, timeout=5).read()
        with opener.open(base + "/console/rules/export.csv", timeout=10) as response:
            assert response.status == 200
            disposition = response.headers["Content-Disposition"]
            body = response.read().decode("utf-8-sig")
        assert disposition.startswith('attachment; filename="')
        assert "filename*=UTF-8''%E8%A7%84%E5%88%99%E5%BA%93-" in disposition
        assert body.splitlines()[0].startswith("产品类别,GB 2760 食品类别")
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server.stderr.close()
