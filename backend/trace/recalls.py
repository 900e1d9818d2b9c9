"""Recalling every batch a trace reached, in one step and one transaction.

Each batch goes through :func:`backend.samples.holds.recall_batch`, so the regulator-only
rule, the reason's rules and the state machine are the same as for a single recall. Batches
already recalled are left as they are; batches not yet released (draft, in production,
pending release) cannot be recalled and are listed, not changed. If any recall is refused,
the caller rolls back and nothing is recalled.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from backend.accounts.models import Role, User
from backend.accounts.permissions import require_role
from backend.audit.log import record
from backend.batches.models import Batch, BatchState
from backend.core.errors import ValidationError
from backend.core.i18n import gettext as _
from backend.samples import holds
from backend.trace.graph import Trace


@dataclass
class RecallPlan:
    """What a recall of a trace would do to each batch."""

    to_recall: list[Batch] = field(default_factory=list)
    already: list[Batch] = field(default_factory=list)
    not_released: list[Batch] = field(default_factory=list)


def plan(trace: Trace) -> RecallPlan:
    """Sort the trace's batches into those to recall, those recalled and those not out yet."""
    out = RecallPlan()
    for batch in trace.batches:
        if batch.state is BatchState.RECALLED:
            out.already.append(batch)
        elif batch.can_move_to(BatchState.RECALLED):
            out.to_recall.append(batch)
        else:
            out.not_released.append(batch)
    return out


def recall_all(trace: Trace, reason: str, by: User) -> list[Batch]:
    """Recall every recallable batch of *trace* with *reason*; returns the batches recalled."""
    require_role(by, Role.REGULATOR, message=_("此操作仅限监管人员。"), slug="regulators_only")
    todo = plan(trace).to_recall
    if not todo:
        raise ValidationError(
            _("没有可召回的批次。"),
            slug="nothing_to_recall",
            errors={"reason": [_("没有可召回的批次。")]},
        )
    for batch in todo:
        holds.recall_batch(batch, reason, by)
    record(
        "trace.recall_all",
        "trace",
        trace.origin[:40],
        by,
        batches=[b.batch_no for b in todo],
        reason=reason,
    )
    return todo
