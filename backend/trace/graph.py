"""The trace graph: supplier → raw lot → batch → unit codes → shipment → buyer.

Both directions are one recursive SQL query (``WITH RECURSIVE``, the same text on SQLite and
PostgreSQL) over the graph's edges, each edge an indexed foreign key:

- backward from a batch (or a code) to the raw lots that went into it and their suppliers;
- forward from a raw lot (or every lot of a supplier) to the batches made from it, the
  shipments that carried them and the buyers who received them.

A recall needs both: :func:`affected` walks back from a batch to its lots and forward again,
so the batches that share a lot with it come out too.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.orm import selectinload

from backend.accounts.models import Role
from backend.batches.models import Batch
from backend.codes.models import UnitCode
from backend.codes.services import parse_code
from backend.core.errors import NotFound, ValidationError
from backend.core.i18n import gettext as _
from backend.extensions import db
from backend.ledgers.models import Buyer, RawMaterialLot, Shipment, ShipmentItem
from backend.registry.models import Supplier

# Who follows the whole district's trace graph (``require_role(user, *TRACERS, ...)``).
TRACERS = (Role.REGULATOR, Role.INSPECTOR)

# Each edge (from kind, from id, to kind, to id) is an indexed foreign key; the recursive
# step joins on the side it walks from, so every step is an index lookup.
FORWARD_EDGES = """
    SELECT 'supplier' AS src_kind, l.supplier_id AS src_id, 'lot' AS dst_kind, l.id AS dst_id
      FROM raw_material_lots l
    UNION ALL
    SELECT 'lot', i.raw_lot_id, 'batch', i.batch_id FROM batch_inputs i
    UNION ALL
    SELECT 'lot', a.raw_lot_id, 'batch', a.batch_id FROM additive_uses a
     WHERE a.raw_lot_id IS NOT NULL
    UNION ALL
    SELECT 'batch', si.batch_id, 'shipment', si.shipment_id FROM shipment_items si
    UNION ALL
    SELECT 'shipment', s.id, 'buyer', s.buyer_id FROM shipments s
"""

BACKWARD_EDGES = """
    SELECT 'batch' AS src_kind, i.batch_id AS src_id, 'lot' AS dst_kind, i.raw_lot_id AS dst_id
      FROM batch_inputs i
    UNION ALL
    SELECT 'batch', a.batch_id, 'lot', a.raw_lot_id FROM additive_uses a
     WHERE a.raw_lot_id IS NOT NULL
    UNION ALL
    SELECT 'lot', l.id, 'supplier', l.supplier_id FROM raw_material_lots l
