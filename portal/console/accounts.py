"""Logging in and out of the console, and choosing its language."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user

from backend.accounts import users
from backend.core.errors import Unauthorized
from backend.core.ratelimit import RateLimited
from backend.core.transactions import keep_writes
from portal.console.common import safe_next
from portal.console.forms import LoginForm, LogoutForm

blueprint = Blueprint("accounts", __name__)


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    """The login page; a right username and password open the console."""
    form = LoginForm()
    target = safe_next(request.args.get("next"), url_for("console.dashboard.index"))
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(target)
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("console/accounts/login.html", form=form), status
    try:
        user = users.authenticate(
            form.username.data, form.password.data, request.remote_addr or "-"
        )
    except RateLimited as exc:
        keep_writes()  # keep the audit of the failures
        minutes = max(1, -(-int(exc.headers["Retry-After"]) // 60))
        form.form_errors.append(exc.message)
        form.form_errors.append(str(_l("请在 %(minutes)d 分钟后重试。", minutes=minutes)))
        response = render_template("console/accounts/login.html", form=form)
        return response, 429, {"Retry-After": exc.headers["Retry-After"]}
    except Unauthorized as exc:
        keep_writes()  # the failed attempt is audited
        form.form_errors.append(exc.message)
        return render_template("console/accounts/login.html", form=form), 401
    session.clear()  # a fresh session (and CSRF token) for the logged-in user
    login_user(user)
    current_app.logger.info("console login: %s", user.username)
    return redirect(target)


@blueprint.post("/logout")
def logout():
    """Log out (a POST with the CSRF token) and return to the login page."""
    LogoutForm()  # the token was checked by the console's guard
    logout_user()
    session.clear()
    flash(_l("您已退出登录。"), "info")
    return redirect(url_for("console.accounts.login"))


@blueprint.get("/language/<code>")
def language(code: str):
    """Remember the chosen language (lang cookie) and go back to the console page."""
    target = safe_next(request.args.get("next"), url_for("console.dashboard.index"))
    response = redirect(target)
    if code in current_app.config["LANGUAGES"]:
        response.set_cookie("lang", code, max_age=365 * 86400, samesite="Lax", httponly=True)
    return response
