"""factory_boy factories: valid rows for tests, flushed into the test's session.

Each factory fills every required column with a plausible Banli value; override what a test
is about and leave the rest. Rows are flushed (never committed), so the per-test rollback in
``tests/conftest.py`` removes them.
"""

from __future__ import annotations

from datetime import date, timedelta

import factory
from factory.alchemy import SQLAlchemyModelFactory

from backend.core.time import local_today
from backend.extensions import db
from backend.models import (
    Batch,
    Brand,
    CodeIssuance,
    CodeKind,
    MemberRole,
    PrintJob,
    PrintJobStatus,
    Product,
    ProductCategory,
    Role,
    StoredFile,
    Supplier,
    User,
    Workshop,
    WorkshopMembership,
    WorkshopStatus,
    Zone,
)


class BaseFactory(SQLAlchemyModelFactory):
    """Flush into whatever ``db.session`` is at creation time (the test's session)."""

    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"


class ZoneFactory(BaseFactory):
    """A centralized processing zone."""

    class Meta:
        model = Zone

    code = factory.Sequence(lambda n: f"zone-{n}")
    name_zh = factory.Sequence(lambda n: f"半里食品小作坊集中加工区{n}")
    name_en = factory.Sequence(lambda n: f"Banli Processing Zone {n}")
    township = "半里乡"
    district = "长泰区"
    city = "漳州市"
    province = "福建省"


class BrandFactory(BaseFactory):
    """A zone brand."""

    class Meta:
        model = Brand

    zone = factory.SubFactory(ZoneFactory)
    code = factory.Sequence(lambda n: f"brand-{n}")
    name_zh = factory.Sequence(lambda n: f"半里红{n}")
    name_en = factory.Sequence(lambda n: f"Banli Red {n}")


class ProductCategoryFactory(BaseFactory):
    """A food category."""

    class Meta:
        model = ProductCategory

    code = factory.Sequence(lambda n: f"cat-{n}")
    name_zh = factory.Sequence(lambda n: f"酒类{n}")
    name_en = factory.Sequence(lambda n: f"Wines {n}")


class WorkshopFactory(BaseFactory):
    """An active workshop in a zone, with a certificate valid for two more years (relative to
    today, so the registration gate never trips by the calendar)."""

    class Meta:
        model = Workshop

    registration_no = factory.Sequence(lambda n: f"JY-XZF-350625-{n:06d}")
    name = factory.Sequence(lambda n: f"半里第{n}号作坊")
    operator_name = "林德福"
    address = factory.Sequence(lambda n: f"半里乡加工区{n}号")
    township = "半里乡"
    district = "长泰区"
    zone = factory.SubFactory(ZoneFactory)
    status = WorkshopStatus.ACTIVE
    issuing_authority = "漳州市长泰区市场监督管理局"
    cert_issued_on = date(2024, 1, 1)
    # Today in Asia/Shanghai (the day the gate and the fixtures' normaliser go by).
    cert_valid_until = factory.LazyFunction(lambda: local_today() + timedelta(days=2 * 365))


class SupplierFactory(BaseFactory):
    """A raw material supplier."""

    class Meta:
        model = Supplier

    name = factory.Sequence(lambda n: f"长泰粮油供应站{n}")
    licence_no = factory.Sequence(lambda n: f"JY1350625{n:07d}")
    supplies = "糯米、红曲"


class ProductFactory(BaseFactory):
    """A product of a workshop."""

    class Meta:
        model = Product

    workshop = factory.SubFactory(WorkshopFactory)
    category = factory.SubFactory(ProductCategoryFactory)
    name = factory.Sequence(lambda n: f"半里红曲酒{n}")
    specification = "500ml"
    shelf_life_days = 365


class BatchFactory(BaseFactory):
    """A draft batch of a product, made by the product's workshop."""

    class Meta:
        model = Batch

    product = factory.SubFactory(ProductFactory)
    workshop = factory.SelfAttribute("product.workshop")
    batch_no = factory.Sequence(lambda n: f"B2024{n:06d}")
    produced_on = date(2024, 5, 1)


class CodeIssuanceFactory(BaseFactory):
    """A run of unit codes for a batch."""

    class Meta:
        model = CodeIssuance

    batch = factory.SubFactory(BatchFactory)
    kind = CodeKind.UNIT
    count = 10
    first_serial = 1


class UserFactory(BaseFactory):
    """An operator account."""

    class Meta:
        model = User

    role = Role.OPERATOR
    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Sequence(lambda n: f"用户{n}")


class RegulatorFactory(UserFactory):
    """A regulator of the district bureau (sees every workshop)."""

    role = Role.REGULATOR
    organisation = "漳州市长泰区市场监督管理局"


class InspectorFactory(UserFactory):
    """An inspector of the inspection alliance's laboratory."""

    role = Role.INSPECTOR


class WorkshopMembershipFactory(BaseFactory):
    """An operator bound to a workshop (staff unless told otherwise)."""

    class Meta:
        model = WorkshopMembership

    user = factory.SubFactory(UserFactory)
    workshop_id = factory.LazyAttribute(lambda _: WorkshopFactory().id)
    role = MemberRole.STAFF
    active = True


class StoredFileFactory(BaseFactory):
    """Metadata of a stored file (the bytes are the test's business)."""

    class Meta:
        model = StoredFile

    storage_key = factory.Sequence(lambda n: f"test/{n:06d}.pdf")
    filename = factory.Sequence(lambda n: f"labels-{n}.pdf")
    content_type = "application/pdf"
    size = 0
    sha256 = "0" * 64


class PrintJobFactory(BaseFactory):
    """A queued label-sheet job for an issuance."""

    class Meta:
        model = PrintJob

    issuance = factory.SubFactory(CodeIssuanceFactory)
    status = PrintJobStatus.QUEUED
    done = 0
    total = factory.SelfAttribute("issuance.count")
