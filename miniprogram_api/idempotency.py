"""`Idempotency-Key`: a retried write from a phone returns the first result.

Phones on a bad network send the same submission twice. A write that carries an
``Idempotency-Key`` header is recorded with its key, the hash of its request and its
answer; a retry with the same key and the same request gets the first answer back (with
``Idempotent-Replayed: true``) and writes nothing; the same key with a different request is
a 409. Only successful answers are kept, so a refused request may simply be sent again.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import wraps

from flask import Response, make_response, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend.accounts.models import IdempotencyRecord
from backend.core.errors import Conflict, ValidationError
from backend.core.i18n import gettext as _
from backend.extensions import db
from miniprogram_api.auth import current_user

KEY = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")


def _request_hash() -> str:
    """SHA-256 of what makes two requests the same: method, path and body."""
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.query_string.decode()):
        digest.update(part.encode() + b"\0")
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _replay(record: IdempotencyRecord) -> Response:
    """The stored first answer."""
    response = make_response(
        json.dumps(record.response_body, ensure_ascii=False), record.status_code
    )
    response.mimetype = "application/json"
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _existing(user_id: int, key: str) -> IdempotencyRecord | None:
    return db.session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key
        )
    )


def idempotent(view):
    """Make a write view honour the Idempotency-Key header."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view(*args, **kwargs)
        if not KEY.match(key):
            raise ValidationError(
                _("Idempotency-Key 须为 1–64 位字母、数字或 _.:-"), slug="bad_idempotency_key"
            )
        user, fingerprint = current_user(), _request_hash()
        record = _existing(user.id, key)
        if record is not None:
            if record.request_hash != fingerprint:
                raise Conflict(
                    _("该 Idempotency-Key 已用于另一个请求。"), slug="idempotency_key_reused"
                )
            if not record.status_code:  # saved, but its answer was lost (the database went
                # away between the two commits): the write is there once; say so, write nothing
                raise Conflict(
                    _("该请求已保存，但结果未能返回，请刷新查看。"),
                    slug="idempotency_key_unanswered",
                )
            return _replay(record)
        # Claim the key first: a simultaneous retry waits on the unique index, then replays.
        claim = IdempotencyRecord(
            user_id=user.id,
            key=key,
            method=request.method,
            path=request.path[:200],
            request_hash=fingerprint,
            status_code=0,
            response_body={},
        )
        db.session.add(claim)
        try:
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            record = _existing(user.id, key)
            if record is None or record.request_hash != fingerprint or not record.status_code:
                raise Conflict(
                    _("该 Idempotency-Key 的请求正在处理或已用于另一个请求。"),
                    slug="idempotency_key_reused",
                ) from None
            return _replay(record)
        response = make_response(view(*args, **kwargs))  # the view commits the claim too
        if 200 <= response.status_code < 300 and response.is_json:
            claim = db.session.merge(claim)
            claim.status_code, claim.response_body = response.status_code, response.get_json()
        else:
            db.session.rollback()
            db.session.execute(
                IdempotencyRecord.__table__.delete().where(
                    IdempotencyRecord.user_id == user.id,
                    IdempotencyRecord.key == key,
                    IdempotencyRecord.status_code == 0,
                )
            )
        db.session.commit()
        return response

    return wrapper
