"""A small supply chain for the trace tests: 2 suppliers → 3 lots → 2 batches sharing a lot →
codes → shipments to buyers, plus an unrelated chain that no trace may reach."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from backend.batches.models import AdditiveUse, Batch, BatchInput, BatchState
from backend.batches.states import change_state
from backend.codes.services import issue_codes
from backend.inspections.models import Inspection, InspectionOutcome
from backend.ledgers.models import Buyer, RawMaterialLot, Shipment, ShipmentItem
from backend.registry.models import ProductCategory, Supplier
from backend.rules import standards
from backend.samples.models import Sample, TaskSource, TestKind, TestResult
from tests.factories import BatchFactory, ProductFactory, SupplierFactory, WorkshopFactory


@dataclass
class Chain:
    """The rows of the chain, by name."""

    soy: Supplier
    salt: Supplier
    other_supplier: Supplier
    bean_lot: RawMaterialLot  # from soy, into both batches
    bean_lot_2: RawMaterialLot  # from soy, into tofu_b only
    brine_lot: RawMaterialLot  # from salt, into tofu_a (as an additive)
    other_lot: RawMaterialLot
    tofu_a: Batch
    tofu_b: Batch
    other_batch: Batch
    shop: Buyer
    canteen: Buyer
    market: Buyer
    other_buyer: Buyer


def _lot(db, workshop, supplier, lot_no, name, day, qty="50"):
    lot = RawMaterialLot(
        workshop_id=workshop.id,
        supplier_id=supplier.id,
        lot_no=lot_no,
        material_name=name,
        quantity=Decimal(qty),
        unit="kg",
        purchased_on=day,
        supplier_licence_checked=True,
        certificate_checked=True,
    )
    db.session.add(lot)
    db.session.flush()
    return lot


def _ship(db, workshop, buyer, document_no, day, *batches):
    shipment = Shipment(
        workshop_id=workshop.id, buyer_id=buyer.id, document_no=document_no, shipped_on=day
    )
    db.session.add(shipment)
    db.session.flush()
    for batch, qty in batches:
        db.session.add(
            ShipmentItem(
                shipment_id=shipment.id, batch_id=batch.id, quantity=Decimal(qty), unit="盒"
            )
        )
    db.session.flush()
    return shipment


def _release(batch):
    for state in (BatchState.IN_PRODUCTION, BatchState.PENDING_RELEASE, BatchState.RELEASED):
        change_state(batch, state)


@pytest.fixture(name="chain")
def chain_fixture(db) -> Chain:
    """The multi-step fixture (see the module's docstring)."""
    standards.load_categories()
    standards.load_standards()
    workshop = WorkshopFactory(name="坊洋黑豆腐作坊")
    other_workshop = WorkshopFactory(name="半里糕点作坊")
    tofu = ProductFactory(
        workshop=workshop,
        category=db.session.get(ProductCategory, "bean_products"),
        name="坊洋黑豆腐",
        gtin="06941234567027",
    )
    cake = ProductFactory(workshop=other_workshop, name="半里糕点", gtin=None)
    soy = SupplierFactory(name="长泰黑豆合作社")
    salt = SupplierFactory(name="漳州盐业公司")
    other_supplier = SupplierFactory(name="面粉厂")
    bean_lot = _lot(db, workshop, soy, "HD-1", "黑豆", date(2026, 11, 1))
    bean_lot_2 = _lot(db, workshop, soy, "HD-2", "黑豆", date(2026, 11, 3))
    brine_lot = _lot(db, workshop, salt, "LS-1", "盐卤", date(2026, 11, 2), qty="5")
    other_lot = _lot(db, other_workshop, other_supplier, "MF-1", "面粉", date(2026, 11, 1))
    tofu_a = BatchFactory(product=tofu, batch_no="FY-20261105-01", produced_on=date(2026, 11, 5))
    tofu_b = BatchFactory(product=tofu, batch_no="FY-20261106-01", produced_on=date(2026, 11, 6))
    other_batch = BatchFactory(
        product=cake, batch_no="GD-20261105-01", produced_on=date(2026, 11, 5)
    )
    db.session.add_all(
        [
            BatchInput(batch_id=tofu_a.id, raw_lot_id=bean_lot.id, quantity=Decimal(20), unit="kg"),
            BatchInput(batch_id=tofu_b.id, raw_lot_id=bean_lot.id, quantity=Decimal(10), unit="kg"),
            BatchInput(
                batch_id=tofu_b.id, raw_lot_id=bean_lot_2.id, quantity=Decimal(15), unit="kg"
            ),
            AdditiveUse(
                batch_id=tofu_a.id,
                raw_lot_id=brine_lot.id,
                additive_name="盐卤",
                purpose="凝固剂",
                amount=Decimal("0.5"),
                unit="kg",
            ),
            BatchInput(
                batch_id=other_batch.id, raw_lot_id=other_lot.id, quantity=Decimal(5), unit="kg"
            ),
        ]
    )
    db.session.flush()
    for batch in (tofu_a, tofu_b, other_batch):
        _release(batch)
    issue_codes(tofu_a, 3)
    issue_codes(tofu_b, 2)
    issue_codes(other_batch, 1)
    shop = Buyer(workshop_id=workshop.id, name="岩溪镇便民超市", contact_phone="0596-1234567")
    canteen = Buyer(workshop_id=workshop.id, name="长泰一中食堂")
    market = Buyer(workshop_id=workshop.id, name="武安农贸市场")
    other_buyer = Buyer(workshop_id=other_workshop.id, name="糕点批发部")
    db.session.add_all([shop, canteen, market, other_buyer])
    db.session.flush()
    _ship(db, workshop, shop, "XS-001", date(2026, 11, 6), (tofu_a, 40))
    _ship(db, workshop, canteen, "XS-002", date(2026, 11, 7), (tofu_a, 20), (tofu_b, 30))
    _ship(db, workshop, market, "XS-003", date(2026, 11, 8), (tofu_b, 25))
    _ship(db, other_workshop, other_buyer, "XS-001", date(2026, 11, 6), (other_batch, 10))
    sample = Sample(
        sample_no="CJ-TOFU-1",
        kind=TestKind.LAB,
        workshop_id=workshop.id,
        product_id=tofu.id,
        batch_id=tofu_a.id,
        task_source=TaskSource.DISTRICT,
        sampled_at=datetime(2026, 11, 7, 2, tzinfo=UTC),
        testing_agency="半星红酒厂实验室",
    )
    db.session.add(sample)
    db.session.flush()
    limit = standards.limit_for("bean_products", "aluminium")
    db.session.add(
        TestResult(
            sample_id=sample.id,
            standard_limit_id=limit.id,
            item_code=limit.item_code,
            value=Decimal("12"),
            unit=limit.unit,
            verdict=standards.judge(limit, kind=TestKind.LAB, value="12"),
            tested_at=datetime(2026, 11, 8, 7, tzinfo=UTC),
        )
    )
    db.session.add(
        Inspection(
            workshop_id=workshop.id,
            inspected_on=date(2026, 10, 1),
            outcome=InspectionOutcome.SATISFACTORY,
        )
    )
    db.session.flush()
    return Chain(
        soy,
        salt,
        other_supplier,
        bean_lot,
        bean_lot_2,
        brine_lot,
        other_lot,
        tofu_a,
        tofu_b,
        other_batch,
        shop,
        canteen,
        market,
        other_buyer,
    )
