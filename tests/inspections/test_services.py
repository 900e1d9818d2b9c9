"""The inspection service's rules: starting, the checklist with photos, hazards, the
conclusion, rectification, review, closing, overdue hazards, lists, exports, who may act."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from backend.audit.models import AuditLog
from backend.core.cache import cache
from backend.core.errors import Conflict, Forbidden, NotFound, ValidationError
from backend.core.time import local_today
from backend.files.models import StoredFile
from backend.inspections import checklist, conduct, hazards, listing, lookup, photos, rectifications
from backend.inspections.checklist import ItemInput
from backend.inspections.conduct import ConcludeInput, StartInput
from backend.inspections.hazards import HazardInput
from backend.inspections.listing import HazardFilter, InspectionFilter
from backend.inspections.models import (
    ChecklistItem,
    Hazard,
    HazardStatus,
    Inspection,
    InspectionItem,
    InspectionOutcome,
    ItemResult,
    Rectification,
)
from backend.inspections.photos import Upload
from backend.inspections.rectifications import RectificationInput, ReviewInput
from backend.registry.models import WorkshopStatus
from backend.scan.caching import batch_key
from tests.factories import BatchFactory, InspectorFactory, RegulatorFactory, WorkshopFactory

INJECTION = "=cmd|' /C calc'!A0"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def png(size=(24, 16), colour=(30, 120, 60)) -> bytes:
    """A real, small PNG image."""
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def upload(data: bytes, name: str = "photo.png") -> Upload:
    return Upload(io.BytesIO(data), name)


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def files_in(path) -> list:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []


def actions(db) -> list[str]:
    return list(db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)))


@pytest.fixture()
def uploads(app, tmp_path, monkeypatch):
    """A private UPLOAD_DIR for the test."""
    path = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(path))
    return path


@pytest.fixture()
def regulator(db):
    return RegulatorFactory(display_name="陈监管")


@pytest.fixture()
def inspector(db):
    return InspectorFactory(display_name="王检验")


@pytest.fixture()
def workshop(db):
    return WorkshopFactory(name="四大桶红曲酒坊", township="半里乡")


def all_compliant(**overrides) -> dict:
    """Findings for the seven items, compliant unless overridden (item value → ItemInput)."""
    findings = {item: ItemInput(result="compliant") for item in ChecklistItem}
    for name, value in overrides.items():
        findings[ChecklistItem(name)] = value
    return findings


def bad(note="加工间地面有积水，排水沟未加盖", photo=None) -> ItemInput:
    return ItemInput(result="non_compliant", note=note, photo=photo)


def started(workshop, regulator, day: date | None = None) -> Inspection:
    return conduct.start_inspection(
        StartInput(workshop_id=workshop.id, inspected_on=day or local_today()), by=regulator
    )


def with_hazard(workshop, regulator, day: date | None = None) -> tuple[Inspection, Hazard]:
    """An inspection in progress with a non-compliant sanitation item and its hazard."""
    inspection = started(workshop, regulator, day)
    checklist.record_items(inspection.id, all_compliant(sanitation=bad()), by=regulator)
    hazard = hazards.add_hazard(
        inspection.id,
        HazardInput(
            item="sanitation",
            description="排水沟加盖，地面保持干燥",
            deadline=inspection.inspected_on + timedelta(days=15),
        ),
        by=regulator,
    )
    return inspection, hazard


def concluded(workshop, regulator, day: date | None = None) -> tuple[Inspection, Hazard]:
    """A concluded inspection (rectify) with one hazard to follow up."""
    inspection, hazard = with_hazard(workshop, regulator, day)
    conduct.conclude(
        inspection.id, ConcludeInput(outcome="rectify", summary="限期整改"), by=regulator
    )
    return inspection, hazard


def refused(call, *fields) -> dict:
    """Run *call*; it must raise a ValidationError naming *fields*; returns the errors."""
    with pytest.raises(ValidationError) as caught:
        call()
    for name in fields:
        assert name in caught.value.errors, caught.value.errors
    return caught.value.errors


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


# --- the checklist --------------------------------------------------------------------------


def test_the_seven_items_are_recorded_with_a_photo(db, workshop, regulator, uploads):
    inspection = started(workshop, regulator)
    findings = all_compliant(
        sanitation=bad(photo=upload(png(), "积水.png")),
        additives=ItemInput(result="not_applicable", note="不使用添加剂"),
    )
    checklist.record_items(inspection.id, findings, by=regulator)
    rows = {row.item: row for row in inspection.items}
    assert len(rows) == 7
    assert rows[ChecklistItem.SANITATION].result is ItemResult.NON_COMPLIANT
    assert rows[ChecklistItem.ADDITIVES].result is ItemResult.NOT_APPLICABLE
    photo = db.session.get(StoredFile, rows[ChecklistItem.SANITATION].photo_file_id)
    assert photo.content_type == "image/png" and photo.filename == "积水.png"
    assert (uploads / photo.storage_key).read_bytes() == png()
    assert "inspection.items_recorded" in actions(db)
    assert photos.get_photo(photo.id, by=regulator) == photo


def test_recording_again_keeps_the_photo_unless_a_new_one_comes(db, workshop, regulator, uploads):
    inspection = started(workshop, regulator)
    checklist.record_items(
        inspection.id, all_compliant(processing=bad(photo=upload(png()))), by=regulator
    )
    first = inspection.items[2].photo_file_id
    checklist.record_items(inspection.id, all_compliant(processing=bad("改了说明")), by=regulator)
    row = next(r for r in inspection.items if r.item is ChecklistItem.PROCESSING)
    assert row.photo_file_id == first and row.note == "改了说明"
    assert count(db, InspectionItem) == 7


@pytest.mark.parametrize(
    ("finding", "field", "message"),
    [
        (ItemInput(result=None), "result_sanitation", "请选择"),
        (ItemInput(result="maybe"), "result_sanitation", "未知"),
        (ItemInput(result="non_compliant", note="  "), "note_sanitation", "写明"),
        (ItemInput(result="compliant", note="x" * 1001), "note_sanitation", "1000"),
        (ItemInput(result="compliant", note="bell\x07"), "note_sanitation", "控制字符"),
    ],
)
def test_each_item_needs_a_result_and_a_failing_one_a_note(
    db, workshop, regulator, uploads, finding, field, message
):
    inspection = started(workshop, regulator)
    errors = refused(
        lambda: checklist.record_items(
            inspection.id, all_compliant(sanitation=finding), by=regulator
        ),
        field,
    )
    assert message in errors[field][0]
    assert count(db, InspectionItem) == 0


def test_a_missing_item_is_refused(db, workshop, regulator):
    inspection = started(workshop, regulator)
    findings = all_compliant()
    del findings[ChecklistItem.AREA_SEPARATION]
    refused(
        lambda: checklist.record_items(inspection.id, findings, by=regulator),
        "result_area_separation",
    )


def test_multiline_notes_are_kept(db, workshop, regulator):
    inspection = started(workshop, regulator)
    checklist.record_items(
        inspection.id, all_compliant(sanitation=bad("第一行\r\n第二行\t说明")), by=regulator
    )
    row = next(r for r in inspection.items if r.item is ChecklistItem.SANITATION)
    assert row.note == "第一行\n第二行\t说明"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (PDF, "JPEG、PNG 或 WebP"),
        (b"MZ\x90\x00" + b"\x00" * 100, "JPEG、PNG 或 WebP"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "损坏"),
        (b"", "空的"),
    ],
)
def test_photos_must_be_real_images(db, workshop, regulator, uploads, data, message):
    inspection = started(workshop, regulator)
    findings = all_compliant(
        sanitation=bad(photo=upload(png(), "ok.png")),
        processing=ItemInput(result="compliant", photo=upload(data, "x.png")),
    )
    errors = refused(
        lambda: checklist.record_items(inspection.id, findings, by=regulator), "photo_processing"
    )
    assert message in errors["photo_processing"][0]
    db.session.rollback()
    # The good photo stored before the bad one was refused is gone again: nothing half-saved.
    assert count(db, StoredFile) == 0 and count(db, InspectionItem) == 0
    assert files_in(uploads / "uploads") == []


def test_an_oversized_photo_is_refused_next_to_its_field(
    db, app, workshop, regulator, uploads, monkeypatch
):
    data = png((200, 200))
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", len(data) - 1)
    inspection = started(workshop, regulator)
    errors = refused(
        lambda: checklist.record_items(
            inspection.id, all_compliant(sanitation=bad(photo=upload(data))), by=regulator
        ),
        "photo_sanitation",
    )
    assert "文件过大" in errors["photo_sanitation"][0]
    db.session.rollback()
    assert count(db, StoredFile) == 0 and files_in(uploads / "uploads") == []


def test_a_field_error_elsewhere_leaves_no_photo_behind(db, workshop, regulator, uploads):
    inspection = started(workshop, regulator)
    findings = all_compliant(sanitation=bad(photo=upload(png())), processing=ItemInput(result=None))
    refused(
        lambda: checklist.record_items(inspection.id, findings, by=regulator), "result_processing"
    )
    db.session.rollback()
    assert count(db, StoredFile) == 0 and files_in(uploads / "uploads") == []


def test_only_checklist_and_rectification_photos_are_served(db, regulator, inspector):
    from tests.factories import StoredFileFactory

    other = StoredFileFactory(content_type="image/png")
    with pytest.raises(NotFound):
        photos.get_photo(other.id, by=regulator)
    with pytest.raises(NotFound):
        photos.get_photo(999999, by=inspector)


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


# --- rectification, review, closing ---------------------------------------------------------


def test_the_whole_follow_up(db, workshop, regulator, uploads):
    inspection, hazard = concluded(workshop, regulator)
    first = rectifications.submit_rectification(
        hazard.id,
        RectificationInput(description="已加盖排水沟", photo=upload(png(), "after.png")),
        by=regulator,
    )
    assert hazard.status is HazardStatus.RECTIFYING
    assert first.submitted_by_id == regulator.id and first.photo_file_id is not None
    assert photos.get_photo(first.photo_file_id, by=regulator).content_type == "image/png"
    rectifications.review_rectification(
        first.id, ReviewInput(decision="reject", note="地面仍有积水"), by=regulator
    )
    assert first.accepted is False and hazard.status is HazardStatus.OPEN
    second = rectifications.submit_rectification(
        hazard.id, RectificationInput(description="增设地漏，地面已干燥"), by=regulator
    )
    with pytest.raises(ValidationError):
        rectifications.close_hazard(hazard.id, by=regulator)
    rectifications.review_rectification(second.id, ReviewInput(decision="accept"), by=regulator)
    assert second.accepted is True and second.reviewed_by_id == regulator.id
    assert hazard.status is HazardStatus.RECTIFYING
    rectifications.close_hazard(hazard.id, by=regulator)
    assert hazard.status is HazardStatus.CLOSED and hazard.closed_by_id == regulator.id
    assert hazard.closed_at is not None
    assert actions(db)[-5:] == [
        "rectification.submitted",
        "rectification.reviewed",
        "rectification.submitted",
        "rectification.reviewed",
        "hazard.closed",
    ]
    with pytest.raises(Conflict):
        rectifications.submit_rectification(
            hazard.id, RectificationInput(description="再交"), by=regulator
        )


def test_no_rectification_before_the_conclusion(db, workshop, regulator):
    _, hazard = with_hazard(workshop, regulator)
    with pytest.raises(Conflict):
        rectifications.submit_rectification(
            hazard.id, RectificationInput(description="x"), by=regulator
        )


def test_one_rectification_awaits_review_at_a_time(db, workshop, regulator):
    _, hazard = concluded(workshop, regulator)
    first = rectifications.submit_rectification(
        hazard.id, RectificationInput(description="a"), by=regulator
    )
    with pytest.raises(Conflict):
        rectifications.submit_rectification(
            hazard.id, RectificationInput(description="b"), by=regulator
        )
    rectifications.review_rectification(first.id, ReviewInput(decision="accept"), by=regulator)
    with pytest.raises(Conflict):
        rectifications.review_rectification(
            first.id, ReviewInput(decision="reject", note="x"), by=regulator
        )
    with pytest.raises(Conflict):  # accepted: the next step is closing
        rectifications.submit_rectification(
            hazard.id, RectificationInput(description="c"), by=regulator
        )


def test_a_rectification_needs_a_description_and_only_an_image(db, workshop, regulator, uploads):
    _, hazard = concluded(workshop, regulator)
    refused(
        lambda: rectifications.submit_rectification(
            hazard.id, RectificationInput(description=""), by=regulator
        ),
        "description",
    )
    errors = refused(
        lambda: rectifications.submit_rectification(
            hazard.id,
            RectificationInput(description="ok", photo=upload(PDF, "r.pdf")),
            by=regulator,
        ),
        "photo",
    )
    assert "JPEG、PNG 或 WebP" in errors["photo"][0]
    assert hazard.status is HazardStatus.OPEN
    assert count(db, Rectification) == 0 and count(db, StoredFile) == 0
    assert files_in(uploads / "uploads") == []


def test_a_review_needs_a_decision_and_a_sent_back_one_a_reason(db, workshop, regulator):
    _, hazard = concluded(workshop, regulator)
    r = rectifications.submit_rectification(
        hazard.id, RectificationInput(description="ok"), by=regulator
    )
    refused(
        lambda: rectifications.review_rectification(r.id, ReviewInput(), by=regulator), "decision"
    )
    errors = refused(
        lambda: rectifications.review_rectification(
            r.id, ReviewInput(decision="reject"), by=regulator
        ),
        "note",
    )
    assert "原因" in errors["note"][0]
    assert r.accepted is None and hazard.status is HazardStatus.RECTIFYING


def test_unknown_ids_are_not_found(db, regulator):
    with pytest.raises(NotFound):
        lookup.get_inspection(999999, by=regulator)
    with pytest.raises(NotFound):
        rectifications.submit_rectification(
            999999, RectificationInput(description="x"), by=regulator
        )
    with pytest.raises(NotFound):
        rectifications.review_rectification(999999, ReviewInput(decision="accept"), by=regulator)
    with pytest.raises(NotFound):
        rectifications.close_hazard(999999, by=regulator)


def test_a_seeded_rectifying_hazard_without_a_rectification_can_be_followed_up(
    db, workshop, regulator
):
    _, hazard = concluded(workshop, regulator)
    hazard.status = HazardStatus.RECTIFYING  # as the demo seed writes some
    db.session.flush()
    assert hazard.next_steps() == {"rectify": True, "review": False, "close": False}
    rectifications.submit_rectification(
        hazard.id, RectificationInput(description="ok"), by=regulator
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
