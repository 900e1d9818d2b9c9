"""Recording the checklist: results, notes and photos."""

from __future__ import annotations

import pytest

from backend.core.errors import NotFound
from backend.files.models import StoredFile
from backend.inspections import checklist, photos
from backend.inspections.checklist import ItemInput
from backend.inspections.models import (
    ChecklistItem,
    InspectionItem,
    ItemResult,
)
from tests.inspections.helpers import (
    PDF,
    actions,
    all_compliant,
    bad,
    count,
    files_in,
    png,
    refused,
    started,
    upload,
)

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