"""

WALK = """
WITH RECURSIVE walk(kind, id) AS (
    SELECT CAST(:kind AS TEXT), s.id FROM {seed_table} s WHERE s.id IN :ids
    UNION
    SELECT e.dst_kind, e.dst_id
      FROM walk w
      JOIN ({edges}) e ON e.src_kind = w.kind AND e.src_id = w.id
)
SELECT kind, id FROM walk
"""

DIGITS = re.compile(r"-?[0-9]{1,30}")

SEED_TABLES = {
    "supplier": "suppliers",
    "lot": "raw_material_lots",
    "batch": "batches",
    "shipment": "shipments",
}


def walk(kind: str, ids: set[int] | list[int], *, forward: bool) -> dict[str, set[int]]:
    """Every node reachable from the *kind* nodes *ids*, by kind (the start nodes included)."""
    found: dict[str, set[int]] = defaultdict(set)
    ids = sorted(set(ids))
    if not ids:
        return found
    statement = text(
        WALK.format(
            seed_table=SEED_TABLES[kind], edges=FORWARD_EDGES if forward else BACKWARD_EDGES
        )
    ).bindparams(bindparam("ids", expanding=True))
    for node_kind, node_id in db.session.execute(statement, {"kind": kind, "ids": ids}):
        found[node_kind].add(int(node_id))
    return found


@dataclass
class Trace:
    """What a trace found: the start, and every supplier, lot, batch, shipment and buyer."""

    direction: str  # "backward", "forward" or "recall"
    origin: str  # what the trace started from, for people
    suppliers: list[Supplier] = field(default_factory=list)
    lots: list[RawMaterialLot] = field(default_factory=list)
    batches: list[Batch] = field(default_factory=list)
    shipments: list[Shipment] = field(default_factory=list)
    buyers: list[Buyer] = field(default_factory=list)
    code_counts: dict[int, int] = field(default_factory=dict)  # batch id → unit codes
    start_batch_ids: set[int] = field(default_factory=set)

    @property
    def code_total(self) -> int:
        """How many unit codes the traced batches carry."""
        return sum(self.code_counts.values())

    def as_dict(self) -> dict:
        """The trace as plain data (for the API and the CLI)."""
        traced = {b.id for b in self.batches}
        return {
            "direction": self.direction,
            "origin": self.origin,
            "suppliers": [
                {"id": s.id, "name": s.name, "licence_no": s.licence_no} for s in self.suppliers
            ],
            "lots": [
                {
                    "id": lot.id,
                    "lot_no": lot.lot_no,
                    "material_name": lot.material_name,
                    "workshop": lot.workshop.name,
                    "supplier_id": lot.supplier_id,
                    "quantity": str(lot.quantity),
                    "unit": lot.unit,
                    "purchased_on": lot.purchased_on.isoformat(),
                }
                for lot in self.lots
            ],
            "batches": [
                {
                    "id": b.id,
                    "batch_no": b.batch_no,
                    "product": b.product.name,
                    "workshop": b.workshop.name,
                    "state": str(b.state),
                    "produced_on": b.produced_on.isoformat() if b.produced_on else None,
                    "codes": self.code_counts.get(b.id, 0),
                }
                for b in self.batches
            ],
            "shipments": [
                {
                    "id": s.id,
                    "document_no": s.document_no,
                    "shipped_on": s.shipped_on.isoformat(),
                    "buyer_id": s.buyer_id,
                    "batches": [item.batch.batch_no for item in s.items if item.batch_id in traced],
                }
                for s in self.shipments
            ],
            "buyers": [
                {"id": b.id, "name": b.name, "address": b.address, "phone": b.contact_phone}
                for b in self.buyers
            ],
            "code_total": self.code_total,
        }


def _load(trace: Trace, found: dict[str, set[int]]) -> Trace:
    """Fill *trace* with the rows of the nodes *found*, in a stable order."""

    def rows(model, ids, order, *options):
        if not ids:
            return []
        return list(
            db.session.scalars(
                select(model).where(model.id.in_(sorted(ids))).options(*options).order_by(*order)
            )
        )

    trace.suppliers = rows(Supplier, found.get("supplier"), (Supplier.name, Supplier.id))
    trace.lots = rows(
        RawMaterialLot,
        found.get("lot"),
        (RawMaterialLot.purchased_on, RawMaterialLot.lot_no, RawMaterialLot.id),
        selectinload(RawMaterialLot.supplier),
        selectinload(RawMaterialLot.workshop),
    )
    trace.batches = rows(
        Batch,
        found.get("batch"),
        (Batch.produced_on, Batch.batch_no),
        selectinload(Batch.product),
        selectinload(Batch.workshop),
    )
    trace.shipments = rows(
        Shipment,
        found.get("shipment"),
        (Shipment.shipped_on, Shipment.document_no, Shipment.id),
        selectinload(Shipment.buyer),
        selectinload(Shipment.items).selectinload(ShipmentItem.batch),
    )
    trace.buyers = rows(Buyer, found.get("buyer"), (Buyer.name, Buyer.id))
    batch_ids = sorted(found.get("batch", ()))
    if batch_ids:
        counts = db.session.execute(
            select(UnitCode.batch_id, func.count())
            .where(UnitCode.batch_id.in_(batch_ids))
            .group_by(UnitCode.batch_id)
        )
        trace.code_counts = {batch_id: int(n) for batch_id, n in counts}
    return trace


# -- finding the start --------------------------------------------------------------------


def batch_by_no(batch_no: str) -> Batch:
    """The batch numbered *batch_no*, or a clear NotFound."""
    batch_no = (batch_no or "").strip()
    if not batch_no or len(batch_no) > 40:
        raise ValidationError(
            _("请填写有效的批次号。"), slug="bad_batch_no", errors={"batch": [_("批次号无效。")]}
        )
    batch = db.session.scalar(select(Batch).where(Batch.batch_no == batch_no))
    if batch is None:
        raise NotFound(
            _("没有批次号为 %(no)s 的批次。", no=batch_no),
            slug="batch_not_found",
            errors={"batch": [_("没有这个批次。")]},
        )
    return batch


def batch_by_code(code_text: str) -> Batch:
    """The batch of the unit code *code_text*, or a clear error."""
    try:
        code_text = parse_code(code_text, strict=True)
    except ValidationError as exc:
        raise ValidationError(exc.message, slug=exc.slug, errors={"code": [exc.message]}) from None
    code = db.session.scalar(select(UnitCode).where(UnitCode.code == code_text))
    if code is None:
        raise NotFound(
            _("此码不是本平台发放的追溯码。"),
            slug="code_not_found",
            errors={"code": [_("没有这个追溯码。")]},
        )
    return code.batch


def _by_id(model, value, name: str, message: str):
    """The *model* row with id *value* (given as text or int), or a field error on *name*."""
    text_value = str(value if value is not None else "").strip()
    if not DIGITS.fullmatch(text_value):
        raise ValidationError(
            _("编号须为数字。"), slug=f"bad_{name}", errors={name: [_("编号须为数字。")]}
        )
    key = int(text_value)
    row = db.session.get(model, key) if 0 < key < 2**31 else None
    if row is None:
        raise NotFound(message, slug=f"{name}_not_found", errors={name: [message]})
    return row


def lot_by_id(value) -> RawMaterialLot:
    """The raw lot with id *value*, or a clear error."""
    return _by_id(RawMaterialLot, value, "lot", _("没有这个原料批次。"))


def supplier_by_id(value) -> Supplier:
    """The supplier with id *value*, or a clear error."""
    return _by_id(Supplier, value, "supplier", _("没有这个供应商。"))


# -- the traces ---------------------------------------------------------------------------


def backward(batch: Batch) -> Trace:
    """From *batch* back to every raw lot that went into it and each lot's supplier."""
    found = walk("batch", [batch.id], forward=False)
    trace = Trace("backward", _("批次 %(no)s", no=batch.batch_no), start_batch_ids={batch.id})
    return _load(trace, found)


