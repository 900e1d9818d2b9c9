"""The recall report: every event of a trace with its key data, FSMA-204 style.

One row per critical tracking event — receiving a raw lot, transforming lots into a batch,
shipping a batch — with the key data elements: what, the traceability lot code, quantity and
unit, the input lots, where, when, from whom, to whom and the reference document. Rows are
sorted by date and event; dates and quantities are typed cells, so the spreadsheet sorts and
filters them. Written through :func:`backend.core.spreadsheets.render` (CSV or XLSX, formulas
neutralised).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.batches.models import AdditiveUse, BatchInput
from backend.core.errors import ValidationError
from backend.core.i18n import N_
from backend.core.i18n import gettext as _
from backend.core.spreadsheets import FORMATS, render
from backend.core.time import local_today
from backend.extensions import db
from backend.ledgers.models import Shipment, ShipmentItem
from backend.trace import graph
from backend.trace.graph import Trace

COLUMNS = (
    N_("事件 Event"),
    N_("日期 Date"),
    N_("产品或原料 Product"),
    N_("追溯批号 Traceability lot code"),
    N_("数量 Quantity"),
    N_("单位 Unit"),
    N_("投入原料批号 Input lot codes"),
    N_("地点 Location"),
    N_("来自 From"),
    N_("去往 To"),
    N_("参考文件 Reference document"),
    N_("作坊登记证号 Registration no."),
)
EVENT_NAMES = {
    "receiving": N_("收货 Receiving"),
    "transformation": N_("加工 Transformation"),
    "shipping": N_("发货 Shipping"),
}
ORDER = {"receiving": 0, "transformation": 1, "shipping": 2}


@dataclass
class Row:
    """One critical tracking event with its key data elements."""

    event: str
    day: date | None
    what: str
    lot_code: str
    quantity: Decimal | None
    unit: str
    inputs: str
    location: str
    source: str
    destination: str
    reference: str
    registration_no: str

    def cells(self) -> list:
        """The row's cells for the spreadsheet (quantities as numbers)."""
        return [
            _(EVENT_NAMES[self.event]),
            self.day,
            self.what,
            self.lot_code,
            float(self.quantity) if self.quantity is not None else None,
            self.unit,
            self.inputs,
            self.location,
            self.source,
            self.destination,
            self.reference,
            self.registration_no,
        ]


def _place(workshop) -> str:
    """A workshop as a location: name and address."""
    return f"{workshop.name}（{workshop.address}）"


def _receiving_rows(trace: Trace) -> list[Row]:
    """Receiving: each raw lot of *trace*, from its supplier to its workshop."""
    out = []
    for lot in trace.lots:
        supplier = lot.supplier
        reference = _("进货查验记录 #%(id)s", id=lot.id)
        if lot.supplier_batch_no:
            reference += " · " + _("供方批号 %(no)s", no=lot.supplier_batch_no)
        out.append(
            Row(
                "receiving",
                lot.purchased_on,
                lot.material_name,
                lot.lot_no,
                lot.quantity,
                lot.unit,
                "",
                _place(lot.workshop),
                f"{supplier.name}（{supplier.licence_no}）"
                if supplier.licence_no
                else supplier.name,
                lot.workshop.name,
                reference,
                lot.workshop.registration_no,
            )
        )
    return out


def _input_lots(batch_ids: list[int]) -> dict[int, list[str]]:
    """Each batch's input lots (raw materials, then additives from a lot), as text."""
    inputs: dict[int, list[str]] = {}
    if not batch_ids:
        return inputs
    for item in db.session.scalars(
        select(BatchInput)
        .where(BatchInput.batch_id.in_(batch_ids))
        .options(selectinload(BatchInput.raw_lot))
        .order_by(BatchInput.id)
    ):
        inputs.setdefault(item.batch_id, []).append(
            f"{item.raw_lot.lot_no} {item.raw_lot.material_name} {item.quantity.normalize():f}"
            f"{item.unit}"
        )
    for use in db.session.scalars(
        select(AdditiveUse)
        .where(AdditiveUse.batch_id.in_(batch_ids), AdditiveUse.raw_lot_id.is_not(None))
        .options(selectinload(AdditiveUse.raw_lot))
        .order_by(AdditiveUse.id)
    ):
        inputs.setdefault(use.batch_id, []).append(
            f"{use.raw_lot.lot_no} {use.additive_name} {use.amount.normalize():f}{use.unit}"
        )
    return inputs


