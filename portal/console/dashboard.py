"""The console's first page: the regulators' dashboard (backend.dashboard.overview).

Every figure is shown as text and tables; the same figures go to the page's charts as a
JSON data block that static/js/console-dashboard.js draws with the vendored ECharts (the
console's Content-Security-Policy allows no inline script).
"""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from backend.dashboard.overview import Dashboard, overview
from backend.inspections.hazards import HAZARD_STATUS_LABELS
from portal.console.common import NavItem, acting_user

blueprint = Blueprint("dashboard", __name__)
navigation = [NavItem("console.dashboard.index", _l("总览"), order=0)]


def chart_data(dashboard: Dashboard) -> dict:
    """What the charts draw: plain lists of the dashboard's figures, with their labels."""
    from portal import localized  # the portal package imports this module while it loads

    return {
        "labels": {
            "scans": _("扫码次数"),
            "last_7": _("近 7 天"),
            "last_30": _("近 30 天"),
            "qualification": _("合格率"),
        },
        "scans": {
            "days": [day.day.isoformat() for day in dashboard.scans],
            "counts": [day.scans for day in dashboard.scans],
        },
        "ledgers": {
            "names": [row.name for row in dashboard.ledgers],
            "last_7": [row.last_7.percent for row in dashboard.ledgers],
            "last_30": [row.last_30.percent for row in dashboard.ledgers],
        },
        "qualification": {
            "names": [localized(row, "name") for row in dashboard.qualification.by_category],
            "rates": [row.qualified.percent for row in dashboard.qualification.by_category],
        },
    }


@blueprint.get("/")
def index():
    """Dashboard: workshops on file, inspection coverage, qualification rate, ledger
    completeness, overdue rectifications, cameras online and scans per day."""
    dashboard = overview(by=acting_user())
    return render_template(
        "console/dashboard/index.html",
        dashboard=dashboard,
        charts=chart_data(dashboard),
        hazard_status_names=HAZARD_STATUS_LABELS,
    )
