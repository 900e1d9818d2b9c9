"""Unit code text: 16 random Crockford base32 characters (80 bits) plus a check character.

The check character is a weighted sum in the field GF(32): character i is multiplied by
α^(i+1), α a primitive element. Because every weight is non-zero and neighbouring weights
differ, any single mistyped character and any swap of two neighbours (the check character
included) is caught before the database is asked.
"""

from __future__ import annotations

import base64
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
BODY_LENGTH = 16
CODE_LENGTH = BODY_LENGTH + 1
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
# Crockford's decoding: look-alike letters read as the digits they resemble.
_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})


_PRIMITIVE = 0b100101  # x^5 + x^2 + 1


def _gf32_mul(a: int, b: int) -> int:
    """Multiply two elements of GF(32)."""
    product = 0
    while b:
        if b & 1:
            product ^= a
        b >>= 1
        a <<= 1
        if a & 32:
            a ^= _PRIMITIVE
    return product


_WEIGHTS = [1]
for _ in range(BODY_LENGTH):
    _WEIGHTS.append(_gf32_mul(_WEIGHTS[-1], 2))


# _PRODUCT[i][ch]: the weighted value of character ch at position i, precomputed.
_PRODUCT = [
    {ch: _gf32_mul(_WEIGHTS[i + 1], v) for ch, v in _VALUE.items()} for i in range(BODY_LENGTH)
]
# base64's RFC 4648 base32 alphabet, mapped onto Crockford's (same 5-bit values).
_FROM_RFC4648 = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", ALPHABET.encode())


def check_character(body: str) -> str:
    """Return the check character for *body* (already normalised)."""
    total = 0
    for products, ch in zip(_PRODUCT, body, strict=False):
        total ^= products[ch]
    return ALPHABET[total]


def generate_code() -> str:
    """Return a new random code with its check character."""
    return generate_codes(1)[0]


def generate_codes(count: int) -> list[str]:
    """Return *count* distinct new codes (80 random bits each, from the OS's CSPRNG)."""
    codes: set[str] = set()
    while len(codes) < count:
        need = count - len(codes)
        text = base64.b32encode(secrets.token_bytes(10 * need)).translate(_FROM_RFC4648).decode()
        for start in range(0, len(text), BODY_LENGTH):
            body = text[start : start + BODY_LENGTH]
            codes.add(body + check_character(body))
    return list(codes)


def normalise(text: str) -> str:
    """Upper-case, drop spaces and hyphens, read O as 0 and I/L as 1."""
    return text.strip().upper().replace("-", "").replace(" ", "").translate(_ALIASES)


def is_well_formed(text: str) -> bool:
    """True when *text* (normalised) has the right length, alphabet and check character."""
    if len(text) != CODE_LENGTH or any(ch not in _VALUE for ch in text):
        return False
    return check_character(text[:-1]) == text[-1]
