"""The deploy/ files: the nginx site passes ``nginx -t``, the systemd units start what the
docs/deployment.md says, with the settings file and restart policies they need."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.faults.helpers import unavailable

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_the_nginx_site_is_valid(tmp_path):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists() or not shutil.which("openssl"):
        unavailable("nginx or openssl is not installed")
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=yipin.test", "-keyout", str(tmp_path / "key.pem"),
            "-out", str(tmp_path / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    site = (DEPLOY / "nginx-site.conf").read_text()
    site = site.replace("/etc/ssl/yipin/fullchain.pem", str(tmp_path / "cert.pem"))
    site = site.replace("/etc/ssl/yipin/privkey.pem", str(tmp_path / "key.pem"))
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n access_log off;\n include {tmp_path}/site.conf;\n}}\n"
    )
    done = subprocess.run(
        [nginx, "-t", "-q", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path),
         "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "proxy_pass http://yipin_app;" in site and "location /static/" in site


def unit(name: str) -> configparser.ConfigParser:
    """A systemd unit file read as INI (continuation lines joined)."""
    text = (DEPLOY / name).read_text().replace("\\\n", " ")
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string(text)
    return parser


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("yipin-web.service", 'gunicorn -c deploy/gunicorn.conf.py "backend:create_app()"'),
        ("yipin-worker.service", "celery -A backend.worker worker"),
        ("yipin-beat.service", "celery -A backend.worker beat"),
    ],
)
def test_the_systemd_units(name, command):
    parsed = unit(name)
    service = parsed["Service"]
    assert command in service["ExecStart"]
    assert service["EnvironmentFile"] == "/etc/yipin/yipin.env"
    assert service["User"] == "yipin" and service["Restart"] in ("always", "on-failure")
    assert "YIPIN_ENV=production" in service["Environment"]
    assert parsed["Install"]["WantedBy"] == "multi-user.target"
    assert "redis-server.service" in parsed["Unit"]["After"]
