"""The batch's story as a consumer reads it: product, workshop, batch, tests, verdict, last
inspection and cameras, read from the database and dumped by the answer's schema.

What this reads is what the freshness watch looks after (backend/scan/freshness.py): a
change to any of these rows drops the cached copies of the views that show it.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.batches.models import Batch, BatchInput
from backend.cameras.public import workshop_cameras
from backend.core.time import SHANGHAI
from backend.extensions import db
from backend.inspections.models import Inspection
from backend.registry.models import Product, Workshop, WorkshopStatus
from backend.registry.standing import made_after_expiry, registration_standing
from backend.samples.holds import batch_quality
from backend.samples.models import Sample, TestResult, Verdict
from backend.scan.schemas import dump_story


def iso(value: datetime | date | None) -> str | None:
    """ISO 8601; times with the Asia/Shanghai offset."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).isoformat()
    return value.isoformat()


def _num(value) -> str | None:
    """A decimal as text, without trailing zeros."""
    if value is None:
        return None
    text = format(value.normalize(), "f") if hasattr(value, "normalize") else str(value)
    return text


def build_view(batch_id: int) -> dict:
    """Read everything the consumer sees about a batch, dumped by the answer's schema."""
    batch = db.session.scalar(
        select(Batch)
        .where(Batch.id == batch_id)
        .options(
            selectinload(Batch.inputs).selectinload(BatchInput.raw_lot),
            selectinload(Batch.additive_uses),
            selectinload(Batch.product).selectinload(Product.brand),
            selectinload(Batch.product).selectinload(Product.category),
            selectinload(Batch.workshop).selectinload(Workshop.zone),
            selectinload(Batch.workshop).selectinload(Workshop.brand),
        )
    )
    view = {
        "product": _product(batch.product),
        "workshop": _workshop(batch.workshop),
        "batch": _batch(batch),
        "tests": _tests(batch.id),
        "verdict": _verdict(batch),
        "inspection": _last_inspection(batch.workshop_id),
        "cameras": _cameras(batch.workshop_id),
    }
    return dump_story(view)


def _product(product: Product) -> dict:
    """The product, its category and brand."""
    return {
        "name": product.name,
        "name_en": product.name_en,
        "category": {
            "code": product.category.code,
            "name_zh": product.category.name_zh,
            "name_en": product.category.name_en,
        },
        "specification": product.specification,
        "ingredients": product.ingredients,
        "storage": product.storage,
        "standard_executed": product.standard_executed,
        "shelf_life_days": product.shelf_life_days,
        "labelled_alcohol": product.labelled_alcohol,
        "gtin": product.gtin,
        "brand": _brand(product.brand),
    }


def _workshop(workshop: Workshop) -> dict:
    """The workshop, its zone, brand, certificate and registration standing (as of today:
    the view lives until midnight)."""
    return {
        "name": workshop.name,
        "registration_no": workshop.registration_no,
        "operator_name": workshop.operator_name,
        "address": workshop.address,
        "contact_phone": workshop.contact_phone,
        "township": workshop.township,
        "status": str(workshop.status),
        "zone": {
            "code": workshop.zone.code,
            "name_zh": workshop.zone.name_zh,
            "name_en": workshop.zone.name_en,
        }
        if workshop.zone
        else None,
        "brand": _brand(workshop.brand),
        "upgraded": workshop.status is WorkshopStatus.UPGRADED,
        "licence_no": workshop.licence_no,
        "trademark": workshop.trademark,
        "certificate": {
            "issuing_authority": workshop.issuing_authority,
            "issued_on": iso(workshop.cert_issued_on),
            "valid_until": iso(workshop.cert_valid_until),
            "long_term": workshop.cert_long_term,
        },
        "registration": registration_standing(workshop).as_dict(),
    }


def _batch(batch: Batch) -> dict:
    """The batch: its state, dates, raw materials and additives."""
    return {
        "batch_no": batch.batch_no,
        "state": str(batch.state),
        "produced_on": iso(batch.produced_on),
        "expires_on": iso(batch.expires_on),
        "quantity": _num(batch.planned_quantity),
        "unit": batch.unit,
        "process": batch.process_notes,
        "hold_reason": batch.hold_reason,
        "made_after_expiry": made_after_expiry(batch.workshop, batch.produced_on),
        "raw_materials": [_raw_material(i) for i in batch.inputs],
        "additives": [
            {
                "name": a.additive_name,
                "purpose": a.purpose,
                "amount": _num(a.amount),
                "unit": a.unit,
            }
            for a in batch.additive_uses
        ],
    }


def _brand(brand) -> dict | None:
    """A brand's code and names."""
    if brand is None:
        return None
    return {"code": brand.code, "name_zh": brand.name_zh, "name_en": brand.name_en}


