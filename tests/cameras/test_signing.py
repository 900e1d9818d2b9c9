"""Signed links: our HMAC-SHA256 playback links, and Tencent Cloud live's MD5 ``txSecret``."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from backend.cameras.signing import (
    BadSignature,
    derive_key,
    playback_token,
    signed_hls_url,
    tencent_url,
    tx_secret,
    tx_time,
    verify_signed_path,
    verify_token,
)

KEY = b"test-playback-key"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
EXPIRES = int(NOW.timestamp()) + 3600
BASE = "https://live.yipin.test/hls"


def test_the_token_is_hmac_sha256_of_stream_and_expiry_in_url_safe_base64():
    expected = hmac.new(KEY, f"w1-production-abc123\n{EXPIRES}".encode(), hashlib.sha256)
    token = base64.urlsafe_b64encode(expected.digest()).rstrip(b"=").decode()
    assert playback_token(KEY, "w1-production-abc123", EXPIRES) == token
    assert len(token) == 43 and "=" not in token


def test_a_hand_computed_example():
    # printf 'cam\n1700000000' | openssl dgst -sha256 -hmac k -binary | base64 | tr '+/' '-_'
    assert playback_token(b"k", "cam", 1700000000) == "c8L6_Zi37QYpI_ygbKudFrrtyVcEQYT_S7ZHTC9S5_M"


def test_a_signed_link_carries_the_signature_in_its_path():
    url = signed_hls_url(BASE, KEY, "w1-production-abc123", EXPIRES)
    token = playback_token(KEY, "w1-production-abc123", EXPIRES)
    assert url == f"{BASE}/{EXPIRES}/{token}/w1-production-abc123/index.m3u8"
    path = urlsplit(url).path
    checked = verify_signed_path(path, KEY, NOW)
    assert (checked.stream, checked.expires, checked.file) == (
        "w1-production-abc123",
        EXPIRES,
        "index.m3u8",
    )
    # The playlist's relative segment names inherit the signature.
    segment = path.rsplit("/", 1)[0] + "/17.ts"
    assert verify_signed_path(segment, KEY, NOW).file == "17.ts"
    assert verify_signed_path(path + "?cache=1", KEY, NOW).stream == "w1-production-abc123"


@pytest.mark.parametrize(
    "path",
    [
        "/hls/w1-production-abc123/index.m3u8",  # unsigned
        f"/hls/{EXPIRES}/w1-production-abc123/index.m3u8",  # no token
        f"/hls/{EXPIRES}/{'A' * 43}/w1-production-abc123/index.m3u8",  # forged token
        f"/hls/{EXPIRES + 1}/TOKEN/w1-production-abc123/index.m3u8",  # later expiry
        "/hls/{EXPIRES}/TOKEN/w1-other-abc123/index.m3u8",  # another stream
        f"/hls/{EXPIRES}/TOKEN/w1-production-abc123/../secret.ts",  # not a file of ours
        f"/hls/{EXPIRES}/TOKEN/w1-production-abc123/index.m3u8/x",
        "",
    ],
)
def test_unsigned_or_tampered_paths_are_refused(path):
    token = playback_token(KEY, "w1-production-abc123", EXPIRES)
    with pytest.raises(BadSignature):
        verify_signed_path(
            path.replace("TOKEN", token).replace("{EXPIRES}", str(EXPIRES)), KEY, NOW
        )


def test_an_expired_link_is_refused_and_one_a_second_before_its_end_is_not():
    url = signed_hls_url(BASE, KEY, "cam", int(NOW.timestamp()) + 1)
    assert verify_signed_path(urlsplit(url).path, KEY, NOW).stream == "cam"
    url = signed_hls_url(BASE, KEY, "cam", int(NOW.timestamp()))
    with pytest.raises(BadSignature, match="expired"):
        verify_signed_path(urlsplit(url).path, KEY, NOW)


def test_another_key_does_not_verify():
    url = signed_hls_url(BASE, b"another key", "cam", EXPIRES)
    with pytest.raises(BadSignature, match="wrong signature"):
        verify_signed_path(urlsplit(url).path, KEY, NOW)


def test_tokens_given_as_arguments_for_rtmp_play():
    token = playback_token(KEY, "cam", EXPIRES)
    verify_token(KEY, "cam", str(EXPIRES), token, NOW)
    for expires, given in ((str(EXPIRES), token[:-1] + "x"), ("", token), ("12x", token)):
        with pytest.raises(BadSignature):
            verify_token(KEY, "cam", expires, given, NOW)
    with pytest.raises(BadSignature):
        verify_token(KEY, "other", str(EXPIRES), token, NOW)
    past = int(NOW.timestamp()) - 1
    with pytest.raises(BadSignature, match="expired"):
        verify_token(KEY, "cam", str(past), playback_token(KEY, "cam", past), NOW)


def test_stream_names_are_checked_before_signing():
    with pytest.raises(ValueError):
        signed_hls_url(BASE, KEY, "../etc", EXPIRES)
    with pytest.raises(ValueError):
        tencent_url("https", "play.example.cn", "live", "a b", "k", EXPIRES)


def test_derived_keys_differ_by_purpose():
    assert derive_key("secret", "playback") != derive_key("secret", "other")
    assert derive_key("secret", "playback") == derive_key("secret", "playback")


# --- Tencent Cloud live ----------------------------------------------------------------------


def test_tencents_published_example():
    # Tencent Cloud CSS, "Hotlink Protection URL Calculation" (document 267/31560):
    # KEY e12c46f2612d5106e2034781ab261ca3, StreamName "test", txTime 5C271099
    # (2018-12-29 14:13:45 +08:00) give txSecret f85a2ab363fe4deaffef9754d79da6fe and
    # rtmp://livepush.tcloud.com/live/test?txSecret=f85a2ab363fe4deaffef9754d79da6fe&txTime=5C271099
    expires = int(datetime.fromisoformat("2018-12-29T14:13:45+08:00").timestamp())
    assert expires == 1546064025
    assert tx_time(expires) == "5C271099"
    secret = tx_secret("e12c46f2612d5106e2034781ab261ca3", "test", "5C271099")
    assert secret == "f85a2ab363fe4deaffef9754d79da6fe"
    url = tencent_url(
        "rtmp", "livepush.tcloud.com", "live", "test", "e12c46f2612d5106e2034781ab261ca3", expires
    )
    assert url == (
        "rtmp://livepush.tcloud.com/live/test"
        "?txSecret=f85a2ab363fe4deaffef9754d79da6fe&txTime=5C271099"
    )


def test_tencent_playback_links_are_hls_with_the_same_signature():
    url = tencent_url("https", "play.example.cn", "live", "w3-washing-00aa11", "play-key", EXPIRES)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "play.example.cn",
        "/live/w3-washing-00aa11.m3u8",
    )
    query = parse_qs(parts.query)
    assert query["txTime"] == [f"{EXPIRES:X}"]
    assert query["txSecret"] == [
        hashlib.md5(f"play-keyw3-washing-00aa11{EXPIRES:X}".encode()).hexdigest()
    ]
