"""Corrections: a ledger entry is never changed; a correction is a new entry that names it.

A correction is a new entry of the same kind naming the one it corrects, with a reason and
the corrected fields merged over the corrected payload. Staff may correct their own
entries; correcting someone else's is for the workshop's owner. Only the latest version can
be corrected (history stays a line). A corrected raw acceptance also corrects the lot's
descriptive fields, a corrected additive use the additive row, so what consumers see
follows; other rows a record created (shipments, batch inputs) are not changed by a
correction.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import gettext as _
from marshmallow import ValidationError as SchemaError
from sqlalchemy import select

from backend.accounts.models import User
from backend.accounts.permissions import is_owner, require_operator
from backend.batches import operations
from backend.batches.models import AdditiveUse, Batch
from backend.core.errors import Conflict, Forbidden, NotFound, ValidationError
from backend.core.time import local_today, utcnow
from backend.extensions import db
from backend.files.models import StoredFile
from backend.ledgers import entries
from backend.ledgers.cleaning import staff_member
from backend.ledgers.models import LedgerEntry, LedgerKind, RawMaterialLot, Shipment
from backend.ledgers.morning_check import check_lines
from backend.ledgers.raw_acceptance import check_lot_dates
from backend.ledgers.schemas import CHANGE_SCHEMAS

K = LedgerKind


def latest_correction(entry: LedgerEntry) -> LedgerEntry | None:
    """The first correction of *entry*, if it was corrected."""
    return db.session.scalar(
        select(LedgerEntry).where(LedgerEntry.corrects_id == entry.id).order_by(LedgerEntry.seq)
    )


def _apply_to_lot(entry: LedgerEntry, changes: dict, day: date) -> dict:
    """Correct the raw lot's descriptive fields too, so what consumers see follows."""
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
    check_lot_dates(merged, local_today())
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
    payload = entries.acceptance_payload(lot)
    return {k: v for k, v in payload.items() if k not in ("result",)}


def _apply_to_additive(entry: LedgerEntry, changes: dict) -> dict:
    """Correct the additive-use row too, so what consumers see follows."""
    use = db.session.get(AdditiveUse, (entry.payload or {}).get("additive_use_id") or 0)
    if use is not None and use.batch_id == entry.batch_id:
        for key in ("amount", "unit", "purpose"):
            if key in changes:
                setattr(use, key, changes[key])
        db.session.flush()
    return {k: v for k, v in changes.items() if k != "note"}


def _corrected_fields(entry: LedgerEntry, changes: dict, day: date) -> dict:
    """The payload fields the correction changes (and the rows it corrects with them)."""
    kind = entry.kind
    if kind is K.MORNING_CHECK:
        if "checks" not in changes:
            return {}
        return {"checks": check_lines(entry.workshop_id, changes["checks"], day)}
    if kind is K.RAW_ACCEPTANCE:
        return _apply_to_lot(entry, changes, day)
    if kind is K.ADDITIVE_USE:
        return _apply_to_additive(entry, changes)
    if kind is K.CLEANING and "by_staff_id" in changes:
        person = staff_member(entry.workshop_id, changes["by_staff_id"], "changes")
        rest = {k: v for k, v in changes.items() if k not in ("by_staff_id", "note")}
        return {**rest, "by_staff_id": person.id, "by": person.name}
    if kind is K.PRODUCTION and "process" in changes and entry.payload.get("stage") == "opened":
        batch = db.session.get(Batch, entry.batch_id)
        batch.process_notes = changes["process"]
    return {k: v for k, v in changes.items() if k != "note"}


def _correctable(workshop_id: int, entry_id: int, user: User) -> LedgerEntry:
    """The entry *user* may correct: the workshop's, theirs (or they own the workshop), and
    not corrected yet."""
    require_operator(user, workshop_id)
    original = db.session.get(LedgerEntry, entry_id)
    if original is None or original.workshop_id != workshop_id:
        raise NotFound(_("台账记录不存在。"), slug="entry_not_found")
    if original.recorded_by_id != user.id and not is_owner(user, original.workshop_id):
        raise Forbidden(_("只有作坊负责人可以更正他人填写的记录。"), slug="owner_only")
    later = latest_correction(original)
    if later is not None:
        raise Conflict(
            _("这条记录已被更正，请更正最新的一条（#%(seq)s）。", seq=later.seq),
            slug="already_corrected",
            errors={"latest_id": later.id},
        )
    return original


def _changes(original: LedgerEntry, given: dict) -> dict:
    """The corrected fields, checked by the kind's schema (at least one)."""
    try:
        changes = CHANGE_SCHEMAS[original.kind]().load(given)
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
    return changes


def _stamp(original: LedgerEntry, user: User, data: dict, note: str) -> tuple[entries.Stamp, date]:
    """The correction's envelope and business day: its own time when given, else the
    corrected entry's own time, however long ago."""
    if data.get("occurred_at") is not None:
        st = entries.stamp(user, {**data, "note": note})
        return st, st.business_date
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
    return st, original.business_date


def _payload(original: LedgerEntry, corrected: dict, changes: dict, reason: str) -> dict:
    """The corrected payload merged over the original one, with what the correction did."""
    payload = {
        k: v
        for k, v in (original.payload or {}).items()
        if k not in ("note", "phone_recorded_at", "photos", "correction")
    }
    payload.update(corrected)
    payload["correction"] = {
        "reason": reason,
        "corrects_seq": original.seq,
        "fields": sorted(changes),
    }
    return payload


def _photos(original: LedgerEntry, st: entries.Stamp) -> list[StoredFile]:
    """The correction's photos, then the original's photos it carries over."""
    carried = [p["file_id"] for p in (original.payload or {}).get("photos") or []]
    files = list(st.photos)
    if carried:
        known = {f.id for f in files}
        files += [
            f
            for f in db.session.scalars(select(StoredFile).where(StoredFile.id.in_(carried)))
            if f.id not in known
        ]
    return files


def _links(original: LedgerEntry) -> dict:
    """The batch, raw lot and shipment the original entry links."""
    return {
        "batch": db.session.get(Batch, original.batch_id) if original.batch_id else None,
        "raw_lot": db.session.get(RawMaterialLot, original.raw_lot_id)
        if original.raw_lot_id
        else None,
        "shipment": db.session.get(Shipment, original.shipment_id)
        if original.shipment_id
        else None,
    }


def correct_entry(workshop_id: int, entry_id: int, user: User, data: dict) -> LedgerEntry:
    """Append a correction of an entry: same kind, corrected fields, the reason."""
    original = _correctable(workshop_id, entry_id, user)
    changes = _changes(original, data["changes"])
    note = changes.get("note", (original.payload or {}).get("note", ""))
    st, day = _stamp(original, user, data, note)
    corrected = _corrected_fields(original, changes, day)
    return entries.write(
        original.kind,
        original.workshop_id,
        user,
        st,
        _payload(original, corrected, changes, data["reason"]),
        business_date=day,
        corrects=original,
        photos=_photos(original, st),
        **_links(original),
    )