def _raw_material(batch_input: BatchInput) -> dict:
    """A raw material lot the batch used, its supplier and acceptance."""
    lot = batch_input.raw_lot
    return {
        "material": lot.material_name,
        "lot_no": lot.lot_no,
        "supplier": {"name": lot.supplier.name, "licence_no": lot.supplier.licence_no},
        "quantity_used": _num(batch_input.quantity),
        "unit": batch_input.unit,
        "purchased_on": iso(lot.purchased_on),
        "produced_on": iso(lot.produced_on),
        "expires_on": iso(lot.expires_on),
        "acceptance": {
            "result": str(lot.result),
            "licence_checked": lot.supplier_licence_checked,
            "certificate_checked": lot.certificate_checked,
        },
    }


def _tests(batch_id: int) -> list[dict]:
    """Decided results of the batch's samples, newest first, superseded ones left out."""
    results = db.session.scalars(
        select(TestResult)
        .join(Sample, TestResult.sample_id == Sample.id)
        .where(Sample.batch_id == batch_id, TestResult.verdict != Verdict.PENDING)
        .options(selectinload(TestResult.sample), selectinload(TestResult.standard_limit))
        .order_by(TestResult.tested_at.desc(), TestResult.id)
    ).all()
    superseded = {r.supersedes_id for r in results if r.supersedes_id}
    out = []
    for result in results:
        if result.id in superseded:
            continue
        limit = result.standard_limit
        out.append(
            {
                "item_code": result.item_code,
                "item": limit.item_name_zh if limit else result.item_code,
                "item_en": limit.item_name_en if limit else result.item_code,
                "kind": str(result.sample.kind),
                "method": result.method,
                "value": _num(result.value),
                "qualitative": str(result.qualitative) if result.qualitative else None,
                "unit": result.unit,
                "limit": {
                    "comparison": str(limit.comparison),
                    "value": _num(limit.limit_value),
                    "unit": limit.unit,
                    "standard": limit.standard,
                    "verified": limit.verified,
                }
                if limit
                else None,
                "verdict": str(result.verdict),
                "tested_at": iso(result.tested_at),
                "agency": result.sample.testing_agency,
                "sample_no": result.sample.sample_no,
            }
        )
    return out


def _verdict(batch: Batch) -> dict:
    """The batch's public test verdict for the status panel: "fail" on a standing lab fail,
    "pending" while a positive rapid screen awaits the lab (or when nothing was tested),
    "pass" when every standing result passes; with the day of the deciding result.

    Only results judged against a verified limit decide: a result whose limit nobody has
    checked against the official text is no public verdict: its passes count for nothing,
    and a fail against it keeps the batch "pending".
    """
    quality = batch_quality(batch)
    live = [
        r
        for r in quality.results
        if r.id not in quality.superseded_ids and r.verdict is not Verdict.PENDING
    ]

    def verified(result: TestResult) -> bool:
        return result.standard_limit is not None and result.standard_limit.verified

    def day(results: list[TestResult]) -> str | None:
        return iso(max(r.tested_at for r in results).astimezone(SHANGHAI).date())

    fails = [r for r in quality.lab_fails if verified(r)]
    if fails:
        return {"result": "fail", "date": day(fails)}
    if quality.open_screens:
        return {"result": "pending", "date": day(quality.open_screens)}
    answered = {s.id for s in quality.results if s.verdict is Verdict.POSITIVE_SCREEN}
    deciding = [r for r in live if r.id not in answered]
    doubtful = [r for r in deciding if r.verdict is not Verdict.PASS]
    if doubtful:  # a fail against a limit nobody has checked: no public verdict either way
        return {"result": "pending", "date": day(doubtful)}
    passes = [r for r in deciding if verified(r)]
    if not passes:
        return {"result": "pending", "date": None}
    return {"result": "pass", "date": day(passes)}


def _last_inspection(workshop_id: int) -> dict | None:
    """The workshop's last concluded inspection."""
    inspection = db.session.scalar(
        select(Inspection)
        .where(Inspection.workshop_id == workshop_id, Inspection.outcome.is_not(None))
        .order_by(Inspection.inspected_on.desc(), Inspection.id.desc())
        .limit(1)
    )
    if inspection is None:
        return None
    return {
        "date": iso(inspection.inspected_on),
        "outcome": str(inspection.outcome),
        "summary": inspection.summary,
    }


def _cameras(workshop_id: int) -> list[dict]:
    """The workshop's cameras: live ones with a signed playback link, the others with their
    hours (the view is cached for SCAN_VIEW_TTL and dropped when a camera goes live or dark;
    links outlive the cache, see PLAYBACK_LINK_TTL)."""
    return workshop_cameras(workshop_id)
