"""Bearer-token authentication for the API: ``Authorization: Bearer <token>``."""

from __future__ import annotations

from flask import g, request

from backend.accounts.models import User
from backend.accounts.tokens import authenticate


def current_user() -> User:
    """The caller, from the bearer token (401 in the one error shape otherwise)."""
    if "api_user" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, secret = header.partition(" ")
        g.api_user = authenticate(secret.strip() if scheme.lower() == "bearer" else None)
    return g.api_user
