"""A tofu workshop ready for a working day: owner and staff accounts, people with health
certificates, an accepted lot of black beans, and a second workshop next door."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from backend.accounts.models import MemberRole
from backend.accounts.tokens import issue_token
from backend.core.time import SHANGHAI, local_today
from backend.ledgers.models import RawMaterialLot
from backend.registry.models import HealthCertificate, ProductCategory, Staff, Workshop
from backend.rules import standards
from tests.factories import (
    ProductFactory,
    SupplierFactory,
    UserFactory,
    WorkshopFactory,
    WorkshopMembershipFactory,
)


def bearer(user) -> dict:
    """Authorization header for *user*."""
    return {"Authorization": f"Bearer {issue_token(user)}"}


def now_iso(**delta) -> str:
    """Now (plus *delta*) in Asia/Shanghai, ISO 8601 with offset."""
    return (datetime.now(SHANGHAI) + timedelta(**delta)).replace(microsecond=0).isoformat()


@dataclass
class Shop:
    """Everything a test of an operator's day needs."""

    workshop: Workshop
    product: object
    wine: object  # a product of a category the certificate does not allow
    owner: object
    staff_user: object
    owner_headers: dict
    staff_headers: dict
    lin: Staff  # the owner as a person on duty
    wang: Staff  # a worker on duty
    chen: Staff  # a worker whose certificate expired
    supplier: object
    beans: RawMaterialLot
    other: Workshop
    other_headers: dict
    regulator_headers: dict
    inspector_headers: dict


def person(db, workshop, name, expires_on, role="worker"):
    """A person with a health certificate expiring on *expires_on* (None: no certificate)."""
    staff = Staff(workshop_id=workshop.id, name=name, role=role)
    db.session.add(staff)
    db.session.flush()
    if expires_on is not None:
        db.session.add(
            HealthCertificate(
                staff_id=staff.id,
                cert_no=f"JKZ-{name}",
                issued_by="长泰区疾病预防控制中心",
                issued_on=expires_on - timedelta(days=365),
                expires_on=expires_on,
            )
        )
        db.session.flush()
    return staff


def raw_lot(
    db, workshop, supplier, lot_no, *, quantity=100, days_ago=1, **fields
) -> RawMaterialLot:
    """An accepted lot received *days_ago*."""
    today = local_today()
    lot = RawMaterialLot(
        workshop_id=workshop.id,
        supplier_id=supplier.id,
        lot_no=lot_no,
        material_name=fields.pop("material_name", "黑豆"),
        quantity=Decimal(quantity),
        unit="kg",
        purchased_on=today - timedelta(days=days_ago),
        produced_on=today - timedelta(days=days_ago + 10),
        expires_on=fields.pop("expires_on", today + timedelta(days=300)),
        supplier_licence_checked=True,
        certificate_checked=True,
        **fields,
    )
    db.session.add(lot)
    db.session.flush()
    return lot


@pytest.fixture()
def shop(db) -> Shop:
    """A tofu workshop allowed to make bean products, with its people and a lot of beans."""
    standards.load_categories()
    standards.load_standards()
    bean = db.session.get(ProductCategory, "bean_products")
    workshop = WorkshopFactory(name="坊洋黑豆腐坊", product_types=[bean])
    product = ProductFactory(
        workshop=workshop, category=bean, name="坊洋黑豆腐", specification="500g", shelf_life_days=3
    )
    wine = ProductFactory(
        workshop=workshop, category=db.session.get(ProductCategory, "huangjiu"), name="红曲酒"
    )
    owner, staff_user = UserFactory(display_name="林老板"), UserFactory(display_name="王师傅")
    WorkshopMembershipFactory(user=owner, workshop_id=workshop.id, role=MemberRole.OWNER)
    WorkshopMembershipFactory(user=staff_user, workshop_id=workshop.id, role=MemberRole.STAFF)
    today = local_today()
    lin = person(db, workshop, "林德福", today + timedelta(days=200), role="owner")
    wang = person(db, workshop, "王秀英", today + timedelta(days=100))
    chen = person(db, workshop, "陈阿明", today - timedelta(days=3))
    supplier = SupplierFactory(name="长泰黑豆合作社")
    beans = raw_lot(db, workshop, supplier, "YL-BEANS")
    other = WorkshopFactory(name="隔壁作坊", product_types=[bean])
    neighbour = UserFactory(display_name="隔壁老板")
    WorkshopMembershipFactory(user=neighbour, workshop_id=other.id, role=MemberRole.OWNER)
    from tests.factories import InspectorFactory, RegulatorFactory

    return Shop(
        workshop=workshop,
        product=product,
        wine=wine,
        owner=owner,
        staff_user=staff_user,
        owner_headers=bearer(owner),
        staff_headers=bearer(staff_user),
        lin=lin,
        wang=wang,
        chen=chen,
        supplier=supplier,
        beans=beans,
        other=other,
        other_headers=bearer(neighbour),
        regulator_headers=bearer(RegulatorFactory()),
        inspector_headers=bearer(InspectorFactory()),
    )
