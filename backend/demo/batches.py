"""The demo's batches: one every three days per zone workshop, from the latest lots received,
through their states; a held and a recalled batch."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from backend.accounts.models import User
from backend.batches.models import AdditiveUse, Batch, BatchInput, BatchState
from backend.batches.states import change_state
from backend.demo import facts
from backend.demo.builder import Builder, at
from backend.extensions import db
from backend.ledgers import entries as ledger_payloads
from backend.ledgers.models import Buyer, LedgerKind
from backend.registry.models import Workshop
from backend.rules import additives


class BatchesSeed(Builder):
    """Batches, their inputs and additives, and their states."""

    def production(self, key: str, workshop: Workshop, owner: User) -> None:
        """Sixty days of deliveries, batches, tests, codes, sales and daily checks."""
        buyers = [
            Buyer(workshop_id=workshop.id, name=n, address=a, contact_name=c, contact_phone=p)
            for n, a, c, p in facts.BUYERS
        ]
        db.session.add_all(buyers)
        db.session.flush()
        lots = self.deliveries(workshop, owner)
        products = workshop.products
        produced = []
        day, n = self.start + timedelta(days=self.rng.randrange(3)), 0
        while day <= self.today:
            product = products[n % len(products)]
            produced.append(self.batch(key, workshop, owner, product, day, lots, n))
            n += 1
            day += timedelta(days=3)
        self.trouble(key, produced)
        for batch in produced:
            self.tests(batch)
        for batch in produced:
            if batch.state in (BatchState.RELEASED, BatchState.HELD, BatchState.RECALLED):
                self.issue_codes(batch, owner)
                self.ship(workshop, batch, buyers)
        self.daily_checks(workshop)

    def batch(self, key, workshop, owner, product, day, lots, n) -> Batch:
        """One batch through its states, using the latest lots received before it."""
        batch = Batch(
            batch_no=f"{key.upper()}-{day:%Y%m%d}-{n % 9 + 1:02d}",
            workshop_id=workshop.id,
            product_id=product.id,
            produced_on=day,
            expires_on=day + timedelta(days=product.shelf_life_days)
            if product.shelf_life_days
            else None,
            planned_quantity=Decimal(self.rng.choice([60, 80, 120, 200])),
            unit="瓶" if product.category_code == "huangjiu" else "件",
            process_notes=facts.PROCESS_NOTES.get(product.category_code, ""),
            created_by_id=owner.id,
        )
        db.session.add(batch)
        db.session.flush()
        self.inputs(batch, product, day, lots)
        db.session.flush()
        self.note(
            workshop,
            LedgerKind.PRODUCTION,
            at(day, 9),
            ledger_payloads.production_payload(batch, batch.process_notes, stage="opened"),
            batch=batch,
        )
        for use in batch.additive_uses:
            self.note(
                workshop,
                LedgerKind.ADDITIVE_USE,
                at(day, 9, 30),
                ledger_payloads.additive_payload(batch, use),
                batch=batch,
            )
        self.move_through_states(batch, workshop, owner, day)
        return batch

    def inputs(self, batch: Batch, product, day: date, lots: dict[str, list]) -> None:
        """The latest lots received on or before *day*, and the category's additive."""
        for name, *_ in facts.MATERIALS[product.category_code]:
            usable = [lot for lot in lots[name] if lot.purchased_on <= day]
            lot = usable[-1] if usable else lots[name][0]
            db.session.add(
                BatchInput(
                    batch_id=batch.id,
                    raw_lot_id=lot.id,
                    quantity=Decimal(self.rng.choice([5, 10, 20, 25])),
                    unit=lot.unit,
                )
            )
        additive = facts.ADDITIVES.get(product.category_code)
        if additive:
            name, purpose, amount, unit = additive
            additive_lot = next(
                (lot for lot in reversed(lots.get(name, [])) if lot.purchased_on <= day), None
            )
            db.session.add(
                AdditiveUse(
                    batch_id=batch.id,
                    raw_lot_id=additive_lot.id if additive_lot else None,
                    additive_name=name,
                    additive_code=additives.resolve(name).code,
                    purpose=purpose,
                    amount=Decimal(amount),
                    unit=unit,
                )
            )

    def move_through_states(self, batch: Batch, workshop, owner: User, day: date) -> None:
        """In production on its day; pending release two days on, released (with the
        outgoing inspection) the day after."""
        change_state(batch, BatchState.IN_PRODUCTION, by_user_id=owner.id, at=at(day, 8))
        age = (self.today - day).days
        if age >= 2:
            change_state(batch, BatchState.PENDING_RELEASE, by_user_id=owner.id, at=at(day, 17))
        if age >= 3:
            release_day = day + timedelta(days=1)
            change_state(
                batch,
                BatchState.RELEASED,
                by_user_id=owner.id,
                reason="出厂检验合格",
                at=at(release_day, 8),
            )
            self.note(
                workshop,
                LedgerKind.OUTGOING_INSPECTION,
                at(release_day, 8),
                ledger_payloads.inspection_payload(
                    batch,
                    inspection_cert_no=f"CJ{batch.batch_no}",
                    items=["感官", "净含量", "标签"],
                    result="pass",
                ),
                batch=batch,
            )

    def trouble(self, key: str, produced: list[Batch]) -> None:
        """A held wine batch (positive screen) and a recalled tofu batch (lab fail)."""
        released = [b for b in produced if b.state is BatchState.RELEASED]
        if key == "lin" and released:
            batch = released[-1]
            change_state(
                batch,
                BatchState.HELD,
                by_user_id=self.vehicle_inspector.id,
                reason="快检车苯甲酸快检呈阳性，已暂停销售，样品送实验室复检。",
                at=at(self.today - timedelta(days=1), 10),
            )
        if key == "zheng" and len(released) > 4:
            batch = released[-4]
            change_state(
                batch,
                BatchState.RECALLED,
                by_user_id=self.regulator.id,
                reason="实验室检出苯甲酸（豆制品中不得使用），批次已召回。",
                at=at(batch.produced_on + timedelta(days=4), 15),
            )