def _transformation_rows(trace: Trace, inputs: dict[int, list[str]]) -> list[Row]:
    """Transformation: each batch of *trace*, made from its input lots."""
    return [
        Row(
            "transformation",
            batch.produced_on,
            batch.product.name,
            batch.batch_no,
            batch.planned_quantity,
            batch.unit if batch.planned_quantity is not None else "",
            "；".join(inputs.get(batch.id, [])),
            _place(batch.workshop),
            "",
            "",
            _("生产记录 批次 %(no)s", no=batch.batch_no),
            batch.workshop.registration_no,
        )
        for batch in trace.batches
    ]


def _buyer_text(buyer) -> str:
    """The buyer's name, address and phone, as one cell."""
    to = buyer.name
    if buyer.address:
        to += f"（{buyer.address}）"
    if buyer.contact_phone:
        to += f" {buyer.contact_phone}"
    return to


def _shipping_rows(trace: Trace, batch_ids: list[int]) -> list[Row]:
    """Shipping: each shipment item of the trace's batches, to its buyer."""
    if not batch_ids:
        return []
    items = db.session.scalars(
        select(ShipmentItem)
        .join(Shipment)
        .where(ShipmentItem.batch_id.in_(batch_ids))
        .options(selectinload(ShipmentItem.shipment).selectinload(Shipment.buyer))
        .order_by(Shipment.shipped_on, ShipmentItem.id)
    )
    batches = {b.id: b for b in trace.batches}
    out = []
    for item in items:
        shipment, batch = item.shipment, batches[item.batch_id]
        reference = _("销售单 %(no)s", no=shipment.document_no)
        if shipment.inspection_cert_no:
            reference += " · " + _("出厂检验 %(no)s", no=shipment.inspection_cert_no)
        out.append(
            Row(
                "shipping",
                shipment.shipped_on,
                batch.product.name,
                batch.batch_no,
                item.quantity,
                item.unit,
                "",
                _place(batch.workshop),
                batch.workshop.name,
                _buyer_text(shipment.buyer),
                reference,
                batch.workshop.registration_no,
            )
        )
    return out


def rows(trace: Trace) -> list[Row]:
    """Every receiving, transformation and shipping event of *trace*, sorted."""
    batch_ids = [b.id for b in trace.batches]
    out = _receiving_rows(trace)
    out += _transformation_rows(trace, _input_lots(batch_ids))
    out += _shipping_rows(trace, batch_ids)
    out.sort(key=lambda r: (r.day or date.min, ORDER[r.event], r.lot_code))
    return out


def table(trace: Trace) -> list[list]:
    """The header and every row, ready for :func:`render`."""
    return [[_(c) for c in COLUMNS]] + [row.cells() for row in rows(trace)]


def export(trace: Trace, fmt: str) -> bytes:
    """The report of *trace* as CSV or XLSX bytes."""
    if fmt not in FORMATS:
        raise ValidationError(
            _("不支持的文件格式。"), slug="bad_format", errors={"fmt": [_("只支持 CSV 或 XLSX。")]}
        )
    return render(table(trace), fmt, _("召回报告"))


def trace_for(
    *,
    batch: str | None = None,
    lot=None,
    supplier=None,
    start: date | None = None,
    end: date | None = None,
) -> Trace:
    """The trace a report covers: a batch (with every batch sharing its lots), a raw lot,
    a supplier, or the batches produced in a date range (one of them)."""
    given = [k for k, v in (("batch", batch), ("lot", lot), ("supplier", supplier)) if v]
    if start or end:
        given.append("range")
    if len(given) != 1:
        raise ValidationError(
            _("请只选择一种追溯起点：批次、原料批次、供应商或日期范围。"),
            slug="one_start",
            errors={"batch": [_("请只选择一种追溯起点。")]},
        )
    if batch:
        found = graph.batch_by_no(batch)
        return graph.affected([found], _("批次 %(no)s", no=found.batch_no))
    if lot:
        return graph.forward_from_lot(graph.lot_by_id(lot))
    if supplier:
        return graph.forward_from_supplier(graph.supplier_by_id(supplier))
    if start is None or end is None:
        missing = "start" if start is None else "end"
        raise ValidationError(
            _("请填写开始和结束日期。"),
            slug="bad_range",
            errors={missing: [_("请填写日期。")]},
        )
    batches = graph.batches_produced(start, end)
    return graph.affected(batches, _("%(start)s 至 %(end)s 生产的批次", start=start, end=end))


def filename(fmt: str) -> str:
    """A download name for the report."""
    return f"召回报告-{local_today():%Y%m%d}.{fmt}"
