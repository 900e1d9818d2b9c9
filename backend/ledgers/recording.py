"""The daily ledgers from phones: one service per kind, corrections, history, templates.

Every write goes through :func:`backend.ledgers.entries.write` and so through the hash
chain of :mod:`backend.ledgers.chain`; nothing here updates or deletes an entry.

- morning_check 晨检: each person checked; nobody without a valid health certificate, nor
  with fever (≥ 37.3 °C), symptoms or hand wounds, can be recorded fit for work.
- raw_acceptance 进货查验: creates the raw lot; it is usable only when accepted, which needs
  the supplier's licence, the certificate of conformity and the senses checked and the lot
  not expired.
- production, additive_use, outgoing_inspection: about a batch
  (:mod:`backend.batches.operations`).
- cleaning 清洗消毒: what, how, with what, by whom.
- sale 销售记录: creates the buyer (or reuses it), the shipment and its items; only
  released, unexpired batches of the workshop can be sold.

Accepting raw materials and selling are trading: refused while the workshop's registration
has expired or it is suspended or cancelled (:mod:`backend.registry.standing`). Morning
checks, cleaning, refused deliveries and corrections stay open, as the law still asks for
them.

A correction is a new entry of the same kind naming the one it corrects, with a reason and
the corrected fields merged over the corrected payload. Staff may correct their own
entries; correcting someone else's is for the workshop's owner. Only the latest version can
be corrected (history stays a line). A corrected raw acceptance also corrects the lot's
descriptive fields, a corrected additive use the additive row, so what consumers see
follows; other rows a record created (shipments, batch inputs) are not changed by a
correction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from marshmallow import ValidationError as SchemaError
from sqlalchemy import func, select

from backend.accounts.access import (
    is_owner,
    lock_for_operator,
    require_operator,
    require_reader,
)
from backend.accounts.models import User
from backend.batches import operations
from backend.batches.models import AdditiveUse, Batch, BatchInput, BatchState
from backend.batches.states import STATE_NAMES_ZH
from backend.core.canonical import plain
from backend.core.errors import Conflict, Forbidden, NotFound, ValidationError
from backend.core.pages import Page
from backend.core.time import local_today, utcnow
from backend.extensions import db
from backend.files.models import StoredFile
from backend.ledgers import checklist, entries
from backend.ledgers.chain import retention_date
from backend.ledgers.models import (
    AcceptanceResult,
    Buyer,
    LedgerAttachment,
    LedgerEntry,
    LedgerKind,
    RawMaterialLot,
    Shipment,
    ShipmentItem,
)
from backend.ledgers.schemas import CHANGE_SCHEMAS
from backend.registry.models import Staff, Supplier, Workshop
from backend.registry.standing import Action, require_trading
from backend.scan.caching import forget_batch

K = LedgerKind
FEVER = Decimal("37.3")  # °C: at or above it nobody handles food
MAX_FUTURE_EXPIRY = timedelta(days=10 * 366)


# -- morning health check 晨检 --------------------------------------------------------------


def _check_lines(workshop_id: int, checks: list[dict], day: date) -> list[dict]:
    """The morning check lines, refused for anyone who may not be on duty."""
    ids = [c["staff_id"] for c in checks]
    if len(set(ids)) != len(ids):
        raise ValidationError(
            _("同一人只能记录一次。"),
            slug="duplicate_staff",
            errors={"checks": ["each staff_id once"]},
        )
    people = {s.id: s for s in db.session.scalars(select(Staff).where(Staff.id.in_(ids)))}
    lines = []
    for index, check in enumerate(checks):
        person = people.get(check["staff_id"])
        if person is None or person.workshop_id != workshop_id or not person.active:
            raise ValidationError(
                _("本作坊没有这名在职人员。"),
                slug="staff_not_found",
                errors={"checks": {index: {"staff_id": ["not active staff of this workshop"]}}},
            )
        certificate = entries.valid_certificate(person, day)
        if check["fit_for_work"]:
            _require_fit(person, certificate, check, index, day)
        lines.append(
            entries.staff_check(
                person,
                certificate,
                temperature=check["temperature"],
                symptoms=check["symptoms"],
                hand_wounds=check["hand_wounds"],
                fit_for_work=check["fit_for_work"],
                note=check.get("note") or "",
            )
        )
    return lines


def _require_fit(person: Staff, certificate, check: dict, index: int, day: date) -> None:
    """Refuse 'fit for work' for someone without a valid certificate or who is unwell."""
    where = {"checks": {index: {"fit_for_work": []}}}
    if certificate is None:
        past = [c for c in person.health_certificates if c.expires_on < day]
        if past:
            expired = max(c.expires_on for c in past)
            where["checks"][index]["fit_for_work"] = [f"health certificate expired {expired}"]
            raise ValidationError(
                _(
                    "%(name)s 的健康证已于 %(date)s 过期，不能记录为在岗。",
                    name=person.name,
                    date=expired.isoformat(),
                ),
                slug="health_certificate_expired",
                errors={**where, "staff": person.name, "expired_on": expired.isoformat()},
            )
        where["checks"][index]["fit_for_work"] = ["no valid health certificate"]
        raise ValidationError(
            _("%(name)s 没有有效的健康证，不能记录为在岗。", name=person.name),
            slug="health_certificate_missing",
            errors={**where, "staff": person.name},
        )
    if check["temperature"] >= FEVER or check["symptoms"]:
        where["checks"][index]["fit_for_work"] = ["fever or symptoms"]
        raise ValidationError(
            _("%(name)s 发热或有症状，不能记录为在岗。", name=person.name),
            slug="unwell_staff_on_duty",
            errors=where,
        )
    if check["hand_wounds"]:
        where["checks"][index]["fit_for_work"] = ["hand wounds"]
        raise ValidationError(
            _("%(name)s 手部有伤口，不能记录为在岗接触食品。", name=person.name),
            slug="unwell_staff_on_duty",
            errors=where,
        )


def record_morning_check(workshop_id: int, user: User, data: dict) -> LedgerEntry:
    """晨检: every person checked this morning."""
    require_operator(user, workshop_id)
    st = entries.stamp(user, data)
    lines = _check_lines(workshop_id, data["checks"], st.business_date)
    return entries.write(K.MORNING_CHECK, workshop_id, user, st, {"checks": lines})


# -- raw material acceptance 进货查验 -------------------------------------------------------


def _workshop(workshop_id: int) -> Workshop:
    """The workshop (the caller's membership is already checked, so it exists)."""
    workshop = db.session.get(Workshop, workshop_id)
    if workshop is None:
        raise NotFound(_("作坊不存在。"), slug="workshop_not_found")
    return workshop


def _supplier(data: dict) -> Supplier:
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


def _workshop_number(
    model,
    column,
    workshop_id: int,
    given: str | None,
    prefix: str,
    *,
    taken_message: str,
    slug: str,
    field: str,
) -> str:
    """A number unique in the workshop: *given* when free (Conflict when taken), else the
    next free ``<prefix>NN``."""
    if given:
        taken = db.session.scalar(
            select(model.id).where(model.workshop_id == workshop_id, column == given)
        )
        if taken:
            raise Conflict(taken_message, slug=slug, errors={field: ["taken"]})
        return given
    used = set(
        db.session.scalars(
            select(column).where(model.workshop_id == workshop_id, column.like(f"{prefix}%"))
        )
    )
    n = len(used) + 1
    while f"{prefix}{n:02d}" in used:
        n += 1
    return f"{prefix}{n:02d}"


def _check_lot_dates(lot_fields: dict, today: date) -> None:
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
    _check_lot_dates(
        {"produced_on": produced_on, "purchased_on": purchased_on, "expires_on": expires_on},
        today,
    )
    result = data["result"]
    if result is AcceptanceResult.ACCEPTED:
        # Recording a refused delivery stays open; accepting goods is trading.
        require_trading(_workshop(workshop_id), Action.ACCEPT_RAW)
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
    lot_no = _workshop_number(
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
        K.RAW_ACCEPTANCE, workshop_id, user, st, entries.acceptance_payload(lot), raw_lot=lot
    )


# -- cleaning 清洗消毒 ----------------------------------------------------------------------


def _staff_member(workshop_id: int, staff_id: int | None, name: str) -> Staff | None:
    if staff_id is None:
        return None
    person = db.session.get(Staff, staff_id)
    if person is None or person.workshop_id != workshop_id:
        raise ValidationError(
            _("本作坊没有这名人员。"), slug="staff_not_found", errors={name: ["not staff here"]}
        )
    return person


def record_cleaning(workshop_id: int, user: User, data: dict) -> LedgerEntry:
    """清洗消毒: what was cleaned or disinfected, how, with what, by whom.

    The operators' most frequent write: the caller's membership, the person named and the
    workshop's chain lock come in one statement (:func:`access.lock_for_operator`), refused
    in the same order as elsewhere (membership, times and photos, then the person).
    """
    staff_id = data.get("by_staff_id")
    by = lock_for_operator(user, workshop_id, staff_id=staff_id)
    st = entries.stamp(user, data)
    if staff_id is not None and (by is None or by.workshop_id != workshop_id):
        raise ValidationError(
            _("本作坊没有这名人员。"),
            slug="staff_not_found",
            errors={"by_staff_id": ["not staff here"]},
        )
    payload = entries.cleaning_payload(
        data["what"], data["how"], data["disinfectant"], by, user.display_name
    )
    return entries.write(K.CLEANING, workshop_id, user, st, payload)


# -- sales 销售记录 -------------------------------------------------------------------------


def _buyer(workshop_id: int, data: dict) -> Buyer:
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


def record_sale(workshop_id: int, user: User, data: dict) -> LedgerEntry:
    """销售记录: a shipment of released batches to a buyer."""
    require_operator(user, workshop_id)
    st = entries.stamp(user, data)
    require_trading(_workshop(workshop_id), Action.SELL)
    today = local_today()
    shipped_on = data.get("shipped_on") or st.business_date
    entries.check_day(shipped_on, "shipped_on", today=today, oldest=today - entries.MAX_BACKDATE)
    numbers = [item["batch_no"] for item in data["items"]]
    if len(set(numbers)) != len(numbers):
        raise ValidationError(
            _("同一批次只能列一次。"),
            slug="duplicate_batch",
            errors={"items": ["each batch_no once"]},
        )
    batches = []
    for index, item in enumerate(data["items"]):
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
    document_no = _workshop_number(
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
        K.SALE, workshop_id, user, st, entries.sale_payload(shipment), batch=keep, shipment=shipment
    )


RECORDERS = {
    K.MORNING_CHECK: record_morning_check,
    K.RAW_ACCEPTANCE: record_raw_acceptance,
    K.PRODUCTION: operations.record_progress,
    K.ADDITIVE_USE: operations.record_additive_use,
    K.CLEANING: record_cleaning,
    K.OUTGOING_INSPECTION: operations.record_inspection,
    K.SALE: record_sale,
}


def record(kind: LedgerKind, workshop_id: int, user: User, data: dict) -> LedgerEntry:
    """Record one ledger entry of *kind* (data already checked by the kind's schema)."""
    return RECORDERS[kind](workshop_id, user, data)


# -- corrections ---------------------------------------------------------------------------


def _latest_correction(entry: LedgerEntry) -> LedgerEntry | None:
    return db.session.scalar(
        select(LedgerEntry).where(LedgerEntry.corrects_id == entry.id).order_by(LedgerEntry.seq)
    )


def _apply_to_lot(entry: LedgerEntry, changes: dict, day: date) -> dict:
    lot = db.session.get(RawMaterialLot, entry.raw_lot_id)
    columns = {k: v for k, v in changes.items() if k != "note"}
    merged = {
        "produced_on": columns.get("produced_on", lot.produced_on),
        "purchased_on": lot.purchased_on,
        "expires_on": columns.get("expires_on", lot.expires_on),
    }
    if "expires_on" not in columns and ("produced_on" in columns or "shelf_life_days" in columns):
        shelf = columns.get("shelf_life_days", lot.shelf_life_days)
        if merged["produced_on"] and shelf:
            merged["expires_on"] = columns["expires_on"] = merged["produced_on"] + timedelta(
                days=shelf
            )
    _check_lot_dates(merged, local_today())
    if "quantity" in columns:
        used = operations.usage([lot.id]).get(lot.id, 0)
        if columns["quantity"] < used:
            raise Conflict(
                _("已投料 %(used)s %(unit)s，数量不能改得更少。", used=used, unit=lot.unit),
                slug="quantity_below_used",
                errors={"changes": {"quantity": [f"batches already used {used}"]}},
            )
    for key, value in columns.items():
        setattr(lot, key, value)
    db.session.flush()
    for batch_id in db.session.scalars(
        select(BatchInput.batch_id).where(BatchInput.raw_lot_id == lot.id)
    ):
        forget_batch(batch_id)
    payload = entries.acceptance_payload(lot)
    return {k: v for k, v in payload.items() if k not in ("result",)}


def _apply_to_additive(entry: LedgerEntry, changes: dict) -> dict:
    use = db.session.get(AdditiveUse, (entry.payload or {}).get("additive_use_id") or 0)
    if use is not None and use.batch_id == entry.batch_id:
        for key in ("amount", "unit", "purpose"):
            if key in changes:
                setattr(use, key, changes[key])
        db.session.flush()
        forget_batch(use.batch_id)
    return {k: v for k, v in changes.items() if k != "note"}


def _corrected_fields(entry: LedgerEntry, changes: dict, day: date) -> dict:
    """The payload fields the correction changes (and the rows it corrects with them)."""
    kind = entry.kind
    if kind is K.MORNING_CHECK:
        if "checks" not in changes:
            return {}
        return {"checks": _check_lines(entry.workshop_id, changes["checks"], day)}
    if kind is K.RAW_ACCEPTANCE:
        return _apply_to_lot(entry, changes, day)
    if kind is K.ADDITIVE_USE:
        return _apply_to_additive(entry, changes)
    if kind is K.CLEANING and "by_staff_id" in changes:
        person = _staff_member(entry.workshop_id, changes["by_staff_id"], "changes")
        rest = {k: v for k, v in changes.items() if k not in ("by_staff_id", "note")}
        return {**rest, "by_staff_id": person.id, "by": person.name}
    if kind is K.PRODUCTION and "process" in changes and entry.payload.get("stage") == "opened":
        batch = db.session.get(Batch, entry.batch_id)
        batch.process_notes = changes["process"]
        forget_batch(batch.id)
    return {k: v for k, v in changes.items() if k != "note"}


def correct_entry(workshop_id: int, entry_id: int, user: User, data: dict) -> LedgerEntry:
    """Append a correction of an entry: same kind, corrected fields, the reason."""
    require_operator(user, workshop_id)
    original = db.session.get(LedgerEntry, entry_id)
    if original is None or original.workshop_id != workshop_id:
        raise NotFound(_("台账记录不存在。"), slug="entry_not_found")
    if original.recorded_by_id != user.id and not is_owner(user, original.workshop_id):
        raise Forbidden(_("只有作坊负责人可以更正他人填写的记录。"), slug="owner_only")
    later = _latest_correction(original)
    if later is not None:
        raise Conflict(
            _("这条记录已被更正，请更正最新的一条（#%(seq)s）。", seq=later.seq),
            slug="already_corrected",
            errors={"latest_id": later.id},
        )
    try:
        changes = CHANGE_SCHEMAS[original.kind]().load(data["changes"])
    except SchemaError as exc:
        raise ValidationError(
            _("更正内容未通过校验。"), slug="validation_failed", errors={"changes": exc.messages}
        ) from None
    if not changes:
        raise ValidationError(
            _("请填写要更正的内容。"),
            slug="nothing_to_correct",
            errors={"changes": ["give at least one field"]},
        )
    note = changes.get("note", (original.payload or {}).get("note", ""))
    body = {**data, "note": note}
    if data.get("occurred_at") is not None:
        st = entries.stamp(user, body)
        day = st.business_date
    else:  # the corrected entry's own time, however long ago
        now = utcnow()
        phone = data.get("recorded_at")
        if phone is not None:
            entries.check_time(phone, "recorded_at", now)
        st = entries.Stamp(
            occurred_at=original.occurred_at,
            received_at=now,
            phone_recorded_at=phone,
            photos=entries.photos_of(user, data.get("photos") or []),
            note=note,
        )
        day = original.business_date
    corrected = _corrected_fields(original, changes, day)
    payload = {
        k: v
        for k, v in (original.payload or {}).items()
        if k not in ("note", "phone_recorded_at", "photos", "correction")
    }
    payload.update(corrected)
    payload["correction"] = {
        "reason": data["reason"],
        "corrects_seq": original.seq,
        "fields": sorted(changes),
    }
    carried = [p["file_id"] for p in (original.payload or {}).get("photos") or []]
    files = list(st.photos)
    if carried:
        known = {f.id for f in files}
        files += [
            f
            for f in db.session.scalars(select(StoredFile).where(StoredFile.id.in_(carried)))
            if f.id not in known
        ]
    links = {
        "batch": db.session.get(Batch, original.batch_id) if original.batch_id else None,
        "raw_lot": db.session.get(RawMaterialLot, original.raw_lot_id)
        if original.raw_lot_id
        else None,
        "shipment": db.session.get(Shipment, original.shipment_id)
        if original.shipment_id
        else None,
    }
    return entries.write(
        original.kind,
        original.workshop_id,
        user,
        st,
        payload,
        business_date=day,
        corrects=original,
        photos=files,
        **links,
    )


# -- history -------------------------------------------------------------------------------


@dataclass
class EntryView:
    """An entry with what people read next to it, and the corrections that followed it."""

    entry: LedgerEntry
    recorded_by: str = ""
    batch_no: str | None = None
    lot_no: str | None = None
    document_no: str | None = None
    attachments: list[StoredFile] = field(default_factory=list)
    corrections: list[EntryView] = field(default_factory=list)

    @property
    def current(self) -> dict:
        """The payload as last corrected."""
        return (self.corrections[-1].entry if self.corrections else self.entry).payload


def _views(found: list[LedgerEntry]) -> dict[int, EntryView]:
    from backend.accounts.models import User as UserModel

    users = {
        u.id: u.display_name
        for u in db.session.scalars(
            select(UserModel).where(UserModel.id.in_({e.recorded_by_id for e in found}))
        )
    }
    batches = dict(
        db.session.execute(
            select(Batch.id, Batch.batch_no).where(Batch.id.in_({e.batch_id for e in found}))
        ).all()
    )
    lots = dict(
        db.session.execute(
            select(RawMaterialLot.id, RawMaterialLot.lot_no).where(
                RawMaterialLot.id.in_({e.raw_lot_id for e in found})
            )
        ).all()
    )
    shipments = dict(
        db.session.execute(
            select(Shipment.id, Shipment.document_no).where(
                Shipment.id.in_({e.shipment_id for e in found})
            )
        ).all()
    )
    files: dict[int, list[StoredFile]] = {}
    for entry_id, stored in db.session.execute(
        select(LedgerAttachment.entry_id, StoredFile)
        .join(StoredFile, StoredFile.id == LedgerAttachment.file_id)
        .where(LedgerAttachment.entry_id.in_([e.id for e in found]))
        .order_by(LedgerAttachment.id)
    ).all():
        files.setdefault(entry_id, []).append(stored)
    return {
        e.id: EntryView(
            entry=e,
            recorded_by=users.get(e.recorded_by_id, ""),
            batch_no=batches.get(e.batch_id),
            lot_no=lots.get(e.raw_lot_id),
            document_no=shipments.get(e.shipment_id),
            attachments=files.get(e.id, []),
        )
        for e in found
    }


def describe(entry_id: int) -> EntryView:
    """One entry with its batch, lot, document, recorder and photos."""
    entry = db.session.get(LedgerEntry, entry_id)
    return _views([entry])[entry.id]


def describe_new(entry: LedgerEntry, recorder: User) -> EntryView:
    """An entry *recorder* has just written, as :func:`describe` shows it, from what the
    session already holds: its links and photos were loaded to write it (``session.get``
    finds them without a query unless a commit expired them), and its photos are the files
    its payload names, in the order they were attached."""
    get = db.session.get
    batch = get(Batch, entry.batch_id) if entry.batch_id is not None else None
    lot = get(RawMaterialLot, entry.raw_lot_id) if entry.raw_lot_id is not None else None
    shipment = get(Shipment, entry.shipment_id) if entry.shipment_id is not None else None
    photos = [get(StoredFile, p["file_id"]) for p in (entry.payload or {}).get("photos") or []]
    if entry.recorded_by_id is not None and entry.recorded_by_id != recorder.id:
        recorder = get(User, entry.recorded_by_id)
    return EntryView(
        entry=entry,
        recorded_by=recorder.display_name if recorder is not None else "",
        batch_no=batch.batch_no if batch is not None else None,
        lot_no=lot.lot_no if lot is not None else None,
        document_no=shipment.document_no if shipment is not None else None,
        attachments=[f for f in photos if f is not None],
    )


def history(
    workshop_id: int,
    user: User,
    *,
    kind: LedgerKind | None = None,
    day: date | None = None,
    page: int = 1,
    per_page: int = 20,
) -> Page:
    """The workshop's entries, newest first, each with its corrections beside it.

    Pages count original entries (those that correct nothing); a correction is listed
    under the entry it corrects, in order, however many times it was corrected.
    """
    require_reader(user, workshop_id)
    page, per_page = max(page, 1), min(max(per_page, 1), operations.MAX_PER_PAGE)
    query = select(LedgerEntry).where(
        LedgerEntry.workshop_id == workshop_id, LedgerEntry.corrects_id.is_(None)
    )
    if kind is not None:
        query = query.where(LedgerEntry.kind == kind)
    if day is not None:
        query = query.where(LedgerEntry.business_date == day)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    roots = list(
        db.session.scalars(
            query.order_by(LedgerEntry.occurred_at.desc(), LedgerEntry.seq.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    chains: dict[int, list[LedgerEntry]] = {r.id: [] for r in roots}
    tip = {r.id: r.id for r in roots}  # the latest entry of each chain → its root
    frontier = list(tip)
    while frontier:
        found = list(
            db.session.scalars(
                select(LedgerEntry)
                .where(LedgerEntry.corrects_id.in_(frontier))
                .order_by(LedgerEntry.seq)
            )
        )
        frontier = []
        for entry in found:
            root = tip.pop(entry.corrects_id, None)
            if root is None:
                continue
            chains[root].append(entry)
            tip[entry.id] = root
            frontier.append(entry.id)
    views = _views(roots + [e for chain in chains.values() for e in chain])
    items = []
    for root in roots:
        view = views[root.id]
        view.corrections = [views[e.id] for e in chains[root.id]]
        items.append(view)
    return Page(items, total, page, per_page)


# -- copy from last time -------------------------------------------------------------------


def _template(kind: LedgerKind, payload: dict, workshop_id: int) -> dict:
    """The request fields worth repeating, from an entry's (corrected) payload."""
    if kind is K.MORNING_CHECK:
        on_duty = {s.id for s in checklist.staff_on_duty(workshop_id, local_today())}
        return {
            "checks": [
                {
                    "staff_id": c["staff_id"],
                    "temperature": c.get("temperature"),
                    "symptoms": c.get("symptoms", False),
                    "hand_wounds": c.get("hand_wounds", False),
                    "fit_for_work": c.get("fit_for_work", True),
                }
                for c in payload.get("checks") or []
                if c.get("staff_id") in on_duty
            ]
        }
    keep = {
        K.RAW_ACCEPTANCE: {
            "supplier_id": "supplier_id",
            "material": "material_name",
            "is_additive": "is_additive",
            "specification": "specification",
            "quantity": "quantity",
            "unit": "unit",
            "shelf_life_days": "shelf_life_days",
            "licence_checked": "supplier_licence_checked",
            "certificate_checked": "certificate_checked",
            "sensory_ok": "sensory_ok",
        },
        K.PRODUCTION: {"batch_no": "batch_no", "process": "process", "unit": "unit"},
        K.ADDITIVE_USE: {
            "additive": "additive",
            "amount": "amount",
            "unit": "unit",
            "purpose": "purpose",
        },
        K.CLEANING: {
            "what": "what",
            "how": "how",
            "disinfectant": "disinfectant",
            "by_staff_id": "by_staff_id",
        },
        K.OUTGOING_INSPECTION: {"items": "items", "result": "result"},
        K.SALE: {"buyer_id": "buyer_id", "inspection_cert_no": "inspection_cert_no"},
    }[kind]
    template = {
        field_name: payload[key] for key, field_name in keep.items() if payload.get(key) is not None
    }
    if kind is K.SALE:
        template["items"] = [
            {"batch_no": i["batch_no"], "quantity": i["quantity"]}
            for i in payload.get("items") or []
        ]
    return plain(template)


@dataclass
class Template:
    """The last entry of a kind, as a starting point for today's."""

    kind: LedgerKind
    entry_id: int
    occurred_at: datetime
    business_date: date
    template: dict


def last_template(workshop_id: int, user: User, kind: LedgerKind) -> Template:
    """ "Copy from last time": the last entry of *kind* (as corrected) as a template."""
    require_reader(user, workshop_id)
    last = db.session.scalar(
        select(LedgerEntry)
        .where(
            LedgerEntry.workshop_id == workshop_id,
            LedgerEntry.kind == kind,
            LedgerEntry.corrects_id.is_(None),
        )
        .order_by(LedgerEntry.occurred_at.desc(), LedgerEntry.seq.desc())
        .limit(1)
    )
    if last is None:
        raise NotFound(_("还没有这类记录可以复制。"), slug="no_previous_entry")
    latest = last
    while (later := _latest_correction(latest)) is not None:
        latest = later
    return Template(
        kind,
        latest.id,
        last.occurred_at,
        last.business_date,
        _template(kind, latest.payload, workshop_id),
    )


# -- today ---------------------------------------------------------------------------------


def today_for(workshop_id: int, user: User, day: date | None = None) -> checklist.Checklist:
    """The checklist of a local day (today by default) for the workshop's people."""
    require_reader(user, workshop_id)
    today = local_today()
    day = day or today
    if day > today:
        raise ValidationError(
            _("日期不能晚于今天。"), slug="date_in_future", errors={"date": ["after today"]}
        )
    return checklist.today(workshop_id, day)
