"""What every step of an inspection checks: who may act, the typed texts, the refusal.

Regulators inspect and follow up; inspectors and regulators may read. Every refusal of
input is a ValidationError whose ``errors`` name the form field at fault.
"""

from __future__ import annotations

from backend.core.errors import Conflict, Errors, ValidationError
from backend.core.i18n import N_
from backend.core.i18n import gettext as _
from backend.inspections.models import Inspection

NOTE_LIMIT = 1000
TEXT_LIMIT = 2000

#: What those refused by ``require_role`` are told: only regulators inspect and follow up,
#: only regulators and inspectors read inspections.
REGULATORS_ONLY = N_("只有监管人员可以进行检查和整改操作。")
STAFF_ONLY = N_("只有监管和检验人员可以查看检查记录。")


def text(errors: Errors, name: str, value: str | None, limit: int, *, required: bool) -> str:
    """Trim *value* (line breaks allowed); note it when missing, too long or holding other
    control characters."""
    value = (value or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if required and not value:
        errors.add(name, _("必填。"))
    elif len(value) > limit:
        errors.add(name, _("不能超过 %(limit)d 个字符。", limit=limit))
    elif any(ord(ch) < 32 and ch not in "\n\t" or ord(ch) == 127 for ch in value):
        errors.add(name, _("不能包含控制字符。"))
    return value


def refuse(errors: Errors) -> None:
    """Raise the ValidationError for *errors*, if there are any."""
    if errors:
        raise ValidationError(
            _("提交的信息有误，请按提示修改，未保存任何内容。"),
            slug="inspection_invalid",
            errors=dict(errors),
        )


def require_in_progress(inspection: Inspection) -> None:
    """Conflict once *inspection* is concluded: its findings are evidence, read-only."""
    if inspection.concluded:
        raise Conflict(
            _("该检查已作出结论，检查记录作为证据不能再修改。"), slug="inspection_concluded"
        )
