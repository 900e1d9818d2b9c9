"""The daily ledgers from phones: one recorder per kind.

Every write goes through :func:`backend.ledgers.entries.write` and so through the hash
chain of :mod:`backend.ledgers.chain`; nothing updates or deletes an entry.

- morning_check 晨检: :mod:`backend.ledgers.morning_check`.
- raw_acceptance 进货查验: :mod:`backend.ledgers.raw_acceptance` (creates the raw lot).
- production, additive_use, outgoing_inspection: about a batch
  (:mod:`backend.batches.operations`).
- cleaning 清洗消毒: :mod:`backend.ledgers.cleaning`.
- sale 销售记录: :mod:`backend.ledgers.sales` (creates the buyer, shipment and items).

Accepting raw materials and selling are trading: refused while the workshop's registration
has expired or it is suspended or cancelled (:mod:`backend.registry.standing`). Morning
checks, cleaning, refused deliveries and corrections (:mod:`backend.ledgers.corrections`)
stay open, as the law still asks for them.
"""

from __future__ import annotations

from backend.accounts.models import User
from backend.batches import operations
from backend.ledgers.cleaning import record_cleaning
from backend.ledgers.models import LedgerEntry, LedgerKind
from backend.ledgers.morning_check import record_morning_check
from backend.ledgers.raw_acceptance import record_raw_acceptance
from backend.ledgers.sales import record_sale

K = LedgerKind

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
