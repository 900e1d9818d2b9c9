"""CSRF: every unsafe request a browser session can make must carry the session's token.

The unsafe routes are taken from ``app.url_map``, so a new console form cannot be forgotten.
Each is sent, by a logged-in regulator, without a token, with a made-up token and with a
token from another session: all get the 400 page and nothing is written. The portal's
complaint form is held to the same rule. Exempt, with the reason:

- ``/api/v1/...``: authenticated by a bearer token in a header, never by a cookie (shown
  below: a console session opens nothing there), so a forged cross-site request has no
  credentials to ride on;
- ``/streaming/...``: the streaming server's callbacks, authenticated by a shared secret
  (or an allowed address) and never by a browser session.
"""

from __future__ import annotations

import pytest

from backend.accounts.models import Role
from tests.security.routes import UNSAFE, all_routes, build_path, demo_values
from tests.security.test_route_matrix import row_counts
from tests.support.console import console_user, csrf_token, logged_in
from tests.support.console import text as body

EXEMPT_PREFIXES = ("/api/v1/", "/streaming/")


def browser_routes(app):
    """Every unsafe route a browser session can reach."""
    return [
        r for r in all_routes(app) if r.method in UNSAFE and not r.rule.startswith(EXEMPT_PREFIXES)
    ]


def test_the_forms_are_found(app):
    rules = {r.rule for r in browser_routes(app)}
    assert "/complaints/new" in rules and "/console/login" in rules
    assert sum(rule.startswith("/console/") for rule in rules) >= 35


@pytest.fixture()
def demo(app, runner, db):
    """The demo data and a real value for every path argument."""
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    return demo_values(db)


def _other_sessions_token(app) -> str:
    """A valid token of some other browser session."""
    other = app.test_client()
    return csrf_token(other, "/console/login")


def test_every_unsafe_request_without_the_sessions_token_is_refused(app, client, db, demo):
    logged_in(client, Role.REGULATOR)
    tokens = [None, "IjEyMzQ1Njc4OTAi.Zz0000.forged-signature", _other_sessions_token(app)]
    before = row_counts(db)
    for route, sent in ((r, t) for r in browser_routes(app) for t in tokens):
        data = {"name": "<b>x</b>", "content": "forged", "phone": "13800000000"}
        if sent:
            data["csrf_token"] = sent
        response = client.open(build_path(route.rule, demo), method=route.method, data=data)
        response.close()
        assert response.status_code == 400, (route, response.status_code)
        assert response.mimetype == "text/html", route
        assert "CSRF" in body(response) or "安全" in body(response) or "过期" in body(response)
    assert row_counts(db) == before
    assert client.get("/console/").status_code == 200  # still logged in: logout was refused


def test_the_login_form_wants_its_token(client, db):
    user = console_user()
    response = client.post(
        "/console/login", data={"username": user.username, "password": "correct horse battery"}
    )
    assert response.status_code == 400
    assert client.get("/console/").status_code == 302  # not logged in


def test_the_api_ignores_console_sessions(client, db):
    logged_in(client, Role.REGULATOR)
    assert client.get("/api/v1/me").status_code == 401
    response = client.post("/api/v1/auth/logout")
    assert response.status_code == 401
