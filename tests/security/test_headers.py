"""Security headers on every kind of response: pages, the console, the API, files, errors.

No policy allows inline script or style; every response forbids MIME sniffing and foreign
framing; the console keeps its stricter policy (no framing at all, no caching); HSTS is sent
when the server is configured for it (production), not by the plain-HTTP development server.
"""

from __future__ import annotations

import pytest

from backend import create_app
from backend.config import DevelopmentConfig, ProductionConfig
from tests.support.console import logged_in

PATHS = [
    "/",
    "/workshops/",
    "/results/",
    "/live/",
    "/t/NOSUCHCODE0000000",
    "/no-such-page",
    "/console/login",
    "/api/v1/ping",
    "/api/v1/scan/NOSUCHCODE",
    "/api/v1/openapi.json",
    "/healthz",
    "/favicon.ico",
    "/.well-known/gs1resolver",
]


def _directives(policy: str) -> dict[str, str]:
    """A Content-Security-Policy as {directive: sources}."""
    parts = (p.strip().split(None, 1) for p in policy.split(";") if p.strip())
    return {p[0]: (p[1] if len(p) > 1 else "") for p in parts}


@pytest.mark.parametrize("path", PATHS)
def test_every_response_carries_the_headers(client, path):
    response = client.get(path)
    response.close()  # files are streamed
    assert response.status_code < 500, path
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] in ("DENY", "SAMEORIGIN")
    assert headers["Referrer-Policy"] in ("same-origin", "strict-origin-when-cross-origin")
    policy = _directives(headers["Content-Security-Policy"])
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
    assert "'unsafe-eval'" not in headers["Content-Security-Policy"]
    assert policy["frame-ancestors"] in ("'self'", "'none'")
    assert "default-src" in policy and "*" not in policy["default-src"]
    assert "Strict-Transport-Security" not in headers  # tests speak plain HTTP


def test_api_and_files_are_locked_down(client):
    for path in ("/api/v1/ping", "/api/v1/openapi.json", "/api/v1/me"):
        policy = _directives(client.get(path).headers["Content-Security-Policy"])
        assert policy["default-src"] == "'none'" and "sandbox" in policy, path


def test_the_console_keeps_its_stricter_policy(client, db):
    logged_in(client)
    response = client.get("/console/")
    assert response.status_code == 200
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    policy = _directives(response.headers["Content-Security-Policy"])
    assert policy["frame-ancestors"] == "'none'"
    assert policy["script-src" if "script-src" in policy else "default-src"] == "'self'"


def test_pages_play_video_only_from_the_hls_servers(client):
    policy = _directives(client.get("/t/NOSUCHCODE0000000").headers["Content-Security-Policy"])
    assert "https://live.yipin.test" in policy["media-src"]
    assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'"


def test_hsts_in_production_only(app, database_url):
    assert ProductionConfig.HSTS_MAX_AGE >= 365 * 86400
    assert DevelopmentConfig.HSTS_MAX_AGE == 0
    secure = create_app({**app.config, "HSTS_MAX_AGE": 31536000})
    response = secure.test_client().get("/api/v1/ping")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