def forward_from_lots(lots: list[RawMaterialLot], origin: str) -> Trace:
    """From *lots* forward to every batch made from them, its shipments and buyers."""
    found = walk("lot", [lot.id for lot in lots], forward=True)
    return _load(Trace("forward", origin), found)


def forward_from_lot(lot: RawMaterialLot) -> Trace:
    """From one raw lot forward to batches, shipments and buyers."""
    found = walk("lot", [lot.id], forward=True)
    found["supplier"].add(lot.supplier_id)
    origin = _("原料批次 %(no)s（%(name)s）", no=lot.lot_no, name=lot.material_name)
    return _load(Trace("forward", origin), found)


def forward_from_supplier(supplier: Supplier) -> Trace:
    """From a supplier forward through every lot it delivered to batches and buyers."""
    found = walk("supplier", [supplier.id], forward=True)
    return _load(Trace("forward", _("供应商 %(name)s", name=supplier.name)), found)


def affected(batches: list[Batch], origin: str) -> Trace:
    """What a recall of *batches* reaches: back to their lots and suppliers, then forward
    from those lots to every batch that shares one, and on to shipments and buyers."""
    start = {b.id for b in batches}
    back = walk("batch", start, forward=False)
    found = walk("lot", back.get("lot", set()), forward=True)
    for kind, ids in walk("batch", start, forward=True).items():  # batches without lots
        found[kind] |= ids
    found["supplier"] |= back.get("supplier", set())
    return _load(Trace("recall", origin, start_batch_ids=start), found)


def batches_produced(start: date, end: date) -> list[Batch]:
    """Batches produced between *start* and *end* (both included)."""
    if end < start:
        raise ValidationError(
            _("结束日期不能早于开始日期。"),
            slug="bad_range",
            errors={"end": [_("结束日期不能早于开始日期。")]},
        )
    if (end - start).days > 366:
        raise ValidationError(
            _("日期范围不能超过一年。"),
            slug="bad_range",
            errors={"end": [_("日期范围不能超过一年。")]},
        )
    return list(
        db.session.scalars(
            select(Batch)
            .where(Batch.produced_on >= start, Batch.produced_on <= end)
            .order_by(Batch.produced_on, Batch.batch_no)
        )
    )


def shipment_items(trace: Trace) -> list[ShipmentItem]:
    """Every shipment line of the traced shipments that carries a traced batch."""
    batch_ids = {b.id for b in trace.batches}
    return [item for s in trace.shipments for item in s.items if item.batch_id in batch_ids]
