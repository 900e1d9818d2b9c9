"""Changing a batch's state: the model's machine (:meth:`Batch.move_to`), every step kept
as history (the scan feature sees the change flushed and drops the cached view)."""

from __future__ import annotations

from datetime import datetime

from backend.batches.models import Batch, BatchState, BatchStateChange
from backend.extensions import db


def change_state(
    batch: Batch,
    to_state: BatchState,
    *,
    reason: str = "",
    by_user_id: int | None = None,
    at: datetime | None = None,
) -> BatchStateChange:
    """Move *batch* to *to_state*, or raise Conflict when the machine forbids it."""
    change = batch.move_to(to_state, by_user_id=by_user_id, at=at, reason=reason)
    db.session.add(change)  # with its batch, should the batch be new
    db.session.flush()
    return change
