"""Reading the ledgers: one entry as people read it, and a workshop's history of entries.

Entries are listed newest first, each original with the corrections that followed it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select

from backend.accounts.models import User
from backend.accounts.permissions import require_reader
from backend.batches.listing import MAX_PER_PAGE
from backend.batches.models import Batch
from backend.core.pages import Page
from backend.extensions import db
from backend.files.models import StoredFile
from backend.ledgers.models import (
    LedgerAttachment,
    LedgerEntry,
    LedgerKind,
    RawMaterialLot,
    Shipment,
)


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
    """Views of *found*, with their recorders, links and photos read in one query each."""
    users = {
        u.id: u.display_name
        for u in db.session.scalars(
            select(User).where(User.id.in_({e.recorded_by_id for e in found}))
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
    page, per_page = max(page, 1), min(max(per_page, 1), MAX_PER_PAGE)
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
