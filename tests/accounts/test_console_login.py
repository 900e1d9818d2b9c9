"""The console's door: login, logout, CSRF, rate limits, who may come in, the users CLI."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.accounts.models import Role, User
from backend.audit.models import AuditLog
from backend.core import ratelimit
from tests.factories import WorkshopFactory
from tests.support.console import (
    PASSWORD,
    console_user,
    csrf_token,
    logged_in,
    login,
    submit,
    text,
)


@pytest.fixture()
def still_clock(monkeypatch):
    """Rate-limit windows that do not roll over in the middle of a test."""
    monkeypatch.setattr(ratelimit, "clock", lambda: 1_800_000_000.0 + 30)


def test_login_page_is_chinese_first_with_a_token(client, db):
    response = client.get("/console/login")
    assert response.status_code == 200
    page = text(response)
    assert '<html lang="zh-CN">' in page
    assert "登录监管控制台" in page
    assert 'name="csrf_token"' in page
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_console_pages_need_a_login(client, db):
    response = client.get("/console/registry/?township=半里乡")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/console/login?next=")
    follow = client.get(location)
    assert "请先登录" in text(follow)


def test_regulator_logs_in_and_lands_where_they_were_going(client, db):
    user = console_user(Role.REGULATOR)
    token = csrf_token(client, "/console/login?next=/console/registry/")
    response = client.post(
        "/console/login?next=/console/registry/",
        data={"username": user.username.upper(), "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/console/registry/"
    assert client.get("/console/registry/").status_code == 200
    again = client.get("/console/login")  # already logged in: straight to the console
    assert again.status_code == 302 and again.headers["Location"] == "/console/"
    db.session.refresh(user)
    assert user.last_login_at is not None
    actions = db.session.scalars(select(AuditLog.action).where(AuditLog.actor_id == user.id))
    assert "user.logged_in" in list(actions)


def test_next_never_leaves_the_console(client, db):
    user = console_user()
    for target in ("https://evil.example/console", "//evil.example/x", "/api/v1/me", "/\\evil"):
        client.get("/console/logout")  # GET is not allowed and changes nothing
        token = csrf_token(client, "/console/login")
        response = client.post(
            f"/console/login?next={target}",
            data={"username": user.username, "password": PASSWORD, "csrf_token": token},
        )
        assert response.status_code == 302
        location = response.headers["Location"]
        assert location.startswith("/console"), (target, location)
        assert "evil" not in location
        submit(client, "/console/", action="/console/logout")


def test_inspector_may_log_in(client, db):
    logged_in(client, Role.INSPECTOR)
    assert "检验人员" in text(client.get("/console/"))


def test_wrong_password_and_unknown_user_get_the_same_clear_message(client, db, still_clock):
    user = console_user()
    wrong = login(client, user, "not the password")
    unknown = submit(client, "/console/login", {"username": "nobody", "password": PASSWORD})
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "用户名或密码错误" in text(response)
        assert 'name="csrf_token"' in text(response)  # the form is shown again
    assert client.get("/console/").status_code == 302  # still not logged in


def test_empty_fields_are_named(client, db):
    response = submit(client, "/console/login", {"username": "", "password": ""})
    assert response.status_code == 422
    page = text(response)
    assert "请输入用户名" in page and "请输入密码" in page


def test_operators_log_in_with_wechat_not_here(client, db):
    operator = console_user(Role.OPERATOR)
    response = login(client, operator)
    assert response.status_code == 401
    assert "微信小程序" in text(response)
    assert client.get("/console/").status_code == 302


def test_inactive_accounts_cannot_log_in(client, db):
    user = console_user(active=False)
    response = login(client, user)
    assert response.status_code == 401
    assert "用户名或密码错误" in text(response)


def test_failed_logins_are_limited_per_username(client, db, still_clock):
    user = console_user()
    for _ in range(5):
        assert login(client, user, "wrong password!").status_code == 401
    blocked = login(client, user)  # even the right password is refused now
    assert blocked.status_code == 429
    page = text(blocked)
    assert "登录失败次数过多" in page and "分钟后重试" in page
    assert int(blocked.headers["Retry-After"]) > 0
    assert client.get("/console/").status_code == 302
    # another account from the same client is not locked out by this one
    other = console_user()
    assert login(client, other).status_code == 302


def test_failed_logins_are_limited_per_client(client, db, still_clock):
    for n in range(20):
        response = submit(client, "/console/login", {"username": f"guess{n}", "password": "x"})
        assert response.status_code == 401
    user = console_user()
    blocked = login(client, user)
    assert blocked.status_code == 429
    assert "登录失败次数过多" in text(blocked)
    other_client = client.application.test_client()
    response = submit(
        other_client,
        "/console/login",
        {"username": user.username, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    )
    assert response.status_code == 302


def test_a_post_without_the_token_is_refused_with_a_clear_page(client, db):
    user = console_user()
    response = client.post("/console/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    page = text(response)
    assert "安全令牌" in page and "未保存任何内容" in page
    assert '"error"' not in page
    assert client.get("/console/").status_code == 302


def test_a_forged_token_is_refused_for_logged_in_users_too(client, db):
    logged_in(client)
    workshop = WorkshopFactory()
    response = client.post(
        f"/console/registry/{workshop.id}/status",
        data={"action": "suspend", "reason": "x", "csrf_token": "forged"},
    )
    assert response.status_code == 400
    assert "安全令牌" in text(response)
    assert workshop.status.value == "active"


def test_the_json_api_is_not_subject_to_the_console_csrf(client, db):
    response = client.post("/api/v1/batches/NOPE/codes", json={"count": 1, "kind": "unit"})
    assert response.status_code == 401
    assert response.is_json
    assert response.get_json()["error"] != "csrf_failed"


def test_logout_is_a_post_with_the_token(client, db):
    logged_in(client)
    assert client.get("/console/logout").status_code == 405
    assert client.post("/console/logout").status_code == 400  # no token
    assert client.get("/console/").status_code == 200
    response = submit(client, "/console/", action="/console/logout")
    assert response.status_code == 302
    assert response.headers["Location"] == "/console/login"
    assert client.get("/console/").status_code == 302


def test_a_new_password_ends_other_sessions(client, runner, db):
    user = logged_in(client)
    assert client.get("/console/").status_code == 200
    result = runner.invoke(
        args=["users", "set-password", "--username", user.username],
        input="another long password\nanother long password\n",
    )
    assert result.exit_code == 0, result.output
    assert client.get("/console/").status_code == 302


def test_language_switch_sets_the_cookie(client, db):
    logged_in(client)
    response = client.get("/console/language/en?next=/console/registry/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/console/registry/"
    page = text(client.get("/console/registry/"))
    assert '<html lang="en">' in page
    assert "Workshop registry" in page


def test_users_create_makes_the_first_regulator(runner, client, db):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--role",
            "regulator",
            "--username",
            "Lin.Wei",
            "--password",
            "a long enough password",
            "--name",
            "林伟",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "regulator 'lin.wei'" in result.output
    user = db.session.scalar(select(User).where(User.username == "lin.wei"))
    assert user.role is Role.REGULATOR
    assert user.password_hash.startswith("pbkdf2:sha256")
    assert "a long enough password" not in user.password_hash
    token = csrf_token(client, "/console/login")
    response = client.post(
        "/console/login",
        data={"username": "lin.wei", "password": "a long enough password", "csrf_token": token},
    )
    assert response.status_code == 302


def test_users_create_prompts_for_a_hidden_password(runner, db):
    result = runner.invoke(
        args=["users", "create", "--role", "inspector", "--username", "lab1"],
        input="lab password 123\nlab password 123\n",
    )
    assert result.exit_code == 0, result.output
    assert "lab password 123" not in result.output
    assert db.session.scalar(select(User.role).where(User.username == "lab1")) is Role.INSPECTOR


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "regulator", "--username", "ab", "--password", "long enough pw"], "用户名"),
        (["--role", "regulator", "--username", "short", "--password", "short"], "密码长度"),
        (["--role", "operator", "--username", "op1", "--password", "long enough pw"], "operator"),
    ],
)
def test_users_create_refuses_bad_input(runner, db, args, message):
    result = runner.invoke(args=["users", "create", *args])
    assert result.exit_code != 0
    assert message in result.output


def test_users_create_refuses_a_taken_username(runner, db):
    console_user(username="taken")
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--role",
            "inspector",
            "--username",
            "TAKEN",
            "--password",
            "x" * 12,
        ]
    )
    assert result.exit_code == 1
    assert "已被使用" in result.output
    assert db.session.scalar(select(User.id).where(User.username == "TAKEN")) is None
