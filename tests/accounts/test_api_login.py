"""Logging in with WeChat (through the real wechatpy client and a fake WeChat server),
the development login, tokens, phone binding, /me and a regulator's revocation."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backend import create_app
from backend.accounts.models import ApiToken, MemberRole, Role, User
from backend.accounts.tokens import hash_secret, issue_token
from backend.audit.models import AuditLog
from backend.config import ProductionConfig
from backend.core.time import utcnow
from backend.extensions import db as _db
from tests.conftest import ConnectionSession, RequestClient, make_config
from tests.factories import (
    InspectorFactory,
    RegulatorFactory,
    UserFactory,
    WorkshopFactory,
    WorkshopMembershipFactory,
)

ROOT = Path(__file__).resolve().parents[2]
ERROR_KEYS = {"code", "status", "error", "message", "errors"}
LOGIN = "/api/v1/auth/wechat/login"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def user_count() -> int:
    return _db.session.scalar(select(func.count()).select_from(User))


def assert_error(response, status: int, slug: str) -> dict:
    """The one error shape, with this status and slug."""
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert set(body) == ERROR_KEYS, body
    assert body["code"] == status and body["error"] == slug, body
    assert body["message"]
    return body


# --- WeChat login ---------------------------------------------------------------------


def test_first_login_creates_an_operator_and_answers_a_token(client, db, fake_wechat):
    response = client.post(LOGIN, json={"code": "abc123"})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"token", "expires_at", "user"}
    assert body["user"] == {
        "id": body["user"]["id"],
        "role": "operator",
        "display_name": "",
        "phone_bound": False,
        "workshops": [],
    }
    user = db.session.get(User, body["user"]["id"])
    assert user.openid == "openid-abc123" and user.unionid == "unionid-abc123"
    # The session key stays on the server.
    assert user.wechat_session_key == "sk-abc123"
    assert "sk-abc123" not in response.get_data(as_text=True)
    # Only the token's hash is stored, and it expires in 30 days.
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert token.token_hash == hash_secret(body["token"]) and body["token"] not in token.token_hash
    assert abs(token.expires_at - (utcnow() + timedelta(days=30))) < timedelta(minutes=1)
    assert body["expires_at"].startswith(token.expires_at.isoformat()[:16])
    # The real wechatpy client asked the fake with our appid and the code.
    (call,) = fake_wechat.calls_to("/sns/jscode2session")
    assert call["query"]["js_code"] == "abc123"
    assert call["query"]["appid"] == fake_wechat.appid
    assert call["query"]["grant_type"] == "authorization_code"
    # The token opens /me.
    me = client.get("/api/v1/me", headers=bearer(body["token"]))
    assert me.status_code == 200 and me.get_json() == body["user"]
    assert db.session.scalar(
        select(AuditLog).where(AuditLog.action == "user.created", AuditLog.actor_id == user.id)
    )


def test_logging_in_again_finds_the_same_user(client, db, fake_wechat):
    first = client.post(LOGIN, json={"code": "same"}).get_json()
    before = user_count()
    second = client.post(LOGIN, json={"code": "same"}).get_json()
    assert second["user"]["id"] == first["user"]["id"]
    assert second["token"] != first["token"]
    assert user_count() == before
    # Both tokens work: each phone has its own.
    for token in (first["token"], second["token"]):
        assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200


def test_a_user_known_by_unionid_gets_the_openid(client, db, fake_wechat):
    known = UserFactory(unionid="unionid-xyz", openid=None)
    body = client.post(LOGIN, json={"code": "xyz"}).get_json()
    assert body["user"]["id"] == known.id
    db.session.refresh(known)
    assert known.openid == "openid-xyz"


def test_the_answer_lists_the_users_workshops(client, db, fake_wechat):
    body = client.post(LOGIN, json={"code": "member"}).get_json()
    user = db.session.get(User, body["user"]["id"])
    shop = WorkshopFactory(name="半里林氏红曲酒坊")
    WorkshopMembershipFactory(user=user, workshop_id=shop.id, role=MemberRole.OWNER)
    WorkshopMembershipFactory(user=user, active=False)  # a former workshop is not listed
    body = client.post(LOGIN, json={"code": "member"}).get_json()
    assert body["user"]["workshops"] == [
        {
            "id": shop.id,
            "name": "半里林氏红曲酒坊",
            "registration_no": shop.registration_no,
            "role": "owner",
        }
    ]


def test_an_inactive_user_cannot_log_in(client, db, fake_wechat):
    UserFactory(openid="openid-gone", active=False)
    assert_error(client.post(LOGIN, json={"code": "gone"}), 403, "user_inactive")
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0


@pytest.mark.parametrize(
    ("errcode", "status", "slug"),
    [
        (40029, 422, "wechat_bad_code"),
        (40163, 422, "wechat_bad_code"),
        (45011, 429, "wechat_rate_limited"),
        (40226, 403, "wechat_user_blocked"),
        (-1, 502, "wechat_error"),
    ],
)
def test_wechat_refusals_are_clear_errors(client, db, fake_wechat, errcode, status, slug):
    before = user_count()
    fake_wechat.fail_next(errcode)
    body = assert_error(client.post(LOGIN, json={"code": "abc"}), status, slug)
    assert body["errors"] == {"errcode": errcode}
    assert user_count() == before


def test_english_speakers_read_the_error_in_english(client, db, fake_wechat):
    fake_wechat.fail_next(40029)
    response = client.post(LOGIN, json={"code": "abc"}, headers={"Accept-Language": "en"})
    message = assert_error(response, 422, "wechat_bad_code")["message"]
    assert message.isascii() and "WeChat" in message


def test_a_slow_wechat_times_out_quickly(client, db, fake_wechat, app, monkeypatch):
    monkeypatch.setitem(app.config, "WECHAT_TIMEOUT", 0.3)
    fake_wechat.delay_next(2.0)
    before = user_count()
    assert_error(client.post(LOGIN, json={"code": "slow"}), 504, "wechat_timeout")
    assert user_count() == before
    # The next attempt, answered in time, works.
    assert client.post(LOGIN, json={"code": "slow"}).status_code == 200


def test_without_wechat_settings_login_says_so(client, db):
    before = user_count()
    assert_error(client.post(LOGIN, json={"code": "abc"}), 503, "wechat_not_configured")
    assert user_count() == before


def test_an_unreachable_wechat_is_a_503(client, db, app, monkeypatch):
    with socket.socket() as sock:  # a loopback port with nobody listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setitem(app.config, "WECHAT_APPID", "wx")
    monkeypatch.setitem(app.config, "WECHAT_SECRET", "s")
    monkeypatch.setitem(app.config, "WECHAT_API_BASE_URL", f"http://127.0.0.1:{port}/")
    app.extensions.pop("wechat_storage", None)
    assert_error(client.post(LOGIN, json={"code": "abc"}), 503, "wechat_unreachable")
    app.extensions.pop("wechat_storage", None)


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"code": ""},
        {"code": None},
        {"code": 12345},
        {"code": ["abc"]},
        {"code": {"a": 1}},
        {"code": "has space"},
        {"code": "x" * 129},
        {"code": "abc", "openid": "openid-admin"},
        {"code": "abc", "role": "regulator"},
        [],
        "abc",
        123,
    ],
    ids=lambda p: json.dumps(p)[:30],
)
def test_bad_login_bodies_are_refused_before_wechat(client, db, fake_wechat, payload):
    before = user_count()
    assert_error(client.post(LOGIN, json=payload), 422, "validation_failed")
    assert fake_wechat.calls == [] and user_count() == before


def test_a_body_that_is_not_json_is_refused(client, db, fake_wechat):
    response = client.post(LOGIN, data="{not json", content_type="application/json")
    assert response.status_code in (400, 422)
    assert set(response.get_json()) == ERROR_KEYS
    response = client.post(LOGIN, data="code=abc", content_type="application/x-www-form-urlencoded")
    assert_error(response, 422, "validation_failed")
    assert fake_wechat.calls == []


def test_a_10_mb_body_is_refused_in_the_error_shape(client, db, fake_wechat):
    body = json.dumps({"code": "x" * (10 * 1000 * 1000)})
    response = client.post(LOGIN, data=body, content_type="application/json")
    assert_error(response, 413, "request_entity_too_large")
    assert fake_wechat.calls == []


def test_login_is_in_the_openapi_document_but_dev_login_is_not(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert paths[LOGIN]["post"]["summary"].startswith("Exchange a wx.login code")
    assert "/api/v1/auth/dev-login" not in paths
    for path in ("/api/v1/auth/logout", "/api/v1/auth/phone", "/api/v1/me"):
        assert path in paths
    assert "/api/v1/users/{user_id}/revoke-tokens" in paths


# --- development login ------------------------------------------------------------------


def transactional(application):
    """Run *application* inside a transaction that is rolled back (like the db fixture)."""
    context = application.app_context()
    context.push()
    connection = _db.engine.connect()
    transaction = connection.begin()
    session = _db._make_scoped_session(
        {
            "bind": connection,
            "join_transaction_mode": "create_savepoint",
            "class_": ConnectionSession,
        }
    )
    original, _db.session = _db.session, session

    def close():
        session.remove()
        _db.session = original
        transaction.rollback()
        connection.close()
        _db.engine.dispose()
        context.pop()

    return close


@pytest.fixture()
def dev_app(app, database_url):
    """A development app in debug, on the test database, rolled back afterwards."""
    application = create_app(make_config(database_url, DEBUG=True, ENV_NAME="development"))
    application.test_client_class = RequestClient
    close = transactional(application)
    yield application
    close()


def test_the_dev_login_works_in_a_development_app_in_debug(dev_app):
    client = dev_app.test_client()
    response = client.post("/api/v1/auth/dev-login", json={"openid": "dev-operator-1"})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["user"]["role"] == "operator"
    assert client.get("/api/v1/me", headers=bearer(body["token"])).status_code == 200
    again = client.post("/api/v1/auth/dev-login", json={"openid": "dev-operator-1"}).get_json()
    assert again["user"]["id"] == body["user"]["id"]
    # Bad input is refused there too.
    for payload in ({}, {"openid": ""}, {"openid": "a b"}, {"openid": "x", "role": "regulator"}):
        assert client.post("/api/v1/auth/dev-login", json=payload).status_code == 422
    # Turning debug off at run time closes it at once.
    dev_app.debug = False
    response = client.post("/api/v1/auth/dev-login", json={"openid": "dev-operator-1"})
    assert_error(response, 404, "not_found")


def test_there_is_no_dev_login_in_the_test_app(client, db):
    response = client.post("/api/v1/auth/dev-login", json={"openid": "x"})
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("env_name", ["production", "testing"])
def test_debug_forced_on_outside_development_has_no_dev_login(app, database_url, env_name):
    application = create_app(make_config(database_url, DEBUG=True, ENV_NAME=env_name))
    close = transactional(application)
    try:
        assert application.debug
        rules = {rule.rule for rule in application.url_map.iter_rules()}
        assert "/api/v1/auth/dev-login" not in rules
        response = application.test_client().post("/api/v1/auth/dev-login", json={"openid": "x"})
        assert_error(response, 404, "not_found")
    finally:
        close()


def test_the_production_config_has_no_dev_login_even_in_debug(app, database_url):
    config = type(
        "Prod",
        (ProductionConfig,),
        {"SECRET_KEY": "s" * 32, "SQLALCHEMY_DATABASE_URI": database_url, "DEBUG": True},
    )
    application = create_app(config)
    close = transactional(application)
    try:
        application.debug = True  # what `flask --debug run` does after loading the app
        rules = {rule.rule for rule in application.url_map.iter_rules()}
        assert "/api/v1/auth/dev-login" not in rules
        assert "/api/v1/auth/wechat/login" in rules
        response = application.test_client().post("/api/v1/auth/dev-login", json={"openid": "x"})
        assert_error(response, 404, "not_found")
    finally:
        close()


def test_flask_debug_on_the_command_line_does_not_open_it_in_production(tmp_path):
    environment = {
        k: v for k, v in os.environ.items() if k not in ("YIPIN_ENV", "FLASK_APP", "FLASK_DEBUG")
    }
    environment.update(
        YIPIN_ENV="production",
        SECRET_KEY="s" * 32,
        DATABASE_URL=f"sqlite:///{tmp_path / 'prod.db'}",
        FLASK_DEBUG="1",
    )
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "backend", "--debug", "routes"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "/api/v1/auth/wechat/login" in result.stdout
    assert "dev-login" not in result.stdout
    development = {**environment, "YIPIN_ENV": "development"}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "backend", "routes"],
        cwd=ROOT,
        env=development,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "/api/v1/auth/dev-login" in result.stdout


# --- tokens -------------------------------------------------------------------------------


def test_logout_revokes_the_token_used(client, db, fake_wechat):
    first = client.post(LOGIN, json={"code": "two-phones"}).get_json()["token"]
    second = client.post(LOGIN, json={"code": "two-phones"}).get_json()["token"]
    response = client.post("/api/v1/auth/logout", headers=bearer(first))
    assert response.status_code == 204 and response.data == b""
    assert_error(client.get("/api/v1/me", headers=bearer(first)), 401, "token_invalid")
    assert_error(client.post("/api/v1/auth/logout", headers=bearer(first)), 401, "token_invalid")
    # The other phone stays logged in.
    assert client.get("/api/v1/me", headers=bearer(second)).status_code == 200


def test_logout_without_a_token_is_a_401(client, db):
    assert_error(client.post("/api/v1/auth/logout"), 401, "token_missing")


@pytest.mark.parametrize(
    ("header", "slug"),
    [
        (None, "token_missing"),
        ("Bearer", "token_missing"),
        ("Basic dXNlcjpwYXNz", "token_missing"),
        ("Bearer not-a-token", "token_invalid"),
        ("Bearer " + "x" * 5000, "token_invalid"),
    ],
)
def test_missing_and_unknown_tokens(client, db, header, slug):
    headers = {"Authorization": header} if header else {}
    assert_error(client.get("/api/v1/me", headers=headers), 401, slug)


def test_expired_revoked_and_disabled_tokens_have_distinct_slugs(client, db):
    user = UserFactory()
    expired = issue_token(user, ttl=timedelta(seconds=-1))
    assert_error(client.get("/api/v1/me", headers=bearer(expired)), 401, "token_expired")
    revoked = issue_token(user)
    db.session.scalar(
        select(ApiToken).where(ApiToken.token_hash == hash_secret(revoked))
    ).revoked_at = utcnow()
    db.session.flush()
    assert_error(client.get("/api/v1/me", headers=bearer(revoked)), 401, "token_invalid")
    live = issue_token(user)
    assert client.get("/api/v1/me", headers=bearer(live)).status_code == 200
    user.active = False
    db.session.flush()
    assert_error(client.get("/api/v1/me", headers=bearer(live)), 401, "user_inactive")


def test_me_for_each_role(client, db):
    for factory, role in ((RegulatorFactory, "regulator"), (InspectorFactory, "inspector")):
        user = factory(display_name="王科长")
        body = client.get("/api/v1/me", headers=bearer(issue_token(user))).get_json()
        assert body == {
            "id": user.id,
            "role": role,
            "display_name": "王科长",
            "phone_bound": False,
            "workshops": [],
        }


def test_a_regulator_revokes_every_token_of_a_user(client, db):
    regulator, operator = RegulatorFactory(), UserFactory()
    tokens = [issue_token(operator), issue_token(operator)]
    issue_token(operator, ttl=timedelta(seconds=-1))  # expired already: not counted
    own = issue_token(regulator)
    response = client.post(f"/api/v1/users/{operator.id}/revoke-tokens", headers=bearer(own))
    assert response.status_code == 200 and response.get_json() == {"revoked": 2}
    for token in tokens:
        assert_error(client.get("/api/v1/me", headers=bearer(token)), 401, "token_invalid")
    assert client.get("/api/v1/me", headers=bearer(own)).status_code == 200
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "user.tokens_revoked"))
    assert entry.actor_id == regulator.id and entry.object_id == str(operator.id)
    assert entry.details == {"revoked": 2}
    # Nothing left to revoke the second time.
    response = client.post(f"/api/v1/users/{operator.id}/revoke-tokens", headers=bearer(own))
    assert response.get_json() == {"revoked": 0}


@pytest.mark.parametrize("factory", [UserFactory, InspectorFactory])
def test_only_regulators_revoke_tokens(client, db, factory):
    victim = UserFactory()
    victim_token = issue_token(victim)
    caller = factory()
    response = client.post(
        f"/api/v1/users/{victim.id}/revoke-tokens", headers=bearer(issue_token(caller))
    )
    assert_error(response, 403, "regulator_only")
    assert client.get("/api/v1/me", headers=bearer(victim_token)).status_code == 200
    # Not even one's own tokens this way.
    response = client.post(
        f"/api/v1/users/{caller.id}/revoke-tokens", headers=bearer(issue_token(caller))
    )
    assert_error(response, 403, "regulator_only")


def test_revoking_for_unknown_users(client, db):
    headers = bearer(issue_token(RegulatorFactory()))
    assert_error(
        client.post("/api/v1/users/999999/revoke-tokens", headers=headers), 404, "user_not_found"
    )
    for path in ("/api/v1/users/abc/revoke-tokens", "/api/v1/users/-1/revoke-tokens"):
        assert_error(client.post(path, headers=headers), 404, "not_found")
    huge = "/api/v1/users/99999999999999999999999/revoke-tokens"
    assert_error(client.post(huge, headers=headers), 404, "not_found")
    assert_error(client.post("/api/v1/users/1/revoke-tokens"), 401, "token_missing")
    assert_error(
        client.get("/api/v1/users/1/revoke-tokens", headers=headers), 405, "method_not_allowed"
    )


# --- phone --------------------------------------------------------------------------------


@pytest.fixture()
def operator(client, fake_wechat):
    """An operator logged in through the fake WeChat: (user id, headers)."""
    body = client.post(LOGIN, json={"code": "phone-owner"}).get_json()
    return body["user"]["id"], bearer(body["token"])


def test_binding_a_phone(client, db, fake_wechat, operator):
    user_id, headers = operator
    response = client.post("/api/v1/auth/phone", json={"code": "phone-code"}, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["phone_bound"] is True
    assert "13800138000" not in response.get_data(as_text=True)
    assert db.session.get(User, user_id).phone == "13800138000"
    (call,) = fake_wechat.calls_to("/wxa/business/getuserphonenumber")
    assert call["body"] == {"code": "phone-code"}
    assert client.get("/api/v1/me", headers=headers).get_json()["phone_bound"] is True


def test_a_bad_phone_code_binds_nothing(client, db, fake_wechat, operator):
    user_id, headers = operator
    fake_wechat.fail_next(40029)
    response = client.post("/api/v1/auth/phone", json={"code": "stale"}, headers=headers)
    assert_error(response, 422, "wechat_bad_phone_code")
    assert db.session.get(User, user_id).phone is None


def test_a_phone_binding_retried_with_its_key_asks_wechat_once(client, db, fake_wechat, operator):
    _, headers = operator
    headers = {**headers, "Idempotency-Key": "phone-1"}
    first = client.post("/api/v1/auth/phone", json={"code": "once"}, headers=headers)
    again = client.post("/api/v1/auth/phone", json={"code": "once"}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(fake_wechat.calls_to("/wxa/business/getuserphonenumber")) == 1
    other = client.post("/api/v1/auth/phone", json={"code": "other"}, headers=headers)
    assert_error(other, 409, "idempotency_key_reused")


@pytest.mark.parametrize(
    "payload",
    [{}, {"code": ""}, {"code": 1}, {"code": None}, {"code": "a", "phone": "13900000000"}],
)
def test_bad_phone_bodies(client, db, fake_wechat, operator, payload):
    _, headers = operator
    assert_error(
        client.post("/api/v1/auth/phone", json=payload, headers=headers), 422, "validation_failed"
    )
    assert fake_wechat.calls_to("/wxa/business/getuserphonenumber") == []


def test_binding_a_phone_needs_a_login(client, db, fake_wechat):
    assert_error(client.post("/api/v1/auth/phone", json={"code": "x"}), 401, "token_missing")
    assert fake_wechat.calls_to("/wxa/business/getuserphonenumber") == []


def test_wechat_not_configured_for_the_phone(client, db):
    headers = bearer(issue_token(UserFactory()))
    response = client.post("/api/v1/auth/phone", json={"code": "x"}, headers=headers)
    assert_error(response, 503, "wechat_not_configured")


def test_role_is_never_taken_from_the_client(client, db, fake_wechat):
    RegulatorFactory()
    body = client.post(LOGIN, json={"code": "sneaky"}).get_json()
    assert db.session.get(User, body["user"]["id"]).role is Role.OPERATOR


def test_an_odd_answer_from_wechat_is_a_502_not_a_500(client, db, fake_wechat):
    # The fake answers openid-<code>: a 100-character code gives an openid no real one has.
    before = user_count()
    response = client.post(LOGIN, json={"code": "x" * 100})
    assert_error(response, 502, "wechat_error")
    assert user_count() == before


def test_two_first_logins_at_once_make_one_user(db, fake_wechat, monkeypatch):
    from backend.accounts import login

    # The other request created the user after this one looked and found nobody.
    existing = UserFactory(openid="openid-race")
    real_by, calls = login._by, []

    def stale_by(column, value):
        calls.append(value)
        return None if len(calls) == 1 else real_by(column, value)

    monkeypatch.setattr(login, "_by", stale_by)
    result = login.wechat_login("race")
    assert result.user.id == existing.id
    assert (
        db.session.scalar(
            select(func.count()).select_from(User).where(User.openid == "openid-race")
        )
        == 1
    )
