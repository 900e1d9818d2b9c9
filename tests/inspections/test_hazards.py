"""Listing hazards found in an inspection, and taking them back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend.core.time import local_today
from backend.inspections import checklist, hazards
from backend.inspections.hazards import HazardInput
from backend.inspections.models import (
    Hazard,
    HazardStatus,
)
from tests.inspections.helpers import (
    actions,
    all_compliant,
    bad,
    count,
    refused,
    started,
    with_hazard,
)

# --- hazards --------------------------------------------------------------------------------


def test_hazards_belong_to_non_compliant_items(db, workshop, regulator):
    inspection, hazard = with_hazard(workshop, regulator)
    assert hazard.status is HazardStatus.OPEN and hazard.workshop_id == workshop.id
    errors = refused(
        lambda: hazards.add_hazard(
            inspection.id,
            HazardInput(item="processing", description="x", deadline=local_today() + timedelta(1)),
            by=regulator,
        ),
        "item",
    )
    assert "不符合" in errors["item"][0]
    for item in (None, "bogus"):
        refused(
            lambda item=item: hazards.add_hazard(
                inspection.id,
                HazardInput(item=item, description="x", deadline=local_today() + timedelta(1)),
                by=regulator,
            ),
            "item",
        )
    assert count(db, Hazard) == 1


@pytest.mark.parametrize(
    ("offset", "message"),
    [
        (0, "晚于检查日期"),
        (-3, "晚于检查日期"),
        (hazards.MAX_DEADLINE_DAYS + 1, "最长"),
        (None, "必填"),
    ],
)
def test_the_deadline_is_after_the_inspection_and_within_range(
    db, workshop, regulator, offset, message
):
    inspection = started(workshop, regulator)
    checklist.record_items(inspection.id, all_compliant(sanitation=bad()), by=regulator)
    deadline = None if offset is None else inspection.inspected_on + timedelta(days=offset)
    errors = refused(
        lambda: hazards.add_hazard(
            inspection.id,
            HazardInput(item="sanitation", description="排水沟加盖", deadline=deadline),
            by=regulator,
        ),
        "deadline",
    )
    assert message in errors["deadline"][0]
    assert count(db, Hazard) == 0


def test_a_hazard_needs_a_description(db, workshop, regulator):
    inspection = started(workshop, regulator)
    checklist.record_items(inspection.id, all_compliant(sanitation=bad()), by=regulator)
    refused(
        lambda: hazards.add_hazard(
            inspection.id,
            HazardInput(item="sanitation", description=" ", deadline=local_today() + timedelta(9)),
            by=regulator,
        ),
        "description",
    )


def test_an_item_with_a_hazard_stays_non_compliant_until_the_hazard_is_removed(
    db, workshop, regulator
):
    inspection, hazard = with_hazard(workshop, regulator)
    errors = refused(
        lambda: checklist.record_items(inspection.id, all_compliant(), by=regulator),
        "result_sanitation",
    )
    assert "隐患" in errors["result_sanitation"][0]
    hazards.remove_hazard(hazard.id, by=regulator)
    assert count(db, Hazard) == 0 and "hazard.removed" in actions(db)
    checklist.record_items(inspection.id, all_compliant(), by=regulator)
