"""Starting an inspection and concluding it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.audit.models import AuditLog
from backend.core.cache import cache
from backend.core.errors import Conflict
from backend.core.time import local_today
from backend.inspections import checklist, conduct, hazards
from backend.inspections.conduct import ConcludeInput, StartInput
from backend.inspections.hazards import HazardInput
from backend.inspections.models import (
    Inspection,
    InspectionOutcome,
)
from backend.registry.models import WorkshopStatus
from backend.scan.caching import batch_key
from tests.factories import BatchFactory, WorkshopFactory
from tests.inspections.helpers import (
    actions,
    all_compliant,
    bad,
    concluded,
    count,
    refused,
    started,
    with_hazard,
)

# --- starting -------------------------------------------------------------------------------


def test_a_regulator_starts_an_inspection(db, workshop, regulator):
    inspection = started(workshop, regulator)
    assert inspection.inspector_id == regulator.id
    assert inspection.outcome is None and inspection.inspected_on == local_today()
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "inspection.started"))
    assert entry.actor_id == regulator.id and entry.object_id == str(inspection.id)


@pytest.mark.parametrize(
    ("day", "message"),
    [
        (lambda t: t + timedelta(days=1), "不能晚于今天"),
        (lambda t: t - timedelta(days=conduct.MAX_BACKDATE_DAYS + 1), "不能早于"),
        (lambda t: None, "必填"),
    ],
)
def test_the_date_is_not_in_the_future_nor_absurdly_old(db, workshop, regulator, day, message):
    errors = refused(
        lambda: conduct.start_inspection(
            StartInput(workshop_id=workshop.id, inspected_on=day(local_today())), by=regulator
        ),
        "inspected_on",
    )
    assert message in errors["inspected_on"][0]
    assert count(db, Inspection) == 0


def test_the_oldest_allowed_date_is_accepted(db, workshop, regulator):
    day = local_today() - timedelta(days=conduct.MAX_BACKDATE_DAYS)
    assert started(workshop, regulator, day).inspected_on == day


def test_a_cancelled_or_unknown_workshop_is_not_inspected(db, regulator):
    cancelled = WorkshopFactory(status=WorkshopStatus.CANCELLED)
    errors = refused(
        lambda: conduct.start_inspection(
            StartInput(workshop_id=cancelled.id, inspected_on=local_today()), by=regulator
        ),
        "workshop_id",
    )
    assert "已注销" in errors["workshop_id"][0]
    for wid in (None, -1, 999999):
        refused(
            lambda wid=wid: conduct.start_inspection(
                StartInput(workshop_id=wid, inspected_on=local_today()), by=regulator
            ),
            "workshop_id",
        )
    assert count(db, Inspection) == 0


def test_one_inspection_in_progress_per_workshop(db, workshop, regulator):
    first = started(workshop, regulator)
    errors = refused(lambda: started(workshop, regulator), "workshop_id")
    assert first.inspected_on.isoformat() in errors["workshop_id"][0]
    assert count(db, Inspection) == 1


# --- the conclusion -------------------------------------------------------------------------


def test_every_item_is_recorded_before_the_conclusion(db, workshop, regulator):
    inspection = started(workshop, regulator)
    errors = refused(
        lambda: conduct.conclude(
            inspection.id, ConcludeInput(outcome="satisfactory"), by=regulator
        ),
        "outcome",
    )
    assert "全部 7 个项目" in errors["outcome"][0]


def test_a_clean_inspection_is_satisfactory(db, workshop, regulator):
    inspection = started(workshop, regulator)
    checklist.record_items(inspection.id, all_compliant(), by=regulator)
    conduct.conclude(inspection.id, ConcludeInput(outcome="satisfactory"), by=regulator)
    assert inspection.outcome is InspectionOutcome.SATISFACTORY
    assert inspection.summary == "现场检查未发现问题。"
    assert workshop.layout_separated is True and workshop.layout_checked_on == local_today()
    assert "inspection.concluded" in actions(db)


def test_satisfactory_is_impossible_with_a_hazard(db, workshop, regulator):
    inspection, _ = with_hazard(workshop, regulator)
    errors = refused(
        lambda: conduct.conclude(
            inspection.id, ConcludeInput(outcome="satisfactory"), by=regulator
        ),
        "outcome",
    )
    assert "不能为“符合”" in errors["outcome"][0]
    assert inspection.outcome is None


def test_satisfactory_is_impossible_with_a_non_compliant_item(db, workshop, regulator):
    inspection = started(workshop, regulator)
    checklist.record_items(inspection.id, all_compliant(additives=bad("未专柜存放")), by=regulator)
    errors = refused(
        lambda: conduct.conclude(
            inspection.id, ConcludeInput(outcome="satisfactory"), by=regulator
        ),
        "outcome",
    )
    assert "食品添加剂使用" in errors["outcome"][0]


def test_rectify_needs_a_hazard_for_every_non_compliant_item(db, workshop, regulator):
    inspection = started(workshop, regulator)
    checklist.record_items(
        inspection.id,
        all_compliant(sanitation=bad(), packaging_labeling=bad("标签无登记证编号")),
        by=regulator,
    )
    errors = refused(
        lambda: conduct.conclude(
            inspection.id, ConcludeInput(outcome="rectify", summary="限期整改"), by=regulator
        ),
        "outcome",
    )
    assert "至少登记一项隐患" in errors["outcome"][0]
    hazards.add_hazard(
        inspection.id,
        HazardInput(item="sanitation", description="加盖", deadline=local_today() + timedelta(7)),
        by=regulator,
    )
    errors = refused(
        lambda: conduct.conclude(
            inspection.id, ConcludeInput(outcome="rectify", summary="限期整改"), by=regulator
        ),
        "outcome",
    )
    assert "包装与标签标识" in errors["outcome"][0]


def test_unsatisfactory_needs_a_non_compliant_item_and_a_summary(db, workshop, regulator):
    inspection = started(workshop, regulator)
    checklist.record_items(inspection.id, all_compliant(), by=regulator)
    errors = refused(
        lambda: conduct.conclude(
            inspection.id, ConcludeInput(outcome="unsatisfactory"), by=regulator
        ),
        "outcome",
        "summary",
    )
    assert "没有不符合的项目" in errors["outcome"][0]


@pytest.mark.parametrize("outcome", [None, "", "great"])
def test_the_outcome_is_one_of_three(db, workshop, regulator, outcome):
    inspection = started(workshop, regulator)
    checklist.record_items(inspection.id, all_compliant(), by=regulator)
    refused(
        lambda: conduct.conclude(inspection.id, ConcludeInput(outcome=outcome), by=regulator),
        "outcome",
    )


def test_a_concluded_inspection_is_read_only_evidence(db, workshop, regulator):
    inspection, hazard = concluded(workshop, regulator)
    assert inspection.outcome is InspectionOutcome.RECTIFY
    assert workshop.layout_separated is True
    before = actions(db)
    for call in (
        lambda: checklist.record_items(
            inspection.id, all_compliant(sanitation=bad()), by=regulator
        ),
        lambda: hazards.add_hazard(
            inspection.id,
            HazardInput(
                item="sanitation", description="再加", deadline=local_today() + timedelta(5)
            ),
            by=regulator,
        ),
        lambda: hazards.remove_hazard(hazard.id, by=regulator),
        lambda: conduct.conclude(inspection.id, ConcludeInput(outcome="rectify"), by=regulator),
    ):
        with pytest.raises(Conflict):
            call()
    assert actions(db) == before


def test_concluding_forgets_the_workshops_cached_scan_views(db, app, workshop, regulator):
    batch = BatchFactory(product__workshop=workshop, workshop=workshop)
    cache().set(batch_key(batch.id), "{}", 60)
    inspection = started(workshop, regulator)
    checklist.record_items(inspection.id, all_compliant(), by=regulator)
    conduct.conclude(inspection.id, ConcludeInput(outcome="satisfactory"), by=regulator)
    assert cache().get(batch_key(batch.id)) is None


def test_a_non_compliant_separation_is_noted_on_the_workshop(db, workshop, regulator):
    inspection = started(workshop, regulator)
    checklist.record_items(
        inspection.id, all_compliant(area_separation=bad("成品区与生活区未隔离")), by=regulator
    )
    hazards.add_hazard(
        inspection.id,
        HazardInput(
            item="area_separation", description="隔离", deadline=local_today() + timedelta(30)
        ),
        by=regulator,
    )
    conduct.conclude(
        inspection.id, ConcludeInput(outcome="unsatisfactory", summary="不符合"), by=regulator
    )
    assert workshop.layout_separated is False
