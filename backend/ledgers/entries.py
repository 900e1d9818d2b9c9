"""What every ledger write from a phone shares: its times, its photos, and the payload shapes.

Times. ``occurred_at`` is when it happened by the phone's clock; it may be at most
MAX_CLOCK_SKEW in the future and at most MAX_BACKDATE in the past (a phone that was offline
for a few days still catches up; a record "from last year" is not accepted). The optional
``recorded_at`` (when the phone saved it) follows the same bounds and may not precede
``occurred_at``; it is kept in the payload as ``phone_recorded_at``. The server's time of
receipt is the entry's ``recorded_at`` column. The entry's business date is the local
(Asia/Shanghai) day of ``occurred_at``.

Photos. A write names StoredFile ids; only files the same user uploaded are accepted. Their
SHA-256 goes into the payload (so the hash chain covers the photos) and each is linked by a
LedgerAttachment row.

Payload builders below are the one definition of each ledger's payload; the demo seed uses
them too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select

from backend.accounts.models import User
from backend.batches.models import AdditiveUse, Batch
from backend.core.errors import Conflict, NotFound, ValidationError
from backend.core.time import to_local, utcnow
from backend.extensions import db
from backend.files.models import StoredFile
from backend.ledgers.chain import append_entry
from backend.ledgers.models import (
    LedgerAttachment,
    LedgerEntry,
    LedgerKind,
    RawMaterialLot,
    Shipment,
)
from backend.registry.models import HealthCertificate, Staff, Workshop

MAX_CLOCK_SKEW = timedelta(minutes=5)
MAX_BACKDATE = timedelta(days=7)
MAX_DATE_AGE = timedelta(days=5 * 366)  # production dates of raw materials, at most ~5 years


@dataclass
class Stamp:
    """The checked envelope of one write."""

    occurred_at: datetime
    received_at: datetime
    phone_recorded_at: datetime | None = None
    photos: list[StoredFile] = field(default_factory=list)
    note: str = ""

    @property
    def business_date(self) -> date:
        """The local day the entry belongs to."""
        return to_local(self.occurred_at).date()


def check_time(value: datetime, name: str, now: datetime) -> datetime:
    """Refuse a phone time in the future (beyond the skew) or too far back."""
    if value > now + MAX_CLOCK_SKEW:
        raise ValidationError(
            _("时间不能晚于现在，请检查手机时间。"),
            slug="time_in_future",
            errors={name: [f"later than now (+{int(MAX_CLOCK_SKEW.total_seconds() // 60)} min)"]},
        )
    if value < now - MAX_BACKDATE:
        raise ValidationError(
            _("只能补记 %(days)s 天内的记录。", days=MAX_BACKDATE.days),
            slug="time_too_old",
            errors={name: [f"more than {MAX_BACKDATE.days} days ago"]},
        )
    return value


def check_day(value: date | None, name: str, *, today: date, oldest: date | None = None) -> None:
    """Refuse a calendar date after *today* or before *oldest* (default: ~5 years back)."""
    if value is None:
        return
    if value > today:
        raise ValidationError(
            _("日期不能晚于今天。"), slug="date_in_future", errors={name: ["after today"]}
        )
    if value < (oldest or today - MAX_DATE_AGE):
        raise ValidationError(
            _("日期太早，请核对。"), slug="date_too_old", errors={name: ["too far back"]}
        )


def workshop(workshop_id: int) -> Workshop:
    """The workshop (the caller's membership is already checked, so it exists)."""
    workshop = db.session.get(Workshop, workshop_id)
    if workshop is None:
        raise NotFound(_("作坊不存在。"), slug="workshop_not_found")
    return workshop


def workshop_number(
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


def photos_of(user: User, file_ids: list[int]) -> list[StoredFile]:
    """The files named, each uploaded by *user* (422 otherwise)."""
    ids = list(dict.fromkeys(file_ids))
    if not ids:
        return []
    files = {f.id: f for f in db.session.scalars(select(StoredFile).where(StoredFile.id.in_(ids)))}
    bad = [i for i in ids if i not in files or files[i].uploaded_by_id != user.id]
    if bad:
        raise ValidationError(
            _("只能附上您本人上传的照片。"),
            slug="photo_not_yours",
            errors={"photos": [f"file {i} is not one of your uploads" for i in bad]},
        )
    return [files[i] for i in ids]


def stamp(user: User, data: dict, *, now: datetime | None = None) -> Stamp:
    """Check the times and photos of a write."""
    now = now or utcnow()
    occurred = check_time(data["occurred_at"], "occurred_at", now)
    phone = data.get("recorded_at")
    if phone is not None:
        check_time(phone, "recorded_at", now)
        if phone < occurred - MAX_CLOCK_SKEW:
            raise ValidationError(
                _("记录时间不能早于发生时间。"),
                slug="recorded_before_occurred",
                errors={"recorded_at": ["before occurred_at"]},
            )
    return Stamp(
        occurred_at=occurred,
        received_at=now,
        phone_recorded_at=phone,
        photos=photos_of(user, data.get("photos") or []),
        note=data.get("note") or "",
    )


def photo_refs(files: list[StoredFile]) -> list[dict]:
    """What the payload (and so the hash) says about each photo."""
    return [{"file_id": f.id, "sha256": f.sha256} for f in files]


def write(
    kind: LedgerKind,
    workshop_id: int,
    user: User,
    st: Stamp,
    payload: dict,
    *,
    business_date: date | None = None,
    batch: Batch | None = None,
    raw_lot: RawMaterialLot | None = None,
    shipment: Shipment | None = None,
    corrects: LedgerEntry | None = None,
    photos: list[StoredFile] | None = None,
) -> LedgerEntry:
    """Append the entry with its note, phone time and photos, and link the photos."""
    files = st.photos if photos is None else photos
    payload = dict(payload)
    if st.note:
        payload["note"] = st.note
    if st.phone_recorded_at is not None:
        payload["phone_recorded_at"] = st.phone_recorded_at
    if files:
        payload["photos"] = photo_refs(files)
    entry = append_entry(
        workshop_id=workshop_id,
        kind=kind,
        payload=payload,
        occurred_at=st.occurred_at,
        business_date=business_date or st.business_date,
        recorded_by_id=user.id,
        recorded_at=st.received_at,
        batch=batch,
        raw_lot=raw_lot,
        shipment=shipment,
        corrects=corrects,
    )
    for f in files:
        db.session.add(LedgerAttachment(entry_id=entry.id, file_id=f.id))
    if files:
        db.session.flush()
    return entry


# -- payload shapes ------------------------------------------------------------------------


def valid_certificate(person: Staff, day: date) -> HealthCertificate | None:
    """The person's health certificate valid on *day* (the one lasting longest)."""
    valid = [c for c in person.health_certificates if c.valid_on(day)]
    return max(valid, key=lambda c: c.expires_on) if valid else None


def staff_check(
    person: Staff,
    certificate: HealthCertificate | None,
    *,
    temperature,
    symptoms: bool,
    hand_wounds: bool,
    fit_for_work: bool,
    note: str = "",
) -> dict:
    """One person's line of a morning check."""
    line = {
        "staff_id": person.id,
        "staff": person.name,
        "health_cert_no": certificate.cert_no if certificate else None,
        "health_cert_expires_on": certificate.expires_on if certificate else None,
        "temperature": Decimal(str(temperature)),
        "symptoms": symptoms,
        "hand_wounds": hand_wounds,
        "fit_for_work": fit_for_work,
    }
    if note:
        line["note"] = note
    return line


def acceptance_payload(lot: RawMaterialLot) -> dict:
    """进货查验 (FSL art. 50): the lot, its supplier and what was checked."""
    supplier = lot.supplier
    return {
        "lot_no": lot.lot_no,
        "material": lot.material_name,
        "is_additive": lot.is_additive,
        "specification": lot.specification,
        "quantity": lot.quantity,
        "unit": lot.unit,
        "supplier_id": supplier.id,
        "supplier": supplier.name,
        "supplier_licence_no": supplier.licence_no,
        "supplier_address": supplier.address,
        "supplier_contact": supplier.contact_phone,
        "supplier_batch_no": lot.supplier_batch_no,
        "produced_on": lot.produced_on,
        "shelf_life_days": lot.shelf_life_days,
        "expires_on": lot.expires_on,
        "purchased_on": lot.purchased_on,
        "licence_checked": lot.supplier_licence_checked,
        "certificate_checked": lot.certificate_checked,
        "sensory_ok": lot.sensory_ok,
        "result": lot.result,
    }


def production_payload(
    batch: Batch, process: str, *, stage: str, quantity=None, unit: str | None = None
) -> dict:
    """生产记录: the batch, the step (opened, progress, finished) and its raw inputs."""
    return {
        "batch_no": batch.batch_no,
        "product_id": batch.product_id,
        "product": batch.product.name,
        "specification": batch.product.specification,
        "stage": stage,
        "process": process,
        "quantity": quantity if quantity is not None else batch.planned_quantity,
        "unit": unit or batch.unit,
        "inputs": [
            {
                "raw_lot_id": i.raw_lot_id,
                "lot_no": i.raw_lot.lot_no,
                "material": i.raw_lot.material_name,
                "quantity": i.quantity,
                "unit": i.unit,
            }
            for i in batch.inputs
        ],
    }


def additive_payload(batch: Batch, use: AdditiveUse) -> dict:
    """添加剂使用: the additive, how much, what for, in which batch."""
    return {
        "batch_no": batch.batch_no,
        "product": batch.product.name,
        "additive_use_id": use.id,
        "additive": use.additive_name,
        "additive_code": use.additive_code,
        "purpose": use.purpose,
        "amount": use.amount,
        "unit": use.unit,
        "lot_no": use.raw_lot.lot_no if use.raw_lot is not None else None,
    }


def inspection_payload(
    batch: Batch, *, inspection_cert_no: str, items: list[str], result: str, quantity=None
) -> dict:
    """出厂检验 (FSL art. 51): product, specification, quantity, dates, certificate, result."""
    product = batch.product
    return {
        "batch_no": batch.batch_no,
        "product": product.name,
        "specification": product.specification,
        "quantity": quantity if quantity is not None else batch.planned_quantity,
        "unit": batch.unit,
        "produced_on": batch.produced_on,
        "shelf_life_days": product.shelf_life_days,
        "expires_on": batch.expires_on,
        "inspection_cert_no": inspection_cert_no,
        "items": list(items),
        "result": result,
    }


def sale_payload(shipment: Shipment) -> dict:
    """销售记录 (FSL art. 53): what went to whom, when, with which certificate."""
    buyer = shipment.buyer
    return {
        "document_no": shipment.document_no,
        "shipped_on": shipment.shipped_on,
        "buyer_id": buyer.id,
        "buyer": buyer.name,
        "buyer_address": buyer.address,
        "buyer_contact": buyer.contact_phone,
        "buyer_contact_name": buyer.contact_name,
        "inspection_cert_no": shipment.inspection_cert_no,
        "items": [
            {
                "batch_no": item.batch.batch_no,
                "product": item.batch.product.name,
                "specification": item.batch.product.specification,
                "produced_on": item.batch.produced_on,
                "expires_on": item.batch.expires_on,
                "quantity": item.quantity,
                "unit": item.unit,
            }
            for item in shipment.items
        ],
    }


def cleaning_payload(
    what: str, how: str, disinfectant: str, by: Staff | None, by_name: str
) -> dict:
    """清洗消毒: what was cleaned or disinfected, how, with what, by whom."""
    return {
        "what": what,
        "how": how,
        "disinfectant": disinfectant,
        "by_staff_id": by.id if by is not None else None,
        "by": by.name if by is not None else by_name,
    }
