"""Who may act on inspections: regulators change, inspectors read, others nothing."""

from __future__ import annotations

import pytest

from backend.core.errors import Forbidden
from backend.core.time import local_today
from backend.inspections import checklist, conduct, hazards, listing, lookup, rectifications
from backend.inspections.conduct import ConcludeInput, StartInput
from backend.inspections.hazards import HazardInput
from backend.inspections.listing import InspectionFilter
from backend.inspections.rectifications import RectificationInput, ReviewInput
from tests.factories import WorkshopFactory
from tests.inspections.helpers import (
    actions,
    all_compliant,
    concluded,
)

# --- who may act ----------------------------------------------------------------------------


def test_inspectors_may_read_but_change_nothing(db, workshop, regulator, inspector):
    inspection, hazard = concluded(workshop, regulator)
    rectification = rectifications.submit_rectification(
        hazard.id, RectificationInput(description="ok"), by=regulator
    )
    assert lookup.get_inspection(inspection.id, by=inspector) == inspection
    assert listing.search_inspections(InspectionFilter(), by=inspector).total == 1
    before = actions(db)
    for call in (
        lambda: conduct.start_inspection(
            StartInput(workshop_id=WorkshopFactory().id, inspected_on=local_today()), by=inspector
        ),
        lambda: checklist.record_items(inspection.id, all_compliant(), by=inspector),
        lambda: hazards.add_hazard(inspection.id, HazardInput(), by=inspector),
        lambda: hazards.remove_hazard(hazard.id, by=inspector),
        lambda: conduct.conclude(inspection.id, ConcludeInput(), by=inspector),
        lambda: rectifications.submit_rectification(hazard.id, RectificationInput(), by=inspector),
        lambda: rectifications.review_rectification(rectification.id, ReviewInput(), by=inspector),
        lambda: rectifications.close_hazard(hazard.id, by=inspector),
    ):
        with pytest.raises(Forbidden):
            call()
    assert actions(db) == before


def test_operators_may_not_even_read(db, workshop):
    from tests.factories import UserFactory

    with pytest.raises(Forbidden):
        listing.search_inspections(InspectionFilter(), by=UserFactory())
