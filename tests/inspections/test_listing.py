"""Overdue hazards, the inspection list, rectification tracking and the export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from backend.core.time import local_today
from backend.inspections import checklist, conduct, listing
from backend.inspections.conduct import ConcludeInput
from backend.inspections.listing import HazardFilter, InspectionFilter
from backend.inspections.models import (
    ChecklistItem,
    HazardStatus,
)
from tests.factories import WorkshopFactory
from tests.inspections.helpers import (
    INJECTION,
    actions,
    all_compliant,
    concluded,
    started,
)

# --- overdue, lists, export -----------------------------------------------------------------


def test_overdue_is_not_closed_and_past_the_deadline(db, workshop, regulator):
    day = local_today() - timedelta(days=30)
    _, hazard = concluded(workshop, regulator, day)  # deadline: 15 days after the visit
    today = local_today()
    assert hazard.is_overdue(today) and hazard.overdue_days(today) == 15
    assert not hazard.is_overdue(hazard.deadline)
    assert listing.overdue_count(by=regulator) == 1
    hazard.status = HazardStatus.CLOSED
    assert not hazard.is_overdue(today) and hazard.overdue_days(today) == 0


def test_tracking_lists_overdue_hazards_first(db, regulator):
    today = local_today()
    _, later = concluded(WorkshopFactory(name="晚"), regulator)  # deadline in 15 days
    _, late = concluded(WorkshopFactory(name="逾期"), regulator, today - timedelta(days=20))
    _, latest = concluded(WorkshopFactory(name="更久逾期"), regulator, today - timedelta(days=40))
    page = listing.tracked_hazards(HazardFilter(), by=regulator)
    assert [h.id for h in page.items] == [latest.id, late.id, later.id]
    only = listing.tracked_hazards(HazardFilter(overdue="1"), by=regulator)
    assert [h.id for h in only.items] == [latest.id, late.id]
    assert listing.tracked_hazards(HazardFilter(status="closed"), by=regulator).total == 0
    assert listing.tracked_hazards(HazardFilter(status="bogus"), by=regulator).total == 0


def test_the_list_filters_and_counts(db, regulator):
    today = local_today()
    a = WorkshopFactory(name="甲作坊", township="半里乡")
    b = WorkshopFactory(name="乙作坊", township="枋洋镇")
    late, _ = concluded(a, regulator, today - timedelta(days=20))
    clean = started(b, regulator)
    checklist.record_items(clean.id, all_compliant(), by=regulator)

    def ids(**filters):
        return [
            r.inspection.id
            for r in listing.all_inspections(InspectionFilter(**filters), by=regulator)
        ]

    assert ids() == [clean.id, late.id]
    assert ids(township="枋洋镇") == [clean.id]
    assert ids(outcome="rectify") == [late.id]
    assert ids(outcome="in_progress") == [clean.id]
    assert ids(outcome="bogus") == []
    assert ids(overdue="1") == [late.id]
    assert ids(q="甲") == [late.id]
    assert ids(workshop=str(b.id)) == [clean.id]
    assert ids(workshop="x") == []
    assert ids(year="1999") == [] and ids(year="abcd") == []
    assert set(ids(year=str(today.year))) <= {clean.id, late.id}
    row = listing.all_inspections(InspectionFilter(overdue="1"), by=regulator)[0]
    assert row.inspector == "陈监管"
    assert row.non_compliant == [ChecklistItem.SANITATION]
    assert (row.hazards_total, row.hazards_open, row.hazards_overdue) == (1, 1, 1)
    page = listing.search_inspections(InspectionFilter(), by=regulator, page=99, per_page=1)
    assert page.page == 2 and page.pages == 2 and len(page.items) == 1


def test_the_export_neutralises_formulas_and_is_audited(db, workshop, regulator):
    inspection = started(workshop, regulator)
    checklist.record_items(inspection.id, all_compliant(), by=regulator)
    conduct.conclude(
        inspection.id, ConcludeInput(outcome="satisfactory", summary=INJECTION), by=regulator
    )
    data, filename = listing.export_inspections(InspectionFilter(), "csv", by=regulator)
    assert filename.startswith("inspections-") and filename.endswith(".csv")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["检查日期", "作坊名称", "登记证编号"]
    assert rows[1][1] == "四大桶红曲酒坊" and rows[1][5] == "符合"
    assert rows[1][-1] == "'" + INJECTION
    assert "inspections.exported" in actions(db)
