"""The regulators' dashboard: every figure is one SQL aggregate over the district's records.

Each figure has its own module (:mod:`~backend.dashboard.workshops`,
:mod:`~backend.dashboard.coverage`, :mod:`~backend.dashboard.qualification`,
:mod:`~backend.dashboard.completeness`, :mod:`~backend.dashboard.overdue`,
:mod:`~backend.dashboard.cameras`, :mod:`~backend.dashboard.scans`), whose function states
the exact definition of its figure in its docstring and computes it in the database
(COUNT / SUM(CASE …) / GROUP BY, a join against a small table of days for figures per day,
:mod:`~backend.dashboard.days`); none loops over records in Python.

The figure functions read and never write; they check no permission themselves: pages call
:func:`overview`, which lets regulators and inspectors in and refuses everyone else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from backend.accounts.models import Role, User
from backend.accounts.permissions import require_role
from backend.core.i18n import gettext as _
from backend.core.time import local_today
from backend.dashboard.cameras import Cameras, cameras_online
from backend.dashboard.completeness import LedgerCompleteness, ledger_completeness
from backend.dashboard.coverage import inspection_coverage
from backend.dashboard.days import Ratio
from backend.dashboard.overdue import Overdue, overdue_rectifications
from backend.dashboard.qualification import Qualification, qualification_rate
from backend.dashboard.scans import ScanDay, scans_per_day
from backend.dashboard.workshops import RegistryFigures, registry_figures


@dataclass
class Dashboard:
    """Every figure of the dashboard, as of *today* (a local date)."""

    today: date
    registry: RegistryFigures
    coverage: Ratio
    qualification: Qualification
    ledgers: list[LedgerCompleteness]
    overdue: Overdue
    cameras: Cameras
    scans: list[ScanDay] = field(default_factory=list)

    @property
    def year(self) -> int:
        """The year the yearly figures cover."""
        return self.today.year

    @property
    def ledger_until(self) -> date:
        """The last day ledger completeness covers (yesterday: today is not over)."""
        return self.today - timedelta(days=1)

    @property
    def scans_total(self) -> int:
        """Scans over the days shown."""
        return sum(day.scans for day in self.scans)


def overview(*, by: User, today: date | None = None) -> Dashboard:
    """Every figure of the dashboard as of *today* (local), for a regulator or inspector."""
    require_role(
        by,
        Role.REGULATOR,
        Role.INSPECTOR,
        message=_("只有监管和检验人员可以查看监管总览。"),
        slug="staff_only",
    )
    today = today or local_today()
    return Dashboard(
        today=today,
        registry=registry_figures(today),
        coverage=inspection_coverage(today.year),
        qualification=qualification_rate(today.year),
        ledgers=ledger_completeness(today),
        overdue=overdue_rectifications(today),
        cameras=cameras_online(),
        scans=scans_per_day(today),
    )
