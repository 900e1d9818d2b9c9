"""EPCIS 2.0 export (JSON-LD) of one batch's story.

The document holds, in time order:

- an ObjectEvent ``receiving`` for each raw lot that went into the batch (from the supplier
  to the workshop);
- a TransformationEvent from those lots to the batch (bizStep ``commissioning``, the lot's
  number and expiry in ``ilmd``), its test results and the workshop's inspections as
  ``certificationInfo``;
- an ObjectEvent ``commissioning`` (action ADD) for each run of unit codes;
- an ObjectEvent ``inspecting`` for each sample of the batch, ``conformant`` or not, with the
  sample as ``certificationInfo``;
- an ObjectEvent ``shipping`` for each shipment of the batch (to the buyer, the sales
  document as a ``desadv`` business transaction);
- an ObjectEvent with disposition ``recalled`` when the batch was recalled.

Identifiers are GS1 Digital Link URIs on our public host when the product has a GTIN
(``/01/<gtin>/10/<batch>`` for the lot, ``/01/<gtin>/10/<batch>/21/<code>`` for a unit)
and our own URIs otherwise (``/t/<code>``, ``/id/lot/<id>``…). Every document validates
against GS1's EPCIS 2.0 JSON Schema (``schemas/``, see tests/trace/test_epcis.py).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import select

from backend.batches.models import AdditiveUse, Batch, BatchInput, BatchState, BatchStateChange
from backend.codes.models import CodeIssuance, UnitCode
from backend.codes.urls import public_url
from backend.core.time import SHANGHAI, utcnow
from backend.extensions import db
from backend.inspections.models import Inspection
from backend.ledgers.models import RawMaterialLot, Shipment, ShipmentItem
from backend.samples.models import Sample, Verdict

SCHEMA_DIR = Path(__file__).parent / "schemas"
EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
EVENT_NAMESPACE = uuid.UUID("6f1b0c7e-8a51-4b8e-9a7e-2f0c1d3e5a77")
MEDIA_TYPE = "application/ld+json"

# Our units as UN/ECE Recommendation 20 codes (EPCIS `uom`); counted units use H87 (piece).
UOM = {
    "kg": ("KGM", 1),
    "公斤": ("KGM", 1),
    "千克": ("KGM", 1),
    "斤": ("KGM", Decimal("0.5")),
    "g": ("GRM", 1),
    "克": ("GRM", 1),
    "t": ("TNE", 1),
    "吨": ("TNE", 1),
    "l": ("LTR", 1),
    "升": ("LTR", 1),
    "ml": ("MLT", 1),
    "毫升": ("MLT", 1),
}
PIECES = {"件", "个", "盒", "瓶", "袋", "箱", "包", "坛", "罐", "块", "板", "桶", "pcs"}


def _uri(path: str) -> str:
    """An absolute URI on the public host."""
    return public_url(path)


def batch_class(batch: Batch) -> str:
    """The batch (a lot of the product) as an EPC class URI."""
    gtin = batch.product.gtin
    if gtin:
        return _uri(f"/01/{gtin}/10/{quote(batch.batch_no, safe='')}")
    return _uri(f"/id/batch/{quote(batch.batch_no, safe='')}")


def unit_uri(batch: Batch, code: str) -> str:
    """One unit code as an EPC instance URI (the link printed on the label)."""
    gtin = batch.product.gtin
    if gtin:
        return _uri(f"/01/{gtin}/10/{quote(batch.batch_no, safe='')}/21/{code}")
    return _uri(f"/t/{code}")


def lot_class(lot: RawMaterialLot) -> str:
    """A raw lot as an EPC class URI of ours (raw materials carry no GTIN here)."""
    return _uri(f"/id/lot/{lot.id}")


def workshop_uri(workshop) -> str:
    """A workshop as a location / party URI."""
    return _uri(f"/id/workshop/{quote(workshop.registration_no, safe='')}")


def _event_id(*parts) -> str:
    """A stable event id: a name-based UUID of what the event is about."""
    return "urn:uuid:" + str(uuid.uuid5(EVENT_NAMESPACE, "/".join(str(p) for p in parts)))


def _time(value: datetime | date | None) -> datetime:
    """An aware datetime: a date is read as the start of that day in Beijing time."""
    if value is None:
        return datetime(1970, 1, 1, tzinfo=UTC)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value, time(0), tzinfo=SHANGHAI)


def _when(value, recorded: datetime | None = None) -> dict:
    """eventTime (ISO 8601 with offset, Beijing), its offset, and recordTime when known."""
    moment = _time(value).astimezone(SHANGHAI)
    out = {"eventTime": moment.isoformat(), "eventTimeZoneOffset": "+08:00"}
    if recorded is not None:
        out["recordTime"] = _time(recorded).astimezone(UTC).isoformat().replace("+00:00", "Z")
    return out


def quantity(epc_class: str, amount: Decimal | None, unit: str | None) -> dict:
    """A quantityElement; the unit mapped to a UN/ECE code when we know it."""
    element: dict = {"epcClass": epc_class}
    if amount is None:
        return element
    key = (unit or "").strip()
    if key.lower() in UOM or key in UOM:
        code, factor = UOM.get(key.lower(), UOM.get(key))
        element["quantity"] = float(Decimal(amount) * Decimal(factor))
        element["uom"] = code
    elif key in PIECES:
        element["quantity"] = float(amount)
        element["uom"] = "H87"
    else:
        element["quantity"] = float(amount)
    return element


def _lots_of(batch: Batch) -> list[tuple[RawMaterialLot, Decimal, str]]:
    """The raw lots that went into *batch*, with how much (inputs and additive lots)."""
    rows = []
    for item in db.session.scalars(
        select(BatchInput).where(BatchInput.batch_id == batch.id).order_by(BatchInput.id)
    ):
        rows.append((item.raw_lot, item.quantity, item.unit))
    for use in db.session.scalars(
        select(AdditiveUse)
        .where(AdditiveUse.batch_id == batch.id, AdditiveUse.raw_lot_id.is_not(None))
        .order_by(AdditiveUse.id)
    ):
        rows.append((use.raw_lot, use.amount, use.unit))
    return rows


def _certifications(batch: Batch) -> tuple[list[Sample], list[Inspection], list[str]]:
    """The batch's samples, its workshop's concluded inspections and their URIs."""
    samples = list(
        db.session.scalars(select(Sample).where(Sample.batch_id == batch.id).order_by(Sample.id))
    )
    inspections = list(
        db.session.scalars(
            select(Inspection)
            .where(Inspection.workshop_id == batch.workshop_id, Inspection.concluded)
            .order_by(Inspection.inspected_on, Inspection.id)
        )
    )
    uris = [_uri(f"/id/sample/{quote(s.sample_no, safe='')}") for s in samples]
    uris += [_uri(f"/id/inspection/{i.id}") for i in inspections]
    return samples, inspections, uris


def receiving_event(lot: RawMaterialLot) -> dict:
    """The workshop received a raw lot from its supplier (and accepted it or not)."""
    accepted = str(lot.result) == "accepted"
    return {
        "type": "ObjectEvent",
        "eventID": _event_id("receiving", lot.id),
        **_when(lot.purchased_on, lot.created_at),
        "action": "OBSERVE",
        "bizStep": "receiving",
        "disposition": "in_progress" if accepted else "non_conformant",
        "quantityList": [quantity(lot_class(lot), lot.quantity, lot.unit)],
        "readPoint": {"id": workshop_uri(lot.workshop)},
        "bizLocation": {"id": workshop_uri(lot.workshop)},
        "sourceList": [{"type": "owning_party", "source": _uri(f"/id/supplier/{lot.supplier_id}")}],
        "destinationList": [{"type": "owning_party", "destination": workshop_uri(lot.workshop)}],
    }


def transformation_event(batch: Batch, certification: list[str]) -> dict:
    """Raw lots in, the batch out."""
    lots = _lots_of(batch)
    event = {
        "type": "TransformationEvent",
        "eventID": _event_id("transformation", batch.id),
        **_when(batch.produced_on or batch.created_at, batch.created_at),
        "outputQuantityList": [quantity(batch_class(batch), batch.planned_quantity, batch.unit)],
        "transformationID": _uri(f"/id/transformation/{batch.id}"),
        "bizStep": "commissioning",
        "disposition": "active",
        "readPoint": {"id": workshop_uri(batch.workshop)},
        "bizLocation": {"id": workshop_uri(batch.workshop)},
        "ilmd": _ilmd(batch),
    }
    if lots:
        event["inputQuantityList"] = [quantity(lot_class(lot), q, u) for lot, q, u in lots]
    if certification:
        event["certificationInfo"] = certification
    return event


def _ilmd(batch: Batch) -> dict:
    """Lot master data: the batch number, production and expiry dates (CBV-MDA names)."""
    ilmd = {"cbvmda:lotNumber": batch.batch_no}
    if batch.produced_on:
        ilmd["cbvmda:productionDate"] = batch.produced_on.isoformat()
    if batch.expires_on:
        ilmd["cbvmda:itemExpirationDate"] = batch.expires_on.isoformat()
    return ilmd


def commissioning_events(batch: Batch) -> list[dict]:
    """Each run of unit codes brought into use (action ADD)."""
    events = []
    for issuance in db.session.scalars(
        select(CodeIssuance).where(CodeIssuance.batch_id == batch.id).order_by(CodeIssuance.id)
    ):
        codes = db.session.scalars(
            select(UnitCode.code)
            .where(UnitCode.issuance_id == issuance.id)
            .order_by(UnitCode.serial)
        ).all()
        if not codes:
            continue
        events.append(
            {
                "type": "ObjectEvent",
                "eventID": _event_id("commissioning", issuance.id),
                **_when(issuance.created_at, issuance.created_at),
                "epcList": [unit_uri(batch, code) for code in codes],
                "action": "ADD",
                "bizStep": "commissioning",
                "disposition": "active",
                "readPoint": {"id": workshop_uri(batch.workshop)},
                "bizLocation": {"id": workshop_uri(batch.workshop)},
            }
        )
    return events


def inspecting_events(batch: Batch, samples: list[Sample]) -> list[dict]:
    """Each sample of the batch: conformant when every live result passed."""
    events = []
    for sample in samples:
        superseded = {r.supersedes_id for r in sample.results if r.supersedes_id}
        live = [r for r in sample.results if r.id not in superseded]
        if not live:
            continue
        verdicts = {r.verdict for r in live}
        if Verdict.FAIL in verdicts:
            disposition = "non_conformant"
        elif verdicts == {Verdict.PASS}:
            disposition = "conformant"
        else:
            continue  # still pending or awaiting confirmation: nothing to certify yet
        tested = max(r.tested_at for r in live)
        events.append(
            {
                "type": "ObjectEvent",
                "eventID": _event_id("inspecting", sample.id),
                **_when(tested, tested),
                "quantityList": [quantity(batch_class(batch), None, None)],
                "action": "OBSERVE",
                "bizStep": "inspecting",
                "disposition": disposition,
                "readPoint": {"id": workshop_uri(batch.workshop)},
                "certificationInfo": _uri(f"/id/sample/{quote(sample.sample_no, safe='')}"),
            }
        )
    return events


def shipping_events(batch: Batch) -> list[dict]:
    """Each shipment line of the batch: from the workshop to the buyer."""
    events = []
    items = db.session.scalars(
        select(ShipmentItem)
        .join(Shipment)
        .where(ShipmentItem.batch_id == batch.id)
        .order_by(Shipment.shipped_on, ShipmentItem.id)
    )
    for item in items:
        shipment = item.shipment
        events.append(
            {
                "type": "ObjectEvent",
                "eventID": _event_id("shipping", item.id),
                **_when(shipment.shipped_on, shipment.created_at),
                "quantityList": [quantity(batch_class(batch), item.quantity, item.unit)],
                "action": "OBSERVE",
                "bizStep": "shipping",
                "disposition": "in_transit",
                "readPoint": {"id": workshop_uri(batch.workshop)},
                "bizTransactionList": [
                    {"type": "desadv", "bizTransaction": _uri(f"/id/shipment/{shipment.id}")}
                ],
                "sourceList": [{"type": "owning_party", "source": workshop_uri(batch.workshop)}],
                "destinationList": [
                    {"type": "owning_party", "destination": _uri(f"/id/buyer/{shipment.buyer_id}")}
                ],
            }
        )
    return events


def recall_events(batch: Batch) -> list[dict]:
    """The recall, when the batch was recalled."""
    if batch.state is not BatchState.RECALLED:
        return []
    change = db.session.scalar(
        select(BatchStateChange)
        .where(
            BatchStateChange.batch_id == batch.id,
            BatchStateChange.to_state == BatchState.RECALLED,
        )
        .order_by(BatchStateChange.id.desc())
        .limit(1)
    )
    when = change.changed_at if change else batch.updated_at
    return [
        {
            "type": "ObjectEvent",
            "eventID": _event_id("recall", batch.id),
            **_when(when, when),
            "quantityList": [quantity(batch_class(batch), None, None)],
            "action": "OBSERVE",
            "bizStep": "holding",
            "disposition": "recalled",
            "readPoint": {"id": workshop_uri(batch.workshop)},
        }
    ]


def batch_document(batch: Batch) -> dict:
    """The EPCIS 2.0 document of *batch* (a JSON-ready dict)."""
    samples, _inspections, certification = _certifications(batch)
    events = [receiving_event(lot) for lot, _q, _u in _unique_lots(batch)]
    events.append(transformation_event(batch, certification))
    events += commissioning_events(batch)
    events += inspecting_events(batch, samples)
    events += shipping_events(batch)
    events += recall_events(batch)
    events.sort(key=lambda e: (e["eventTime"], _ORDER.get(e.get("bizStep"), 9)))
    now = utcnow().astimezone(UTC).replace(microsecond=0)
    return {
        "@context": [EPCIS_CONTEXT],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": now.isoformat().replace("+00:00", "Z"),
        "epcisBody": {"eventList": events},
    }


_ORDER = {"receiving": 0, "commissioning": 1, "inspecting": 2, "shipping": 3, "holding": 4}


def _unique_lots(batch: Batch):
    """The batch's lots, each once."""
    seen = set()
    for lot, q, u in _lots_of(batch):
        if lot.id not in seen:
            seen.add(lot.id)
            yield lot, q, u
