"""Invite codes: a regulator issues one for a workshop (API or command line), an operator
redeems it once and becomes the workshop's owner or staff."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from backend.accounts import invites
from backend.accounts.models import InviteCode, MemberRole, Role, WorkshopMembership
from backend.accounts.tokens import hash_secret, issue_token
from backend.audit.models import AuditLog
from backend.core.errors import Conflict
from backend.core.time import utcnow
from backend.registry.models import WorkshopStatus
from tests.factories import (
    InspectorFactory,
    RegulatorFactory,
    UserFactory,
    WorkshopFactory,
    WorkshopMembershipFactory,
)

ERROR_KEYS = {"code", "status", "error", "message", "errors"}
REDEEM = "/api/v1/invites/redeem"


def bearer(user) -> dict:
    return {"Authorization": f"Bearer {issue_token(user)}"}


def assert_error(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert set(body) == ERROR_KEYS and body["error"] == slug and body["message"], body
    return body


def count(model, *where) -> int:
    from backend.extensions import db

    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture()
def shop(db):
    return WorkshopFactory(name="坊洋黑豆腐坊")


@pytest.fixture()
def regulator(db):
    return RegulatorFactory()


def create(client, shop, regulator, **payload):
    return client.post(
        f"/api/v1/workshops/{shop.registration_no}/invites",
        json=payload,
        headers=bearer(regulator),
    )


def new_code(client, shop, regulator, **payload) -> str:
    response = create(client, shop, regulator, **payload)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["code"]


# --- issuing --------------------------------------------------------------------------------


def test_a_regulator_issues_a_code_shown_once_and_stored_hashed(client, db, shop, regulator):
    response = create(client, shop, regulator)
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    code = body["code"]
    assert len(code) == 8 and all(c in invites.ALPHABET for c in code)
    assert not set(code) & set("01OIL")
    assert body["display"] == f"{code[:4]} {code[4:]}"
    assert body["role"] == "staff"  # the default
    assert body["workshop"] == {
        "id": shop.id,
        "name": "坊洋黑豆腐坊",
        "registration_no": shop.registration_no,
    }
    invite = db.session.get(InviteCode, body["id"])
    assert invite.code_hash == hash_secret(code)
    assert invite.created_by_id == regulator.id and invite.used_at is None
    assert abs(invite.expires_at - (utcnow() + timedelta(days=7))) < timedelta(minutes=1)
    # The plaintext is nowhere in the database's rows for it (nor in the audit log).
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "invite.created"))
    assert entry.actor_id == regulator.id and entry.object_id == str(invite.id)
    assert entry.details["workshop_id"] == shop.id and entry.details["role"] == "staff"
    assert code not in json.dumps(entry.details)


def test_role_and_days_can_be_chosen(client, db, shop, regulator):
    body = create(client, shop, regulator, role="owner", days=30).get_json()
    invite = db.session.get(InviteCode, body["id"])
    assert invite.role is MemberRole.OWNER
    assert abs(invite.expires_at - (utcnow() + timedelta(days=30))) < timedelta(minutes=1)
    assert create(client, shop, regulator, days=1).status_code == 201


def test_codes_differ(client, db, shop, regulator):
    codes = {new_code(client, shop, regulator) for _ in range(20)}
    assert len(codes) == 20


@pytest.mark.parametrize(
    "payload",
    [
        {"days": 0},
        {"days": 31},
        {"days": -5},
        {"days": 10**20},
        {"days": "seven"},
        {"days": 1.5},
        {"days": None},
        {"role": "admin"},
        {"role": "regulator"},
        {"role": None},
        {"role": ["owner"]},
        {"role": "owner", "workshop_id": 1},
        {"code": "AAAAAAAA"},
    ],
    ids=lambda p: json.dumps(p)[:30],
)
def test_bad_invite_requests_are_refused(client, db, shop, regulator, payload):
    response = create(client, shop, regulator, **payload)
    assert_error(response, 422, "validation_failed")
    assert count(InviteCode) == 0


def test_a_json_list_is_not_an_invite_request(client, db, shop, regulator):
    response = client.post(
        f"/api/v1/workshops/{shop.registration_no}/invites", json=[], headers=bearer(regulator)
    )
    assert_error(response, 422, "validation_failed")


@pytest.mark.parametrize("factory", [UserFactory, InspectorFactory])
def test_only_regulators_issue_codes(client, db, shop, factory):
    caller = factory()
    WorkshopMembershipFactory(user=caller, workshop_id=shop.id, role=MemberRole.OWNER)
    assert_error(create(client, shop, caller), 403, "regulator_only")
    # Not even for a workshop that does not exist (nothing is revealed).
    response = client.post("/api/v1/workshops/NOPE/invites", json={}, headers=bearer(caller))
    assert_error(response, 403, "regulator_only")
    assert count(InviteCode) == 0


def test_issuing_needs_a_login(client, db, shop):
    response = client.post(f"/api/v1/workshops/{shop.registration_no}/invites", json={})
    assert_error(response, 401, "token_missing")


def test_unknown_and_closed_workshops(client, db, regulator):
    response = client.post("/api/v1/workshops/NOPE/invites", json={}, headers=bearer(regulator))
    assert_error(response, 404, "workshop_not_found")
    closed = WorkshopFactory(status=WorkshopStatus.CANCELLED)
    assert_error(create(client, closed, regulator), 409, "workshop_closed")
    assert count(InviteCode) == 0


def test_issuing_is_not_replayed_from_storage(client, db, shop, regulator):
    # A replay would have to keep the plaintext code: each request issues a new one.
    headers = {**bearer(regulator), "Idempotency-Key": "k1"}
    path = f"/api/v1/workshops/{shop.registration_no}/invites"
    first = client.post(path, json={}, headers=headers).get_json()["code"]
    second = client.post(path, json={}, headers=headers).get_json()["code"]
    assert first != second


# --- the command line -----------------------------------------------------------------------


def test_the_command_line_issues_a_code(runner, client, db, shop):
    result = runner.invoke(
        args=["invites", "create", "--workshop", shop.registration_no, "--role", "owner"]
    )
    assert result.exit_code == 0, result.output
    assert shop.registration_no in result.output and "owner" in result.output
    code = result.output.split(": ")[1].split("\n")[0]  # "ABCD EFGH"
    invite = db.session.scalar(select(InviteCode).where(InviteCode.workshop_id == shop.id))
    assert invite.code_hash == hash_secret(code.replace(" ", ""))
    assert invite.role is MemberRole.OWNER and invite.created_by_id is None
    assert abs(invite.expires_at - (utcnow() + timedelta(days=7))) < timedelta(minutes=1)
    operator = UserFactory()
    response = client.post(REDEEM, json={"code": code}, headers=bearer(operator))
    assert response.status_code == 200
    assert response.get_json()["workshop"]["role"] == "owner"


def test_the_command_line_defaults_and_days(runner, db, shop):
    result = runner.invoke(args=["invites", "create", "--workshop", shop.registration_no])
    assert result.exit_code == 0 and "as staff" in result.output
    result = runner.invoke(
        args=["invites", "create", "--workshop", shop.registration_no, "--days", "3"]
    )
    assert result.exit_code == 0
    assert count(InviteCode, InviteCode.workshop_id == shop.id) == 2


@pytest.mark.parametrize(
    ("args", "exit_code", "mention"),
    [
        (["--workshop", "NOPE"], 1, "作坊不存在"),
        (["--days", "31"], 2, "--days"),
        (["--days", "0"], 2, "--days"),
        (["--role", "regulator"], 2, "--role"),
        ([], 2, "--workshop"),
    ],
)
def test_the_command_line_refuses_bad_arguments(runner, db, shop, args, exit_code, mention):
    if args and args[0] != "--workshop":
        args = ["--workshop", shop.registration_no, *args]
    result = runner.invoke(args=["invites", "create", *args])
    assert result.exit_code == exit_code, result.output
    assert mention in result.output and "Traceback" not in result.output
    assert count(InviteCode) == 0


# --- redeeming ------------------------------------------------------------------------------


def test_an_operator_redeems_a_code_and_joins_the_workshop(client, db, shop, regulator):
    code = new_code(client, shop, regulator, role="owner")
    operator = UserFactory()
    headers = bearer(operator)
    response = client.post(REDEEM, json={"code": code}, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {
        "workshop": {
            "id": shop.id,
            "name": "坊洋黑豆腐坊",
            "registration_no": shop.registration_no,
            "role": "owner",
        }
    }
    membership = db.session.scalar(
        select(WorkshopMembership).where(WorkshopMembership.user_id == operator.id)
    )
    assert membership.workshop_id == shop.id and membership.role is MemberRole.OWNER
    invite = db.session.scalar(select(InviteCode))
    assert invite.used_at is not None and invite.used_by_id == operator.id
    me = client.get("/api/v1/me", headers=headers).get_json()
    assert [w["id"] for w in me["workshops"]] == [shop.id]
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "invite.redeemed"))
    assert entry.actor_id == operator.id and entry.details["role"] == "owner"


@pytest.mark.parametrize("typed", ["{a} {b}", "{a}-{b}", " {lower} ", "{a}\t{b}"])
def test_codes_may_be_typed_loosely(client, db, shop, regulator, typed):
    code = new_code(client, shop, regulator)
    text = typed.format(a=code[:4], b=code[4:], lower=code.lower())
    response = client.post(REDEEM, json={"code": text}, headers=bearer(UserFactory()))
    assert response.status_code == 200, response.get_data(as_text=True)


def test_a_code_works_once(client, db, shop, regulator):
    code = new_code(client, shop, regulator)
    first, second = UserFactory(), UserFactory()
    assert client.post(REDEEM, json={"code": code}, headers=bearer(first)).status_code == 200
    # Redeeming it again, by the same person or another, is refused.
    assert_error(
        client.post(REDEEM, json={"code": code}, headers=bearer(first)), 409, "invite_used"
    )
    assert_error(
        client.post(REDEEM, json={"code": code}, headers=bearer(second)), 409, "invite_used"
    )
    assert count(WorkshopMembership, WorkshopMembership.user_id == second.id) == 0


def test_an_expired_code_is_refused(client, db, shop, regulator):
    code = new_code(client, shop, regulator)
    db.session.execute(update(InviteCode).values(expires_at=utcnow() - timedelta(seconds=1)))
    operator = UserFactory()
    response = client.post(REDEEM, json={"code": code}, headers=bearer(operator))
    assert_error(response, 409, "invite_expired")
    assert count(WorkshopMembership) == 0
    assert db.session.scalar(select(InviteCode.used_at)) is None


@pytest.mark.parametrize(
    "text", ["ABCDEFGH", "23456789", "0000-0000", "abc", "OOOOIIII", "测试邀请码"]
)
def test_unknown_codes_are_refused(client, db, shop, regulator, text):
    new_code(client, shop, regulator)
    response = client.post(REDEEM, json={"code": text}, headers=bearer(UserFactory()))
    assert_error(response, 404, "invite_unknown")
    assert count(WorkshopMembership) == 0


def test_guessing_is_stopped(client, db, shop, regulator):
    code = new_code(client, shop, regulator)
    operator = UserFactory()
    headers = bearer(operator)
    for _ in range(10):
        assert client.post(REDEEM, json={"code": "ZZZZZZZZ"}, headers=headers).status_code == 404
    response = client.post(REDEEM, json={"code": code}, headers=headers)
    assert_error(response, 429, "too_many_requests")
    assert "Retry-After" in response.headers
    assert count(WorkshopMembership) == 0
    # Someone else is not held back by it.
    assert (
        client.post(REDEEM, json={"code": code}, headers=bearer(UserFactory())).status_code == 200
    )


@pytest.mark.parametrize("factory", [RegulatorFactory, InspectorFactory])
def test_only_operators_redeem(client, db, shop, regulator, factory):
    code = new_code(client, shop, regulator)
    assert_error(
        client.post(REDEEM, json={"code": code}, headers=bearer(factory())), 403, "operators_only"
    )
    assert db.session.scalar(select(InviteCode.used_at)) is None


def test_redeeming_needs_a_login(client, db, shop, regulator):
    code = new_code(client, shop, regulator)
    assert_error(client.post(REDEEM, json={"code": code}), 401, "token_missing")
    expired = issue_token(UserFactory(), ttl=timedelta(seconds=-1))
    response = client.post(
        REDEEM, json={"code": code}, headers={"Authorization": f"Bearer {expired}"}
    )
    assert_error(response, 401, "token_expired")
    assert db.session.scalar(select(InviteCode.used_at)) is None


def test_a_member_is_not_bound_twice_and_the_code_is_kept(client, db, shop, regulator):
    member = UserFactory()
    WorkshopMembershipFactory(user=member, workshop_id=shop.id, role=MemberRole.STAFF)
    code = new_code(client, shop, regulator, role="staff")
    assert_error(
        client.post(REDEEM, json={"code": code}, headers=bearer(member)), 409, "already_member"
    )
    assert db.session.scalar(select(InviteCode.used_at)) is None
    # The code still serves the person it was meant for.
    assert (
        client.post(REDEEM, json={"code": code}, headers=bearer(UserFactory())).status_code == 200
    )


def test_an_owner_code_makes_staff_the_owner(client, db, shop, regulator):
    member = UserFactory()
    membership = WorkshopMembershipFactory(user=member, workshop_id=shop.id, role=MemberRole.STAFF)
    code = new_code(client, shop, regulator, role="owner")
    response = client.post(REDEEM, json={"code": code}, headers=bearer(member))
    assert response.get_json()["workshop"]["role"] == "owner"
    db.session.refresh(membership)
    assert membership.role is MemberRole.OWNER
    assert count(WorkshopMembership, WorkshopMembership.user_id == member.id) == 1
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "invite.redeemed"))
    assert entry.details["previous_role"] == "staff"


def test_a_former_member_comes_back(client, db, shop, regulator):
    member = UserFactory()
    membership = WorkshopMembershipFactory(user=member, workshop_id=shop.id, active=False)
    code = new_code(client, shop, regulator)
    assert client.post(REDEEM, json={"code": code}, headers=bearer(member)).status_code == 200
    db.session.refresh(membership)
    assert membership.active


def test_a_code_for_a_workshop_closed_since_is_refused(client, db, shop, regulator):
    code = new_code(client, shop, regulator)
    shop.status = WorkshopStatus.CANCELLED
    db.session.flush()
    assert_error(
        client.post(REDEEM, json={"code": code}, headers=bearer(UserFactory())),
        409,
        "workshop_closed",
    )
    assert count(WorkshopMembership) == 0


def test_a_code_used_by_someone_else_meanwhile_is_refused(client, db, shop, regulator):
    # The race: this request read the code as unused, then another request used it before
    # this one's UPDATE. Loading the row first keeps the stale "unused" copy in the session,
    # exactly what a concurrent request would have seen.
    code = new_code(client, shop, regulator)
    invite = db.session.scalar(select(InviteCode))
    assert invite.used_at is None
    rival = UserFactory()
    db.session.execute(
        update(InviteCode)
        .where(InviteCode.id == invite.id)
        .values(used_at=utcnow(), used_by_id=rival.id)
        .execution_options(synchronize_session=False)
    )
    assert invite.used_at is None  # the stale copy
    operator = UserFactory()
    with pytest.raises(Conflict) as refused:
        invites.redeem(code, by=operator)
    assert refused.value.slug == "invite_used"
    assert count(WorkshopMembership, WorkshopMembership.user_id == operator.id) == 0
    assert db.session.get(InviteCode, invite.id).used_by_id == rival.id


def test_a_retried_redemption_replays_the_first_answer(client, db, shop, regulator):
    code = new_code(client, shop, regulator)
    headers = {**bearer(UserFactory()), "Idempotency-Key": "redeem-1"}
    first = client.post(REDEEM, json={"code": code}, headers=headers)
    again = client.post(REDEEM, json={"code": code}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = client.post(REDEEM, json={"code": "ZZZZZZZZ"}, headers=headers)
    assert_error(other, 409, "idempotency_key_reused")


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"code": ""},
        {"code": None},
        {"code": 12345678},
        {"code": ["X"]},
        {"code": "A" * 33},
        {"code": "ABCDEFGH", "role": "owner"},
        {"code": "ABCDEFGH", "workshop_id": 1},
        [],
        "ABCDEFGH",
    ],
    ids=lambda p: json.dumps(p)[:30],
)
def test_bad_redeem_bodies(client, db, shop, regulator, payload):
    new_code(client, shop, regulator)
    response = client.post(REDEEM, json=payload, headers=bearer(UserFactory()))
    assert_error(response, 422, "validation_failed")
    assert count(WorkshopMembership) == 0


def test_a_10_mb_redeem_body_is_refused(client, db):
    body = json.dumps({"code": "A" * (10 * 1000 * 1000)})
    response = client.post(
        REDEEM, data=body, content_type="application/json", headers=bearer(UserFactory())
    )
    assert_error(response, 413, "request_entity_too_large")


def test_the_invite_routes_are_documented(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert paths["/api/v1/workshops/{registration_no}/invites"]["post"]["summary"]
    assert paths[REDEEM]["post"]["summary"].startswith("Become a workshop")


def test_roles_of_users_are_unchanged_by_redeeming(client, db, shop, regulator):
    code = new_code(client, shop, regulator, role="owner")
    operator = UserFactory()
    client.post(REDEEM, json={"code": code}, headers=bearer(operator))
    db.session.refresh(operator)
    assert operator.role is Role.OPERATOR
