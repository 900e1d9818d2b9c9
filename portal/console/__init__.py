"""The regulators' console under /console: server-rendered pages for regulators and inspectors.

One parent blueprint, ``console``, holds what every console page shares: a login is needed
(except to log in), every unsafe request must carry the CSRF token of the session, and
pages are never cached or framed. Each part of the
console is one feature's module (``portal/console/<feature>.py``, listed in :func:`parts`)
with a ``blueprint`` registered as a child (endpoints read ``console.<feature>.<view>``); a
part names its link in the navigation in ``navigation`` (a list of
:class:`~portal.console.common.NavItem`, placed by their ``order``) and its buttons on a
workshop's page in ``workshop_actions``.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, request
from flask_login import current_user

from backend.core.time import to_local
from backend.extensions import csrf, login_manager
from backend.registry.filing import STATUS_LABELS
from portal.console.common import NavItem

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
# Pages a visitor who is not logged in may see.
OPEN_ENDPOINTS = {"console.accounts.login", "console.accounts.language"}

blueprint = Blueprint("console", __name__, url_prefix="/console", template_folder=str(TEMPLATES))
NAVIGATION: list[NavItem] = []
WORKSHOP_ACTIONS: list[NavItem] = []


def parts() -> list:
    """The console's parts, one per feature (``portal/console/<feature>.py``)."""
    from portal.console import (
        accounts,
        cameras,
        complaints,
        dashboard,
        inspections,
        plans,
        registry,
        rules,
        samples,
        trace,
        training,
    )

    return [
        accounts,
        cameras,
        complaints,
        dashboard,
        inspections,
        plans,
        trace,
        registry,
        rules,
        samples,
        training,
    ]


def _mount_parts() -> None:
    """Register every part of the console and collect their links."""
    for module in parts():
        blueprint.register_blueprint(module.blueprint)
        NAVIGATION.extend(getattr(module, "navigation", []))
        WORKSHOP_ACTIONS.extend(getattr(module, "workshop_actions", []))
    NAVIGATION.sort(key=lambda item: item.order)
    WORKSHOP_ACTIONS.sort(key=lambda item: item.order)


_mount_parts()


@blueprint.before_request
def guard():
    """Check the CSRF token of every unsafe request, then that someone is logged in."""
    csrf.protect()
    if request.endpoint in OPEN_ENDPOINTS or current_user.is_authenticated:
        return None
    return login_manager.unauthorized()


@blueprint.after_request
def protect_pages(response):
    """Console pages hold personal data: never cache them, never show them in a frame."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
        "form-action 'self'; base-uri 'none'"
    )
    return response


@blueprint.context_processor
def console_context() -> dict:
    """What every console template may use: the user, the navigation, status names."""
    return {
        "console_user": current_user,
        "navigation": [item for item in NAVIGATION if item.visible_to(current_user)],
        "status_labels": STATUS_LABELS,
        "workshop_actions": [a for a in WORKSHOP_ACTIONS if a.visible_to(current_user)],
    }


@blueprint.app_template_filter("local_datetime")
def local_datetime(value) -> str:
    """A stored UTC time as Asia/Shanghai wall-clock time, to the minute."""
    return f"{to_local(value):%Y-%m-%d %H:%M}" if value else ""


def register(app: Flask) -> None:
    """Mount the console on *app*."""
    app.register_blueprint(blueprint)
