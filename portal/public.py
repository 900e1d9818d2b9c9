"""The public site's pages."""

from __future__ import annotations

from flask import Blueprint, render_template

from backend.registry import services

blueprint = Blueprint("public", __name__, template_folder="templates")


@blueprint.get("/")
def home():
    """Home page: the zone, its brands and its workshops."""
    zones = services.list_zones()
    return render_template("public/home.html", zones=zones)
