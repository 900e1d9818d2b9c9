"""Idempotency-Key on writes from phones, shown on code issuing."""

import pytest
from sqlalchemy import func, select

from backend.accounts.models import IdempotencyRecord, MemberRole, Role, WorkshopMembership
from backend.accounts.tokens import issue_token
from backend.codes.models import CodeIssuance
from tests.factories import UserFactory


@pytest.fixture()
def owner(db, wine):
    batch, _ = wine
    user = UserFactory(role=Role.OPERATOR)
    db.session.add(
        WorkshopMembership(user_id=user.id, workshop_id=batch.workshop_id, role=MemberRole.OWNER)
    )
    db.session.flush()
    return batch, {"Authorization": f"Bearer {issue_token(user)}"}


def issuances(db, batch):
    return db.session.scalar(select(func.count()).where(CodeIssuance.batch_id == batch.id))


def test_a_retry_returns_the_first_answer_and_writes_nothing(client, db, owner):
    batch, auth = owner
    url, headers = f"/api/v1/batches/{batch.batch_no}/codes", {**auth, "Idempotency-Key": "k-1"}
    first = client.post(url, json={"count": 5}, headers=headers)
    again = client.post(url, json={"count": 5}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert issuances(db, batch) == 2  # the wine fixture's own run, and this one


def test_the_same_key_with_another_body_is_a_conflict(client, db, owner):
    batch, auth = owner
    url, headers = f"/api/v1/batches/{batch.batch_no}/codes", {**auth, "Idempotency-Key": "k-2"}
    assert client.post(url, json={"count": 5}, headers=headers).status_code == 201
    clash = client.post(url, json={"count": 6}, headers=headers)
    assert clash.status_code == 409 and clash.get_json()["error"] == "idempotency_key_reused"
    assert issuances(db, batch) == 2


def test_refusals_are_not_remembered(client, db, owner):
    batch, auth = owner
    url, headers = f"/api/v1/batches/{batch.batch_no}/codes", {**auth, "Idempotency-Key": "k-3"}
    assert client.post(url, json={"count": 0}, headers=headers).status_code == 422
    assert db.session.scalar(select(func.count(IdempotencyRecord.id))) == 0
    assert client.post(url, json={"count": 3}, headers=headers).status_code == 201


def test_without_a_key_every_post_counts_and_bad_keys_are_refused(client, db, owner):
    batch, auth = owner
    url = f"/api/v1/batches/{batch.batch_no}/codes"
    client.post(url, json={"count": 1}, headers=auth)
    client.post(url, json={"count": 1}, headers=auth)
    assert issuances(db, batch) == 3
    for bad in ("", "x" * 65, "has space", "中文"):
        response = client.post(url, json={"count": 1}, headers={**auth, "Idempotency-Key": bad})
        assert response.status_code == 422, bad
    assert issuances(db, batch) == 3
