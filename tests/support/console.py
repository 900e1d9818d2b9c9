"""Console test helpers: accounts with passwords, and forms posted with their CSRF token.

CSRF stays on in the tests, so a form is posted the way a browser does: fetch the page
that shows it, take the token from the page, send it back with the fields.
"""

from __future__ import annotations

import re

from werkzeug.security import generate_password_hash

from backend.accounts.models import Role
from tests.factories import UserFactory

PASSWORD = "correct horse battery"
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def console_user(role: Role = Role.REGULATOR, password: str = PASSWORD, **fields):
    """A console account (regulator unless told otherwise) whose password is *password*."""
    fields.setdefault("display_name", f"测试{role.value}")
    return UserFactory(
        role=role,
        password_hash=generate_password_hash(password, method="pbkdf2:sha256:1000"),
        **fields,
    )


def csrf_token(client, page: str) -> str:
    """The CSRF token of the form on *page* (fetched as the browser would)."""
    response = client.get(page)
    assert response.status_code == 200, (page, response.status_code)
    match = TOKEN.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {page}"
    return match.group(1) or match.group(2)


def submit(client, page: str, data: dict | None = None, *, action: str | None = None, **kwargs):
    """Fetch *page*, then post its form (to *action*, else back to *page*) with the token."""
    payload = dict(data or {})
    payload["csrf_token"] = csrf_token(client, page)
    return client.post(action or page, data=payload, **kwargs)


def login(client, user, password: str = PASSWORD):
    """Log *user* in through the login form; returns the response (a redirect when it worked)."""
    return submit(client, "/console/login", {"username": user.username, "password": password})


def logged_in(client, role: Role = Role.REGULATOR, **fields):
    """A fresh console account of *role*, logged in on *client*; returns the user."""
    user = console_user(role, **fields)
    response = login(client, user)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return user


def text(response) -> str:
    """The response body as text."""
    return response.get_data(as_text=True)
