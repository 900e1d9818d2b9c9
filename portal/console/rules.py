"""The food-safety rule base in the console: every row with its standard, clause, GB 2760
category and whether it was checked; its export; reports of refused non-food substances;
recorded additive uses today's rules flag. Regulators and inspectors read; nobody edits here
(the rule base is a data file checked by ``flask rules check``)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField

from backend.core.errors import ValidationError
from backend.extensions import db
from backend.registry.models import ProductCategory
from backend.rules import additives
from backend.rules import listing as rules
from portal.console.common import NavItem, acting_user, download

blueprint = Blueprint("rules", __name__, url_prefix="/rules")
navigation = [NavItem("console.rules.index", _l("规则库"), order=45)]


class AliasForm(FlaskForm):
    """Another name for a substance of the catalogue."""

    alias = StringField(_l("名称"))
    substance_code = SelectField(_l("物质"), choices=[], validate_choice=False)


def _alias_form() -> AliasForm:
    form = AliasForm()
    by_code, _names = additives.catalogue()
    form.substance_code.choices = [(a.code, f"{a.name_zh} ({a.code})") for a in by_code.values()]
    return form


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
        alias_form=_alias_form(),
        incident_count=rules.incident_count(acting_user()),
        aliases=rules.aliases(acting_user()),
    )


@blueprint.post("/aliases")
def add_alias():
    """Add another name for a known substance (regulators only)."""
    form = _alias_form()
    try:
        row = additives.add_alias(
            form.alias.data or "", form.substance_code.data or "", acting_user()
        )
    except ValidationError as refused:
        db.session.rollback()
        flash(refused.message, "error")
        return redirect(url_for("console.rules.index")), 303
    flash(_("已添加名称“%(alias)s”。", alias=row.alias), "success")
    return redirect(url_for("console.rules.index")), 303


@blueprint.get("/export.<any(csv, xlsx):fmt>")
def export(fmt: str):
    """The whole rule base as CSV or XLSX (audited)."""
    data, filename = rules.export_rules(fmt, by=acting_user())
    return download(data, filename, fmt)


@blueprint.get("/incidents")
def incidents():
    """Non-food substances operators tried to record (refused), and flagged past uses."""
    user = acting_user()
    return render_template(
        "console/rules/incidents.html",
        incidents=rules.incidents(user),
        flagged=rules.flagged_uses(user),
        newest=rules.AUDIT_BATCHES,
    )
