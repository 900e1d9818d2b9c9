"""What every step of an inspection checks: who may act, the typed texts, the refusal.

Regulators inspect and follow up; inspectors and regulators may read. Every refusal of
input is a ValidationError whose ``errors`` name the form field at fault.
"""

from __future__ import annotations

from functools import partial

from backend.core import checks
from backend.core.errors import Conflict
from backend.core.i18n import N_
from backend.core.i18n import gettext as _
from backend.inspections.models import Inspection

NOTE_LIMIT = 1000
TEXT_LIMIT = 2000

#: What those refused by ``require_role`` are told: only regulators inspect and follow up,
#: only regulators and inspectors read inspections.
REGULATORS_ONLY = N_("只有监管人员可以进行检查和整改操作。")
STAFF_ONLY = N_("只有监管和检验人员可以查看检查记录。")


# Trimmed (line breaks made \n), within its limit; line breaks and tabs allowed.
text = partial(checks.text, allowed="\n\t", newlines=True)


def require_in_progress(inspection: Inspection) -> None:
    """Conflict once *inspection* is concluded: its findings are evidence, read-only."""
    if inspection.concluded:
        raise Conflict(
            _("该检查已作出结论，检查记录作为证据不能再修改。"), slug="inspection_concluded"
        )
