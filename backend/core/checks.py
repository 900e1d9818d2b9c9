"""Field checks every feature's services share, noted in an :class:`~backend.core.errors.Errors`
(then raised at once with :func:`~backend.core.errors.refuse`)."""

from __future__ import annotations

import unicodedata

from backend.core.errors import Errors
from backend.core.i18n import N_
from backend.core.i18n import gettext as _

NO_CONTROL = N_("不能包含控制字符。")


def text(  # noqa: PLR0913 - each feature says which characters its fields allow
    errors: Errors,
    name: str,
    value: str | None,
    limit: int,
    *,
    required: bool = True,
    allowed: str = "",
    newlines: bool = False,
    message: str = NO_CONTROL,
) -> str:
    """*value* trimmed (with *newlines*, line breaks made ``\\n`` first); noted under *name*
    when missing (and *required*), longer than *limit*, or holding a control character
    other than those *allowed* (*message* says which)."""
    value = value or ""
    if newlines:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = value.strip()
    if required and not value:
        errors.add(name, _("必填。"))
    elif len(value) > limit:
        errors.add(name, _("不能超过 %(limit)d 个字符。", limit=limit))
    elif any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in value):
        errors.add(name, _(message))
    return value
