"""Cache keys of the scan path, and forgetting them when what they show changes."""

from __future__ import annotations

from flask import current_app

from backend.core.cache import cache


def code_key(code: str) -> str:
    """Key of a code's identity."""
    return f"code:{code}"


def batch_key(batch_id: int) -> str:
    """Key of a batch's consumer view."""
    return f"batchview:{batch_id}"


def page_key(batch_id: int, locale: str) -> str:
    """Key of the rendered batch part of the scan page, in one language."""
    return f"batchpage:{batch_id}:{locale}"


def forget_codes(codes: list[str]) -> None:
    """Drop cached code identities (after voiding)."""
    if codes:
        cache().delete(*(code_key(c) for c in codes))


def forget_batch(batch_id: int) -> None:
    """Drop a batch's cached view (after a state change, a new result, a camera event)."""
    pages = [page_key(batch_id, locale) for locale in current_app.config["LANGUAGES"]]
    cache().delete(batch_key(batch_id), *pages)
