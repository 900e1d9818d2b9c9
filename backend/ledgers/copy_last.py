"""Copy from last time: the last entry of a kind, as corrected, as a starting point for today's.

Only the request fields worth repeating are kept (a morning check keeps the people on duty
today).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import select

from backend.accounts.models import User
from backend.accounts.permissions import require_reader
from backend.core.canonical import plain
from backend.core.errors import NotFound
from backend.core.time import local_today
from backend.extensions import db
from backend.ledgers import checklist
from backend.ledgers.corrections import latest_correction
from backend.ledgers.models import LedgerEntry, LedgerKind

K = LedgerKind


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
    while (later := latest_correction(latest)) is not None:
        latest = later
    return Template(
        kind,
        latest.id,
        last.occurred_at,
        last.business_date,
        _template(kind, latest.payload, workshop_id),
    )
