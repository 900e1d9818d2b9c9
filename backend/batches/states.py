"""Batch rules: the state machine of DESIGN.md, with every step kept as history."""

from __future__ import annotations

from datetime import datetime

from backend.batches.models import Batch, BatchState, BatchStateChange
from backend.core.errors import Conflict
from backend.core.time import utcnow
from backend.extensions import db
from backend.scan.caching import forget_batch

S = BatchState
TRANSITIONS: dict[BatchState, frozenset[BatchState]] = {
    S.DRAFT: frozenset({S.IN_PRODUCTION}),
    S.IN_PRODUCTION: frozenset({S.PENDING_RELEASE}),
    S.PENDING_RELEASE: frozenset({S.RELEASED, S.HELD}),
    S.RELEASED: frozenset({S.HELD, S.RECALLED}),
    S.HELD: frozenset({S.RELEASED, S.RECALLED}),
    S.RECALLED: frozenset(),
}
STATE_NAMES_ZH = {
    S.DRAFT: "草稿",
    S.IN_PRODUCTION: "生产中",
    S.PENDING_RELEASE: "待放行",
    S.RELEASED: "已放行",
    S.HELD: "已暂控",
    S.RECALLED: "已召回",
}


def can_change(batch: Batch, to_state: BatchState) -> bool:
    """Whether the state machine allows *batch* to move to *to_state*."""
    return to_state in TRANSITIONS[batch.state]


def change_state(
    batch: Batch,
    to_state: BatchState,
    *,
    reason: str = "",
    by_user_id: int | None = None,
    at: datetime | None = None,
) -> BatchStateChange:
    """Move *batch* to *to_state*, or raise Conflict when the machine forbids it."""
    if not can_change(batch, to_state):
        raise Conflict(
            f"批次 {batch.batch_no} 当前为“{STATE_NAMES_ZH[batch.state]}”，"
            f"不能变为“{STATE_NAMES_ZH[to_state]}”。",
            slug="batch_state_conflict",
        )
    at = at or utcnow()
    change = BatchStateChange(
        batch=batch,
        from_state=batch.state,
        to_state=to_state,
        reason=reason,
        changed_by_id=by_user_id,
        changed_at=at,
    )
    batch.state = to_state
    if to_state is S.RELEASED and batch.released_at is None:
        batch.released_at = at
    if to_state in (S.HELD, S.RECALLED):
        batch.hold_reason = reason
    elif to_state is S.RELEASED:
        batch.hold_reason = ""
    db.session.add(change)
    db.session.flush()
    forget_batch(batch.id)  # consumers must see a hold or recall at once
    return change
