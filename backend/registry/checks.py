"""What every registry change checks: who may act, typed texts and dates, the refusal.

Only regulators change the registry; inspectors and regulators read it. Every refusal is a
ValidationError whose ``errors`` name the field at fault, so a form can show the message
next to it and an import can report it per row.
"""

from __future__ import annotations

import re
from datetime import date
from functools import partial

from backend.core import checks
from backend.core.errors import Errors
from backend.core.i18n import N_
from backend.core.i18n import gettext as _

EARLIEST = date(2000, 1, 1)  # no certificate in the district is older than this
PHONE = re.compile(r"^[0-9+\-() ]{5,30}$")

#: What those refused by ``require_role`` are told: only regulators change the registry,
#: only regulators and inspectors read it.
REGULATORS_ONLY = N_("只有监管人员可以修改作坊登记信息。")
STAFF_ONLY = N_("只有监管和检验人员可以查看作坊名录。")


# Trimmed, within its limit, without control characters (tabs and line breaks included).
text = partial(checks.text, message=N_("不能包含制表符、换行等控制字符。"))


def date_between(errors: Errors, name: str, value: date | None, low: date, high: date) -> None:
    """Note *value* when missing or outside [low, high]."""
    if value is None:
        errors.add(name, _("必填，格式如 2024-01-31。"))
    elif not low <= value <= high:
        errors.add(
            name,
            _(
                "日期须在 %(low)s 至 %(high)s 之间。",
                low=low.isoformat(),
                high=high.isoformat(),
            ),
        )


def add_years(day: date, years: int) -> date:
    """*day* plus *years* years (28 February for 29 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)
