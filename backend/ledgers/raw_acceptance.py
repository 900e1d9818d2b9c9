"""进货查验 Raw material acceptance: a delivery checked and recorded as a raw lot.

The lot is usable only when accepted, which needs the supplier's licence, the certificate
of conformity and the senses checked and the lot not expired. Accepting goods is trading:
refused while the workshop's registration has expired or it is suspended or cancelled
(:mod:`backend.registry.standing`); recording a refused delivery stays open.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from backend.accounts.models import User
from backend.accounts.permissions import require_operator
from backend.core.errors import ValidationError
from backend.core.time import local_today
from backend.extensions import db
from backend.ledgers import entries
from backend.ledgers.models import AcceptanceResult, LedgerEntry, LedgerKind, RawMaterialLot
from backend.registry.models import Supplier
from backend.registry.standing import Action, require_trading

MAX_FUTURE_EXPIRY = timedelta(days=10 * 366)


def _supplier(data: dict) -> Supplier:
    """The supplier named by id, or found (else created) by name and licence."""
    if "supplier_id" in data:
        supplier = db.session.get(Supplier, data["supplier_id"])
        if supplier is None:
            raise ValidationError(
                _("供应商不存在。"),
                slug="supplier_not_found",
                errors={"supplier_id": ["no such supplier"]},
            )
        return supplier
    given = data["supplier"]
    supplier = db.session.scalar(
        select(Supplier).where(
            Supplier.name == given["name"], Supplier.licence_no == given["licence_no"]
        )
    )
    if supplier is None:
        supplier = Supplier(**given)
        db.session.add(supplier)
        db.session.flush()
    return supplier


def check_lot_dates(lot_fields: dict, today: date) -> None:
    """Production, purchase and expiry dates that make sense together."""
    produced, purchased = lot_fields.get("produced_on"), lot_fields["purchased_on"]
    expires = lot_fields.get("expires_on")
    entries.check_day(produced, "produced_on", today=today)
    if produced and produced > purchased:
        raise ValidationError(
            _("生产日期不能晚于进货日期。"),
            slug="produced_after_purchase",
            errors={"produced_on": ["after purchased_on"]},
        )
    if expires and produced and expires < produced:
        raise ValidationError(
            _("保质期至不能早于生产日期。"),
            slug="expiry_before_production",
            errors={"expires_on": ["before produced_on"]},
        )
    if expires and expires > today + MAX_FUTURE_EXPIRY:
        raise ValidationError(
            _("保质期至太远，请核对。"), slug="expiry_too_far", errors={"expires_on": ["too far"]}
        )


def record_raw_acceptance(workshop_id: int, user: User, data: dict) -> LedgerEntry:
    """进货查验: check a delivery and record it as a raw lot (accepted or rejected)."""
    require_operator(user, workshop_id)
    st = entries.stamp(user, data)
    today = local_today()
    purchased_on = data.get("purchased_on") or st.business_date
    entries.check_day(
        purchased_on, "purchased_on", today=today, oldest=today - entries.MAX_BACKDATE
    )
    produced_on = data.get("produced_on")
    expires_on = data.get("expires_on")
    if expires_on is None and produced_on and data.get("shelf_life_days"):
        expires_on = produced_on + timedelta(days=data["shelf_life_days"])
    check_lot_dates(
        {"produced_on": produced_on, "purchased_on": purchased_on, "expires_on": expires_on},
        today,
    )
    result = data["result"]
    if result is AcceptanceResult.ACCEPTED:
        # Recording a refused delivery stays open; accepting goods is trading.
        require_trading(entries.workshop(workshop_id), Action.ACCEPT_RAW)
        missing = [
            name
            for name in ("supplier_licence_checked", "certificate_checked", "sensory_ok")
            if not data[name]
        ]
        if missing:
            raise ValidationError(
                _("查验供应商许可证、合格证明并感官检查合格后才能验收。"),
                slug="acceptance_incomplete",
                errors={name: ["must be true to accept"] for name in missing},
            )
        if expires_on is not None and expires_on < purchased_on:
            raise ValidationError(
                _("原料已过期，不能验收。"),
                slug="raw_material_expired",
                errors={"expires_on": ["before purchased_on"]},
            )
    lot_no = entries.workshop_number(
        RawMaterialLot,
        RawMaterialLot.lot_no,
        workshop_id,
        data.get("lot_no"),
        f"YL{purchased_on:%Y%m%d}-",
        taken_message=_("原料批号 %(no)s 已被使用。", no=data.get("lot_no")),
        slug="lot_no_taken",
        field="lot_no",
    )
    supplier = _supplier(data)
    lot = RawMaterialLot(
        workshop_id=workshop_id,
        supplier_id=supplier.id,
        lot_no=lot_no,
        material_name=data["material_name"],
        is_additive=data["is_additive"],
        specification=data["specification"],
        quantity=data["quantity"],
        unit=data["unit"],
        supplier_batch_no=data["supplier_batch_no"],
        produced_on=produced_on,
        shelf_life_days=data.get("shelf_life_days"),
        expires_on=expires_on,
        purchased_on=purchased_on,
        supplier_licence_checked=data["supplier_licence_checked"],
        certificate_checked=data["certificate_checked"],
        sensory_ok=data["sensory_ok"],
        result=result,
        accepted_by_id=user.id,
        note=data["note"],
    )
    db.session.add(lot)
    db.session.flush()
    return entries.write(
        LedgerKind.RAW_ACCEPTANCE,
        workshop_id,
        user,
        st,
        entries.acceptance_payload(lot),
        raw_lot=lot,
    )
