"""Console accounts: regulators and inspectors who log in with a username and password.

Passwords are hashed with werkzeug.security (scrypt unless ``PASSWORD_HASH_METHOD`` says
otherwise). Failed logins are counted per username and per client address with the
project's fixed-window limits; past either limit every attempt is refused until the
window ends, whether or not the password is right. Operators log in with WeChat only.
Every function flushes and never commits.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from flask import Flask, current_app
from flask_babel import lazy_gettext
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from backend.accounts.models import Role, User
from backend.audit.log import record
from backend.core import ratelimit
from backend.core.errors import Conflict, Unauthorized, ValidationError
from backend.core.i18n import gettext as _
from backend.core.time import utcnow
from backend.extensions import db, login_manager

CONSOLE_ROLES = (Role.REGULATOR, Role.INSPECTOR)
USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.\-]{2,49}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 200
# Checked when the username is unknown, so that a wrong name costs as long as a wrong password.
_DUMMY_HASH: dict[str, str] = {}


def normalise_username(text: str | None) -> str:
    """Usernames are case-insensitive: trimmed and lower-cased."""
    return (text or "").strip().lower()


def hash_password(password: str) -> str:
    """Hash *password* with the configured method (scrypt by default)."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def _check_password_rules(password: str) -> None:
    """ValidationError unless *password* is long enough and not absurdly long."""
    if not MIN_PASSWORD <= len(password or "") <= MAX_PASSWORD:
        raise ValidationError(
            _("密码长度须为 %(min)d 至 %(max)d 个字符。", min=MIN_PASSWORD, max=MAX_PASSWORD),
            slug="password_too_short",
            errors={"password": [_("至少 %(min)d 个字符。", min=MIN_PASSWORD)]},
        )


def create_user(
    username: str,
    password: str,
    role: Role,
    *,
    display_name: str = "",
    organisation: str = "",
    by: User | None = None,
) -> User:
    """Create a console account for a regulator or an inspector (*by* None: command line)."""
    role = Role(role)
    if role not in CONSOLE_ROLES:
        raise ValidationError(
            _("控制台账号只能是监管人员或检验人员。"),
            slug="role_not_allowed",
            errors={"role": [role.value]},
        )
    name = normalise_username(username)
    if not USERNAME.match(name):
        raise ValidationError(
            _("用户名须为 3 至 50 个小写字母、数字、点、横线或下划线，并以字母或数字开头。"),
            slug="username_invalid",
            errors={"username": [name]},
        )
    _check_password_rules(password)
    if db.session.scalar(select(User.id).where(User.username == name)) is not None:
        raise Conflict(_("用户名 %(name)s 已被使用。", name=name), slug="username_taken")
    user = User(
        username=name,
        password_hash=hash_password(password),
        role=role,
        display_name=(display_name or name)[:50],
        organisation=organisation[:100],
        active=True,
    )
    db.session.add(user)
    db.session.flush()
    record("user.created", "user", user.id, actor=by, via="password", role=role)
    return user


def set_password(username: str, password: str, *, by: User | None = None) -> User:
    """Give a console account a new password (ends its other console sessions)."""
    user = db.session.scalar(select(User).where(User.username == normalise_username(username)))
    if user is None or user.role not in CONSOLE_ROLES:
        raise ValidationError(
            _("没有名为 %(name)s 的控制台账号。", name=normalise_username(username)),
            slug="user_not_found",
        )
    _check_password_rules(password)
    user.password_hash = hash_password(password)
    db.session.flush()
    record("user.password_set", "user", user.id, actor=by)
    return user


def _login_limits() -> tuple[str, str]:
    """The failed-login limits per username and per client address."""
    config = current_app.config
    return config["CONSOLE_LOGIN_LIMIT_USER"], config["CONSOLE_LOGIN_LIMIT_CLIENT"]


def _dummy_hash() -> str:
    """A hash of nothing, made with the configured method, to check wrong names against."""
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _DUMMY_HASH:
        _DUMMY_HASH[method] = generate_password_hash("not-a-password", method=method)
    return _DUMMY_HASH[method]


def authenticate(username: str, password: str, client: str) -> User:
    """The console user with these credentials, or Unauthorized / RateLimited.

    Only failures are counted. A wrong username and a wrong password get the same answer;
    an operator (who logs in with WeChat) is told so only after the password matched.
    """
    name = normalise_username(username)[:50]
    per_user, per_client = _login_limits()
    message = _("登录失败次数过多，请稍后再试。")
    ratelimit.check("console-login-user", name, per_user, message)
    ratelimit.check("console-login-client", client, per_client, message)
    user = db.session.scalar(select(User).where(User.username == name)) if name else None
    stored = user.password_hash if user is not None and user.password_hash else None
    matches = check_password_hash(stored or _dummy_hash(), password or "")
    if not (stored and matches and user.active):
        ratelimit.count("console-login-user", name, per_user)
        ratelimit.count("console-login-client", client, per_client)
        record("user.login_failed", "user", user.id if user else "-", username=name)
        raise Unauthorized(_("用户名或密码错误。"), slug="login_failed")
    if user.role not in CONSOLE_ROLES:
        raise Unauthorized(
            _("作坊经营者请使用微信小程序登录，控制台仅供监管和检验人员使用。"),
            slug="console_not_for_operators",
        )
    user.last_login_at = utcnow()
    db.session.flush()
    record("user.logged_in", "user", user.id, actor=user, via="console")
    return user


def session_id(user: User) -> str:
    """The id kept in the console session: the user id and a fingerprint of the password.

    Changing the password changes the fingerprint, so every other session of that account
    stops working at its next request.
    """
    key = current_app.config["SECRET_KEY"].encode()
    mac = hmac.new(key, (user.password_hash or "").encode(), hashlib.sha256).hexdigest()[:16]
    return f"{user.id}.{mac}"


def load_console_user(identifier: str) -> User | None:
    """The user for a console session id, if it is still valid (Flask-Login's loader)."""
    user_id, _sep, fingerprint = (identifier or "").partition(".")
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.role not in CONSOLE_ROLES:
        return None
    if not hmac.compare_digest(session_id(user), identifier):
        return None
    return user


def init_login(app: Flask) -> None:
    """Bind Flask-Login: who the console's session belongs to, and where to log in."""
    login_manager.init_app(app, add_context_processor=False)  # public pages never ask
    login_manager.user_loader(load_console_user)
    login_manager.login_view = "console.accounts.login"
    login_manager.login_message = lazy_gettext("请先登录。")
    login_manager.login_message_category = "info"
