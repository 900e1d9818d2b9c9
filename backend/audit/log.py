"""Writing the audit log: one call per action a service takes on someone's behalf."""

from __future__ import annotations

from flask import has_request_context, request

from backend.accounts.models import User
from backend.audit.models import AuditLog
from backend.core.canonical import plain
from backend.core.time import utcnow
from backend.extensions import db


def record(
    action: str, object_type: str, object_id: object, actor: User | None = None, **details
) -> AuditLog:
    """Add (and flush) an audit entry: *actor* did *action* to *object_type* *object_id*.

    *details* may hold dates, decimals and enums (stored as JSON-native values); the
    client's address is kept when the action comes from a request.
    """
    address = request.remote_addr if has_request_context() else None
    entry = AuditLog(
        at=utcnow(),
        actor_id=actor.id if actor is not None else None,
        action=action[:60],
        object_type=object_type[:40],
        object_id=str(object_id)[:40],
        details=plain(details),
        client_addr=address[:64] if address else None,
    )
    db.session.add(entry)
    db.session.flush()
    return entry
