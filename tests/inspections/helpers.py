"""What the inspection service tests build on: photos, findings, an inspection started, with a
hazard, or concluded, and a check that a call is refused."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from backend.audit.models import AuditLog
from backend.core.errors import ValidationError
from backend.core.time import local_today
from backend.inspections import checklist, conduct, hazards
from backend.inspections.checklist import ItemInput
from backend.inspections.conduct import ConcludeInput, StartInput
from backend.inspections.hazards import HazardInput
from backend.inspections.models import (
    ChecklistItem,
    Hazard,
    Inspection,
)
from backend.inspections.photos import Upload

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
