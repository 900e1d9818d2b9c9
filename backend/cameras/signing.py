"""Signed links: our HMAC playback links, and Tencent Cloud live's anti-leech ``txSecret``.

**Our links** (nginx-rtmp or SRS behind our nginx) carry their signature in the path, so
that the playlist's relative segment names inherit it::

    <STREAMING_HLS_BASE_URL>/<expires>/<token>/<stream>/index.m3u8
    <STREAMING_HLS_BASE_URL>/<expires>/<token>/<stream>/<n>.ts        (segments)

``expires`` is a Unix time in seconds and ``token`` is the unpadded URL-safe base64 of
HMAC-SHA256(PLAYBACK_SIGNING_KEY, "<stream>\\n<expires>"). nginx asks our ``auth_request``
endpoint (:mod:`backend.cameras.hooks`) about every request under ``/hls/``; links without a
signature, with a wrong one or past their time are refused there.

**Tencent Cloud live** signs with MD5: ``txSecret = MD5(KEY + StreamName + txTime)``, where
``txTime`` is the expiry as upper-case hexadecimal Unix time (Tencent's published example:
key ``e12c46f2612d5106e2034781ab261ca3``, stream ``test``, ``txTime`` ``5C271099`` give
``f85a2ab363fe4deaffef9754d79da6fe``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

STREAM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")
# The end of a signed HLS path: expiry, token, stream, file (playlist or segment).
SIGNED_PATH = re.compile(
    r"/(?P<expires>[0-9]{1,12})/(?P<token>[^/]{1,100})/(?P<stream>[^/]{1,64})"
    r"/(?P<file>index\.m3u8|[0-9]{1,12}\.ts)$"
)


class BadSignature(Exception):
    """A playback link that must be refused; the message says why (for the logs)."""


def derive_key(secret: str, purpose: str) -> bytes:
    """A key for *purpose* derived from *secret* (e.g. SECRET_KEY), so one leak is not all."""
    return hmac.new(secret.encode(), f"yipin:{purpose}".encode(), hashlib.sha256).digest()


def playback_token(key: bytes, stream: str, expires: int) -> str:
    """The HMAC-SHA256 token of *stream* until *expires* (URL-safe base64, 43 characters)."""
    digest = hmac.new(key, f"{stream}\n{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def signed_hls_url(base_url: str, key: bytes, stream: str, expires: int) -> str:
    """The signed playlist URL of *stream* under *base_url*, valid until *expires*."""
    if not STREAM_NAME.match(stream):
        raise ValueError(f"bad stream name {stream!r}")
    token = playback_token(key, stream, expires)
    return f"{base_url.rstrip('/')}/{expires}/{token}/{stream}/index.m3u8"


@dataclass(frozen=True)
class SignedPath:
    """What a valid signed HLS path names."""

    stream: str
    expires: int
    file: str


def verify_signed_path(path: str, key: bytes, now: datetime) -> SignedPath:
    """Check the signed HLS *path* (query string ignored); :class:`BadSignature` if it fails.

    The signature is compared in constant time, and checked before the expiry, so that a
    forged link learns nothing about the time.
    """
    match = SIGNED_PATH.search(path.split("?", 1)[0])
    if match is None:
        raise BadSignature("not a signed playback path")
    stream, expires = match["stream"], int(match["expires"])
    if not STREAM_NAME.match(stream) or not TOKEN.match(match["token"]):
        raise BadSignature("malformed stream name or token")
    expected = playback_token(key, stream, expires)
    if not hmac.compare_digest(expected, match["token"]):
        raise BadSignature("wrong signature")
    if expires <= now.timestamp():
        raise BadSignature("expired")
    return SignedPath(stream, expires, match["file"])


def verify_token(key: bytes, stream: str, expires_text: str, token: str, now: datetime) -> None:
    """Check a token given as arguments (RTMP ``on_play``); :class:`BadSignature` if it fails."""
    if not expires_text.isdigit() or len(expires_text) > 12 or not TOKEN.match(token or ""):
        raise BadSignature("missing or malformed token")
    expires = int(expires_text)
    if not hmac.compare_digest(playback_token(key, stream, expires), token):
        raise BadSignature("wrong signature")
    if expires <= now.timestamp():
        raise BadSignature("expired")


# --- Tencent Cloud live --------------------------------------------------------------------


def tx_time(expires: int) -> str:
    """Tencent's ``txTime``: the expiry as upper-case hexadecimal Unix time."""
    return f"{expires:X}"


def tx_secret(key: str, stream: str, tx_time_text: str) -> str:
    """Tencent's ``txSecret``: MD5(key + StreamName + txTime), lower-case hexadecimal."""
    return hashlib.md5(f"{key}{stream}{tx_time_text}".encode()).hexdigest()


def tencent_url(scheme: str, domain: str, app: str, stream: str, key: str, expires: int) -> str:
    """A Tencent push (``rtmp``) or playback (``https``, HLS) URL signed until *expires*."""
    if not STREAM_NAME.match(stream):
        raise ValueError(f"bad stream name {stream!r}")
    when = tx_time(expires)
    query = urlencode({"txSecret": tx_secret(key, stream, when), "txTime": when})
    suffix = ".m3u8" if scheme in ("http", "https") else ""
    return f"{scheme}://{domain}/{app}/{stream}{suffix}?{query}"
