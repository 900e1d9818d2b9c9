"""`Idempotency-Key`: a retried write from a phone returns the first result.

Phones on a bad network send the same submission twice. A write that carries an
``Idempotency-Key`` header is recorded with its key, the hash of its request and its
answer; a retry with the same key and the same request gets the first answer back (with
``Idempotent-Replayed: true``) and writes nothing; the same key with a different request is
a 409. Only successful answers are kept, so a refused request may simply be sent again.

One transaction. The key is claimed first (a row under the unique index on (user, key), so
a simultaneous retry waits on it, then replays); the write and its answer are committed
with the claim, together, by the edge (backend/core/transactions.py): an acknowledged write
always has its answer, and a write whose answer could not be stored is not kept either. A
refusal or an exception rolls the claim back with everything else. A claim left without an
answer by an older version gets 409 ``idempotency_key_unanswered``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import wraps

from flask import Response, make_response, request
from sqlalchemy import JSON, Text, bindparam, cast, insert, select, update
from sqlalchemy.exc import IntegrityError

from backend.accounts.models import IdempotencyRecord
from backend.core.errors import Conflict, ValidationError
from backend.core.i18n import gettext as _
from backend.extensions import db
from miniprogram_api.auth import current_user

KEY = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
RECORDS = IdempotencyRecord.__table__


@dataclass
class Claim:
    """A key claimed by the request in flight."""

    id: int
    user_id: int
    key: str


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


def _answer_of(user_id: int, key: str, fingerprint: str) -> Response:
    """The committed first answer for the key (the claim was refused: the key is taken)."""
    record = _existing(user_id, key)
    if record is None or record.request_hash != fingerprint:
        raise Conflict(_("该 Idempotency-Key 已用于另一个请求。"), slug="idempotency_key_reused")
    if not record.status_code:  # saved by an older version that lost its answer: the write
        # is there once; say so, write nothing
        raise Conflict(
            _("该请求已保存，但结果未能返回，请刷新查看。"), slug="idempotency_key_unanswered"
        )
    return _replay(record)


# Built once (their cache keys too): the claim of a key, and its answer.
_CLAIM = (
    insert(RECORDS)
    .values(
        user_id=bindparam("user_id"),
        key=bindparam("key"),
        method=bindparam("method"),
        path=bindparam("path"),
        request_hash=bindparam("request_hash"),
        status_code=0,
        response_body={},
    )
    .returning(RECORDS.c.id)
)
_ANSWER = (
    update(RECORDS)
    .where(RECORDS.c.id == bindparam("claim_id"))
    .values(status_code=bindparam("status_code"), response_body=bindparam("response_body"))
)
# On PostgreSQL the answer is stored as the JSON text it was sent as (a json column keeps
# its text; read back, it is the same document): not parsed and encoded again.
_ANSWER_TEXT = (
    update(RECORDS)
    .where(RECORDS.c.id == bindparam("claim_id"))
    .values(
        status_code=bindparam("status_code"),
        response_body=cast(bindparam("response_body", type_=Text), JSON),
    )
)


def _claim(user_id: int, key: str, fingerprint: str) -> int | None:
    """Insert the claim (status 0, no answer yet) and return its id; None when the key is
    taken. A claim in flight in another transaction makes this wait for its outcome."""
    try:
        return (
            db.session.connection()  # a Core statement: no ORM execution needed
            .execute(
                _CLAIM,
                {
                    "user_id": user_id,
                    "key": key,
                    "method": request.method,
                    "path": request.path[:200],
                    "request_hash": fingerprint,
                },
            )
            .scalar_one()
        )
    except IntegrityError:
        db.session.rollback()
        return None


def _store_answer(claim: Claim, response: Response) -> None:
    """Keep the answer with the claim (re-inserting the claim if the view rolled it back)."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        statement, body = _ANSWER_TEXT, response.get_data(as_text=True)
    else:
        statement, body = _ANSWER, response.get_json()
    stored = connection.execute(
        statement,
        {"claim_id": claim.id, "status_code": response.status_code, "response_body": body},
    )
    if stored.rowcount == 1:
        return
    body = response.get_json() if isinstance(body, str) else body
    db.session.execute(
        insert(RECORDS).values(
            user_id=claim.user_id,
            key=claim.key,
            method=request.method,
            path=request.path[:200],
            request_hash=_request_hash(),
            status_code=response.status_code,
            response_body=body,
        )
    )


def _forget(claim: Claim) -> None:
    """Drop the claim of a write answered without a JSON body to keep (its write stays)."""
    db.session.execute(
        RECORDS.delete().where(
            RECORDS.c.user_id == claim.user_id,
            RECORDS.c.key == claim.key,
            RECORDS.c.status_code == 0,
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
        user_id, fingerprint = current_user().id, _request_hash()
        claim_id = _claim(user_id, key, fingerprint)
        if claim_id is None:
            return _answer_of(user_id, key, fingerprint)
        claim = Claim(claim_id, user_id, key)
        response = make_response(view(*args, **kwargs))
        if 200 <= response.status_code < 300 and response.is_json:
            _store_answer(claim, response)  # committed with the write, at the edge
        elif response.status_code < 400:
            _forget(claim)
        return response

    return wrapper
