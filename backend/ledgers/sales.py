"""销售记录 Sales: a shipment of released batches to a buyer.

Recording a sale creates the buyer (or reuses it), the shipment and its items; only
released, unexpired batches of the workshop can be sold. Selling is trading: refused while
the workshop's registration has expired or it is suspended or cancelled
(:mod:`backend.registry.standing`).
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from backend.accounts.models import User
from backend.accounts.permissions import require_operator
from backend.batches import operations
from backend.batches.models import STATE_NAMES_ZH, Batch, BatchState
from backend.core.errors import Conflict, ValidationError
from backend.core.time import local_today
from backend.extensions import db
from backend.ledgers import entries
from backend.ledgers.chain import retention_date
from backend.ledgers.models import Buyer, LedgerEntry, LedgerKind, Shipment, ShipmentItem
from backend.registry.standing import Action, require_trading


def _buyer(workshop_id: int, data: dict) -> Buyer:
    """The workshop's buyer named by id, or found by name (its contacts updated) or created."""
    if "buyer_id" in data:
        buyer = db.session.get(Buyer, data["buyer_id"])
        if buyer is None or buyer.workshop_id != workshop_id:
            raise ValidationError(
                _("本作坊没有这个客户。"),
                slug="buyer_not_found",
                errors={"buyer_id": ["not a buyer of this workshop"]},
            )
        return buyer
    given = data["buyer"]
    buyer = db.session.scalar(
        select(Buyer).where(Buyer.workshop_id == workshop_id, Buyer.name == given["name"])
    )
    if buyer is None:
        buyer = Buyer(workshop_id=workshop_id, **given)
        db.session.add(buyer)
    else:
        for key in ("address", "contact_name", "contact_phone"):
            if given[key]:
                setattr(buyer, key, given[key])
    db.session.flush()
    return buyer


def _sold_batches(workshop_id: int, items: list[dict], shipped_on: date) -> list[Batch]:
    """The batches *items* name, each once, released and fit to sell on *shipped_on*."""
    numbers = [item["batch_no"] for item in items]
    if len(set(numbers)) != len(numbers):
        raise ValidationError(
            _("同一批次只能列一次。"),
            slug="duplicate_batch",
            errors={"items": ["each batch_no once"]},
        )
    batches = []
    for index, item in enumerate(items):
        batch = operations.workshop_batch(workshop_id, item["batch_no"], "items")
        if batch.state is not BatchState.RELEASED:
            raise Conflict(
                _(
                    "批次 %(no)s 当前为“%(state)s”，不能销售。",
                    no=batch.batch_no,
                    state=STATE_NAMES_ZH[batch.state],
                ),
                slug="batch_not_released",
                errors={"items": {index: {"batch_no": [str(batch.state)]}}},
            )
        if batch.expires_on is not None and batch.expires_on < shipped_on:
            raise ValidationError(
                _("批次 %(no)s 已过保质期，不能销售。", no=batch.batch_no),
                slug="batch_expired",
                errors={"items": {index: {"batch_no": ["expired"]}}},
            )
        if batch.produced_on is not None and batch.produced_on > shipped_on:
            raise ValidationError(
                _("销售日期不能早于生产日期。"),
                slug="sold_before_produced",
                errors={"shipped_on": ["before the batch was produced"]},
            )
        batches.append(batch)
    return batches


def record_sale(workshop_id: int, user: User, data: dict) -> LedgerEntry:
    """销售记录: a shipment of released batches to a buyer."""
    require_operator(user, workshop_id)
    st = entries.stamp(user, data)
    require_trading(entries.workshop(workshop_id), Action.SELL)
    today = local_today()
    shipped_on = data.get("shipped_on") or st.business_date
    entries.check_day(shipped_on, "shipped_on", today=today, oldest=today - entries.MAX_BACKDATE)
    batches = _sold_batches(workshop_id, data["items"], shipped_on)
    document_no = entries.workshop_number(
        Shipment,
        Shipment.document_no,
        workshop_id,
        data.get("document_no"),
        f"XS{shipped_on:%Y%m%d}-",
        taken_message=_("单号 %(no)s 已被使用。", no=data.get("document_no")),
        slug="document_no_taken",
        field="document_no",
    )
    buyer = _buyer(workshop_id, data)
    shipment = Shipment(
        workshop_id=workshop_id,
        buyer_id=buyer.id,
        document_no=document_no,
        shipped_on=shipped_on,
        inspection_cert_no=data["inspection_cert_no"],
        note=data["note"],
    )
    db.session.add(shipment)
    db.session.flush()
    for batch, item in zip(batches, data["items"], strict=True):
        db.session.add(
            ShipmentItem(
                shipment_id=shipment.id,
                batch_id=batch.id,
                quantity=item["quantity"],
                unit=batch.unit,
            )
        )
    db.session.flush()
    db.session.refresh(shipment, ["items"])
    # The entry links the batch that must be kept longest, so retention covers them all.
    keep = max(batches, key=lambda b: retention_date(shipped_on, b))
    return entries.write(
        LedgerKind.SALE,
        workshop_id,
        user,
        st,
        entries.sale_payload(shipment),
        batch=keep,
        shipment=shipment,
    )
