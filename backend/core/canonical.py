"""Canonical JSON: one byte string per value, so hashes of evidence are reproducible."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum


def _plain(value):
    """Turn dates, decimals and enums into JSON-native values."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in canonical JSON")
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def plain(value):
    """Return *value* as JSON-native data (what a JSON column stores and gives back)."""
    return _plain(value)


def canonical_json(value) -> bytes:
    """Sorted keys, no whitespace, UTF-8, dates as ISO 8601 in UTC."""
    return json.dumps(
        _plain(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")
