"""The console's first page: who is logged in and the registry's headline figures."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l

from backend.registry import filing
from portal.console.common import NavItem, acting_user

blueprint = Blueprint("home", __name__)
navigation = [NavItem("console.home.index", _l("总览"), order=0)]


@blueprint.get("/")
def index():
    """Overview: workshops on file, in a zone, upgraded, suspended, certificates ending."""
    return render_template("console/home.html", summary=filing.summary(by=acting_user()))
