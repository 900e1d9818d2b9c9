"""The demo's ledgers: raw material acceptance, sales, morning checks and cleaning, queued as
they happen and written to each workshop's hash chain in time order at the end."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from backend.accounts.models import User
from backend.batches.models import Batch
from backend.demo import facts
from backend.demo.builder import Builder, at
from backend.extensions import db
from backend.ledgers import entries as ledger_payloads
from backend.ledgers.chain import append_entry
from backend.ledgers.models import Buyer, LedgerKind, RawMaterialLot, Shipment, ShipmentItem
from backend.registry.models import Workshop


class LedgersSeed(Builder):
    """Deliveries, sales and daily checks, and the chains they are written to."""

    def deliveries(self, workshop: Workshop, owner: User) -> dict[str, list[RawMaterialLot]]:
        """Raw material lots received every week, with acceptance (进货查验)."""
        lots: dict[str, list[RawMaterialLot]] = {}
        materials = {
            m for c in [p.category_code for p in workshop.products] for m in facts.MATERIALS[c]
        }
        for name, supplier_key, unit, shelf, additive in sorted(materials):
            day, serial = self.start - timedelta(days=7), 0
            while day <= self.today:
                serial += 1
                supplier = self.suppliers[supplier_key]
                produced = day - timedelta(days=self.rng.randrange(1, 20 if shelf > 30 else 2))
                lot = RawMaterialLot(
                    workshop_id=workshop.id,
                    supplier_id=supplier.id,
                    lot_no=f"YL{day:%Y%m%d}-{supplier_key.upper()}{serial:02d}",
                    material_name=name,
                    is_additive=additive,
                    specification="25kg/袋" if unit == "kg" and shelf > 30 else "散装",
                    quantity=Decimal(self.rng.choice([50, 100, 150, 200])),
                    unit=unit,
                    supplier_batch_no=f"{produced:%Y%m%d}{self.rng.randrange(1, 9)}",
                    produced_on=produced,
                    shelf_life_days=shelf,
                    expires_on=produced + timedelta(days=shelf),
                    purchased_on=day,
                    supplier_licence_checked=True,
                    certificate_checked=True,
                    sensory_ok=True,
                    accepted_by_id=owner.id,
                )
                db.session.add(lot)
                db.session.flush()
                lots.setdefault(name, []).append(lot)
                self.note(
                    workshop,
                    LedgerKind.RAW_ACCEPTANCE,
                    at(day, 7, 30),
                    ledger_payloads.acceptance_payload(lot),
                    raw_lot=lot,
                )
                day += timedelta(days=7 if shelf > 30 else 3)
        return lots

    def ship(self, workshop: Workshop, batch: Batch, buyers: list[Buyer]) -> None:
        """Sales records (销售记录) for a released batch."""
        if batch.released_at is None:
            return
        quantity = batch.planned_quantity or Decimal(50)
        for i, buyer in enumerate(self.rng.sample(buyers, 2)):
            day = batch.produced_on + timedelta(days=1 + i)
            if day > self.today:
                continue
            shipment = Shipment(
                workshop_id=workshop.id,
                buyer_id=buyer.id,
                document_no=f"XS-{batch.batch_no}-{i + 1}",
                shipped_on=day,
                inspection_cert_no=f"CJ{batch.batch_no}",
            )
            db.session.add(shipment)
            db.session.flush()
            part = (quantity / 2).quantize(Decimal(1))
            db.session.add(
                ShipmentItem(
                    shipment_id=shipment.id, batch_id=batch.id, quantity=part, unit=batch.unit
                )
            )
            db.session.flush()
            self.note(
                workshop,
                LedgerKind.SALE,
                at(day, 14),
                ledger_payloads.sale_payload(shipment),
                batch=batch,
                shipment=shipment,
            )

    def daily_checks(self, workshop: Workshop) -> None:
        """Morning health checks and cleaning records, with a few days missed."""
        staff = self.staff[workshop.id]
        day = self.start
        while day <= self.today:
            if self.rng.random() > 0.05:
                self.note(
                    workshop,
                    LedgerKind.MORNING_CHECK,
                    at(day, 6, 50),
                    {
                        "checks": [
                            ledger_payloads.staff_check(
                                s,
                                ledger_payloads.valid_certificate(s, day),
                                temperature=round(self.rng.uniform(36.1, 36.9), 1),
                                symptoms=False,
                                hand_wounds=False,
                                fit_for_work=ledger_payloads.valid_certificate(s, day) is not None,
                            )
                            for s in staff
                        ],
                    },
                )
            if self.rng.random() > 0.1:
                self.note(
                    workshop,
                    LedgerKind.CLEANING,
                    at(day, 18),
                    ledger_payloads.cleaning_payload(
                        "生产车间地面、操作台、容器工具",
                        "清水冲洗后84消毒液擦拭",
                        "84消毒液（1:200）",
                        self.rng.choice(staff),
                        "",
                    ),
                )
            day += timedelta(days=1)

    def write_ledgers(self) -> None:
        """Append each workshop's queued entries to its hash chain, in time order."""
        for workshop_id, entries in self.ledger.items():
            owner = next(u for _, w, u in self.zone_workshops if w.id == workshop_id)
            for entry in sorted(entries, key=lambda e: e["occurred_at"]):
                occurred = entry.pop("occurred_at")
                append_entry(
                    workshop_id=workshop_id,
                    occurred_at=occurred,
                    business_date=occurred.date(),
                    recorded_by_id=owner.id,
                    recorded_at=occurred + timedelta(minutes=self.rng.randrange(1, 20)),
                    **entry,
                )
