"""Keeping people's identities out of the database: salted hashes of an openid, a client
address or a network, the same for the same input, never reversible without the salt
(``SCAN_SALT``, or the secret key)."""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from flask import current_app


def visitor_hash(identity: str) -> str:
    """A salted hash of an openid or client address; the raw value is never kept."""
    salt = current_app.config["SCAN_SALT"] or current_app.config["SECRET_KEY"]
    keyed = _keyed_hmac(salt).copy()
    keyed.update(identity.encode())
    return keyed.hexdigest()


@lru_cache(maxsize=4)
def _keyed_hmac(salt: str) -> hmac.HMAC:
    """An HMAC-SHA256 keyed with *salt*, copied for each hash (keying costs as much as
    hashing a short text)."""
    return hmac.new(salt.encode(), digestmod=hashlib.sha256)
