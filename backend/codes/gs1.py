"""GS1 identifiers: the mod-10 check digit of GTINs."""

from __future__ import annotations


def gs1_check_digit(digits: str) -> str:
    """Return the GS1 mod-10 check digit for *digits* (a GTIN without its last digit)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def is_valid_gtin14(gtin: str) -> bool:
    """True for 14 digits whose last is the right check digit."""
    return len(gtin) == 14 and gtin.isdigit() and gs1_check_digit(gtin[:-1]) == gtin[-1]


def to_gtin14(gtin: str) -> str:
    """Pad a GTIN-8/12/13 to GTIN-14 with leading zeros."""
    return gtin.zfill(14)
