"""Bad configuration stops start-up with one clear sentence, never a stack trace.

These tests run the real command line (``flask --app backend`` and gunicorn) in a
subprocess, with an environment built from scratch for each case.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from backend.config import normalise_database_url

ROOT = Path(__file__).resolve().parents[2]
# Variables that would change what the subprocess does, whoever runs the suite.
CONTROLLED = ("YIPIN_ENV", "SECRET_KEY", "DATABASE_URL", "FLASK_APP", "FLASK_DEBUG")


def run(command: list[str], **env: str | None) -> subprocess.CompletedProcess:
    """Run *command* from the project root; *env* sets (str) or unsets (None) variables."""
    environment = {k: v for k, v in os.environ.items() if k not in CONTROLLED}
    environment.pop("GUNICORN_CMD_ARGS", None)
    environment.update({k: v for k, v in env.items() if v is not None})
    return subprocess.run(
        command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


def flask_routes(**env: str | None) -> subprocess.CompletedProcess:
    """``flask --app backend routes`` under *env*."""
    return run([sys.executable, "-m", "flask", "--app", "backend", "routes"], **env)


def gunicorn_check(**env: str | None) -> subprocess.CompletedProcess:
    """``gunicorn --check-config "backend:create_app()"`` under *env* (loads the app)."""
    return run([sys.executable, "-m", "gunicorn", "--check-config", "backend:create_app()"], **env)


def assert_refused(result: subprocess.CompletedProcess, *mentions: str) -> None:
    """The process failed with one ``Yipin cannot start:`` line naming *mentions*."""
    assert result.returncode != 0, result.stdout
    stderr = result.stderr
    assert stderr.startswith("Yipin cannot start:"), stderr
    assert "Traceback" not in stderr and "Traceback" not in result.stdout
    assert len(stderr.strip().splitlines()) == 1, stderr
    for mention in mentions:
        assert mention in stderr


DEV = {"YIPIN_ENV": "development", "SECRET_KEY": None}


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "postgresql//oops",
        "://",
        "postgresql://yipin@db.internal:notaport/yipin",
        "postgresql+nosuchdriver://yipin@db.internal/yipin",
    ],
)
def test_malformed_database_url_is_refused(url):
    result = flask_routes(**DEV, DATABASE_URL=url)
    assert_refused(result, "DATABASE_URL")


def test_the_refusal_does_not_repeat_a_password():
    result = flask_routes(**DEV, DATABASE_URL="postgresql://yipin:s3cret-pw@db:port/yipin")
    assert_refused(result, "DATABASE_URL")
    assert "s3cret-pw" not in result.stderr


def test_unsupported_database_is_refused():
    result = flask_routes(**DEV, DATABASE_URL="mysql://u@h/db")
    assert_refused(result, "DATABASE_URL", "mysql", "sqlite or postgresql")


@pytest.mark.parametrize(
    "url", ["postgresql://yipin@db.internal", "postgresql://yipin@db.internal:5432/"]
)
def test_postgresql_url_without_database_name_is_refused(url):
    result = flask_routes(**DEV, DATABASE_URL=url)
    assert_refused(result, "DATABASE_URL", "names no database")


@pytest.mark.parametrize("yipin_env", ["production", None], ids=["production", "unset"])
def test_production_without_secret_key_is_refused(yipin_env, tmp_path):
    """Production is the default, so forgetting YIPIN_ENV fails safe too."""
    result = flask_routes(
        YIPIN_ENV=yipin_env, SECRET_KEY=None, DATABASE_URL=f"sqlite:///{tmp_path / 'y.db'}"
    )
    assert_refused(result, "SECRET_KEY")


def test_empty_secret_key_counts_as_missing(tmp_path):
    result = flask_routes(
        YIPIN_ENV="production", SECRET_KEY="", DATABASE_URL=f"sqlite:///{tmp_path / 'y.db'}"
    )
    assert_refused(result, "SECRET_KEY")


def test_unknown_yipin_env_is_refused():
    result = flask_routes(YIPIN_ENV="staging", SECRET_KEY="s3cret")
    assert_refused(result, "YIPIN_ENV", "staging")


def test_development_with_sqlite_starts(tmp_path):
    result = flask_routes(**DEV, DATABASE_URL=f"sqlite:///{tmp_path / 'dev.db'}")
    assert result.returncode == 0, result.stderr
    assert "/healthz" in result.stdout
    assert "/api/v1/zones" in result.stdout
    assert "Yipin cannot start" not in result.stderr


def test_production_with_secret_and_postgres_scheme_starts():
    """``postgres://`` (as some hosts hand it out) is accepted; no connection is made."""
    result = flask_routes(
        YIPIN_ENV="production", SECRET_KEY="s3cret", DATABASE_URL="postgres://yipin@db/yipin"
    )
    assert result.returncode == 0, result.stderr
    assert "/healthz" in result.stdout


def test_gunicorn_refuses_bad_configuration():
    result = gunicorn_check(YIPIN_ENV=None, SECRET_KEY=None)
    assert_refused(result, "SECRET_KEY")


def test_gunicorn_loads_good_configuration(tmp_path):
    result = gunicorn_check(**DEV, DATABASE_URL=f"sqlite:///{tmp_path / 'dev.db'}")
    assert result.returncode == 0, result.stderr
    assert "Yipin cannot start" not in result.stderr


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@h:5432/yipin", "postgresql+psycopg://u:p@h:5432/yipin"),
        ("postgresql://u@h/yipin", "postgresql+psycopg://u@h/yipin"),
        ("postgresql+psycopg://u@h/yipin", "postgresql+psycopg://u@h/yipin"),
        ("postgresql+psycopg2://u@h/yipin", "postgresql+psycopg2://u@h/yipin"),
        ("sqlite:///instance/yipin.db", "sqlite:///instance/yipin.db"),
        ("sqlite://", "sqlite://"),
    ],
)
def test_normalise_database_url(given, expected):
    assert normalise_database_url(given) == expected


@pytest.mark.parametrize(
    ("name", "value"),
    [("SCAN_DISTANT_HOURS", "0"), ("SCAN_WARNING_THRESHOLD", "1"), ("SCAN_DISTANT_KM", "5")],
)
def test_counterfeit_signal_settings_out_of_range_are_refused(tmp_path, name, value):
    result = flask_routes(**DEV, DATABASE_URL=f"sqlite:///{tmp_path / 'dev.db'}", **{name: value})
    assert_refused(result, name)
