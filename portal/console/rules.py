"""The food-safety rule base in the console: every row with its standard, clause, GB 2760
category and whether it was checked; its export; reports of refused non-food substances;
recorded additive uses today's rules flag. Regulators and inspectors read; nobody edits here
(the rule base is a data file checked by ``flask rules check``)."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l

from backend.extensions import db
from backend.quality import rules
from backend.registry.models import ProductCategory
from portal.console.common import NavItem, acting_user, download

blueprint = Blueprint("rules", __name__, url_prefix="/rules")
navigation = [NavItem("console.rules.index", _l("规则库"), order=45)]


@blueprint.get("/")
def index():
    """The rule base, filtered by product category or to the unverified rows."""
    category = request.args.get("category", "").strip()
    unverified = request.args.get("unverified") == "1"
    rows = rules.rule_rows(acting_user(), category=category, unverified_only=unverified)
    categories = db.session.query(ProductCategory).order_by(ProductCategory.code).all()
    return render_template(
        "console/rules/index.html",
        rows=rows,
        category=category,
        unverified=unverified,
        categories=categories,
        comparison_names=rules.COMPARISON_ZH,
    )


@blueprint.get("/export.<any(csv, xlsx):fmt>")
def export(fmt: str):
    """The whole rule base as CSV or XLSX (audited)."""
    data, filename = rules.export_rules(fmt, by=acting_user())
    db.session.commit()  # the export is audited
    return download(data, filename, fmt)


@blueprint.get("/incidents")
def incidents():
    """Non-food substances operators tried to record (refused), and flagged past uses."""
    user = acting_user()
    return render_template(
        "console/rules/incidents.html",
        incidents=rules.incidents(user),
        flagged=rules.flagged_uses(user),
    )
