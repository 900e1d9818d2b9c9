"""Shared scenarios: ready-made data for tests of several features."""

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
from sqlalchemy import select

from backend.batches.models import BatchInput, BatchState
from backend.batches.states import change_state
from backend.cameras.models import Camera, CameraArea
from backend.codes.models import UnitCode
from backend.codes.services import issue_codes
from backend.inspections.models import Inspection, InspectionOutcome
from backend.ledgers.models import RawMaterialLot
from backend.registry.models import ProductCategory
from backend.rules import standards
from backend.samples.models import Sample, TaskSource, TestKind, TestResult
from tests.factories import BatchFactory, ProductFactory, SupplierFactory, WorkshopFactory


@pytest.fixture()
def wine(db):
    """A released batch of red yeast rice wine with a raw lot, a lab result and codes."""
    standards.load_categories()
    standards.load_standards()
    workshop = WorkshopFactory(name="半里林氏红曲酒坊", trademark=None)
    product = ProductFactory(
        workshop=workshop,
        category=db.session.get(ProductCategory, "huangjiu"),
        name="半里红曲酒",
        shelf_life_days=None,
        labelled_alcohol=15.0,
        gtin="06941234567010",
    )
    batch = BatchFactory(
        product=product, batch_no="LIN-20261120-01", produced_on=date(2026, 11, 20)
    )
    supplier = SupplierFactory(name="古田县红曲米厂")
    lot = RawMaterialLot(
        workshop_id=workshop.id,
        supplier_id=supplier.id,
        lot_no="YL-1",
        material_name="古田红曲",
        quantity=Decimal(50),
        unit="kg",
        purchased_on=date(2026, 11, 15),
        supplier_licence_checked=True,
        certificate_checked=True,
    )
    db.session.add(lot)
    db.session.flush()
    db.session.add(BatchInput(batch_id=batch.id, raw_lot_id=lot.id, quantity=Decimal(5), unit="kg"))
    sample = Sample(
        sample_no="CJ-1",
        kind=TestKind.LAB,
        workshop_id=workshop.id,
        product_id=product.id,
        batch_id=batch.id,
        task_source=TaskSource.DISTRICT,
        sampled_at=datetime(2026, 11, 21, 2, tzinfo=UTC),
        testing_agency="半星红酒厂实验室",
    )
    db.session.add(sample)
    db.session.flush()
    limit = standards.limit_for("huangjiu", "lead")
    db.session.add(
        TestResult(
            sample_id=sample.id,
            standard_limit_id=limit.id,
            item_code="lead",
            value=Decimal("0.05"),
            unit="mg/kg",
            verdict=standards.judge(limit, kind=TestKind.LAB, value="0.05"),
            tested_at=datetime(2026, 11, 22, 7, tzinfo=UTC),
        )
    )
    db.session.add(
        Inspection(
            workshop_id=workshop.id,
            inspected_on=date(2026, 9, 1),
            outcome=InspectionOutcome.SATISFACTORY,
        )
    )
    db.session.add(
        Camera(
            workshop_id=workshop.id,
            area=CameraArea.PRODUCTION,
            name="生产加工区",
            stream_name="lin-production",
            stream_key="k",
            live_from=time(6),
            live_until=time(20),
        )
    )
    for state in (BatchState.IN_PRODUCTION, BatchState.PENDING_RELEASE, BatchState.RELEASED):
        change_state(batch, state)
    issue_codes(batch, 3)
    db.session.flush()
    codes = db.session.scalars(
        select(UnitCode.code).where(UnitCode.batch_id == batch.id).order_by(UnitCode.serial)
    ).all()
    return batch, codes
