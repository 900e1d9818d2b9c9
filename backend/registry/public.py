"""What the public portal shows: the zone's figures, brands, the workshop directory, a
workshop's profile and its products. Read-only; nobody logs in.

Cancelled workshops and inactive products are not shown (NotFound). Only what a consumer
may see leaves here: published lab results (the announcement's columns), concluded
inspections, the public view of cameras; never phone numbers, staff or ledgers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased, selectinload

from backend.batches.models import Batch
from backend.cameras.public import workshop_cameras
from backend.core.errors import Errors, NotFound, ValidationError
from backend.core.i18n import gettext as _
from backend.core.privacy import visitor_hash
from backend.core.time import local_today
from backend.extensions import db
from backend.inspections.models import Inspection
from backend.registry.models import (
    Brand,
    Product,
    ProductCategory,
    Workshop,
    WorkshopStatus,
    workshop_product_types,
)
from backend.registry.standing import RegistrationStanding, registration_standing
from backend.samples.announcements import announcement_row
from backend.samples.models import Sample, TestKind, TestResult, Verdict

YES_NO = ("", "yes", "no")


@dataclass(frozen=True)
class Figures:
    """The live numbers on the home page."""

    workshops: int
    products: int
    tests_passed: int
    inspections_this_year: int
    year: int


@dataclass
class DirectoryFilter:
    """The directory's filters; empty values do not narrow."""

    township: str = ""
    category: str = ""  # a product category code the workshop may make
    zone: str = ""  # "yes": in a processing zone, "no": outside
    upgraded: str = ""  # "yes": upgraded to an enterprise, "no": not


@dataclass
class WorkshopProfile:
    """A workshop's public page."""

    workshop: Workshop
    products: list[Product]
    inspection: Inspection | None
    results: list[dict]
    cameras: list[dict]
    standing: RegistrationStanding | None = None  # valid / expired / suspended, with the date


@dataclass
class ProductPage:
    """A product's public page: the product, its workshop, its published results."""

    product: Product
    workshop: Workshop
    results: list[dict]
    inspection: Inspection | None


@dataclass
class BrandPage:
    """A zone brand with the products sold under it and the workshops making them."""

    brand: Brand
    products: list[Product] = field(default_factory=list)
    workshops: list[Workshop] = field(default_factory=list)


def _shown() -> Select:
    """Workshops the public sees: every one on file that is not cancelled."""
    return select(Workshop).where(Workshop.status != WorkshopStatus.CANCELLED)


def _live_results():
    """Results that count: those no newer result corrects."""
    newer = aliased(TestResult)
    return ~select(newer.id).where(newer.supersedes_id == TestResult.id).exists()


def figures(today: date | None = None) -> Figures:
    """Workshops on file, active products, passed tests and this year's inspections."""
    today = today or local_today()
    shown = WorkshopStatus.CANCELLED
    workshops = db.session.scalar(select(func.count(Workshop.id)).where(Workshop.status != shown))
    products = db.session.scalar(
        select(func.count(Product.id))
        .join(Workshop, Workshop.id == Product.workshop_id)
        .where(Product.active.is_(True), Workshop.status != shown)
    )
    passed = db.session.scalar(
        select(func.count(TestResult.id)).where(TestResult.verdict == Verdict.PASS, _live_results())
    )
    inspections = db.session.scalar(
        select(func.count(Inspection.id)).where(
            Inspection.concluded,
            Inspection.inspected_on >= date(today.year, 1, 1),
            Inspection.inspected_on <= today,
        )
    )
    return Figures(workshops or 0, products or 0, passed or 0, inspections or 0, today.year)


def brand_page(code: str) -> BrandPage:
    """The brand with *code*, its active products and their workshops, or NotFound."""
    brand = db.session.scalar(select(Brand).where(Brand.code == code))
    if brand is None:
        raise NotFound(_("品牌不存在。"), slug="brand_not_found")
    products = list(
        db.session.scalars(
            select(Product)
            .join(Workshop, Workshop.id == Product.workshop_id)
            .where(
                Product.brand_id == brand.id,
                Product.active.is_(True),
                Workshop.status != WorkshopStatus.CANCELLED,
            )
            .options(selectinload(Product.workshop), selectinload(Product.category))
            .order_by(Product.workshop_id, Product.id)
        )
    )
    workshops = list(
        db.session.scalars(
            _shown().where(Workshop.brand_id == brand.id).order_by(Workshop.registration_no)
        )
    )
    return BrandPage(brand, products, workshops)


def townships() -> list[str]:
    """Townships with a workshop the public sees, in Chinese collation order."""
    rows = db.session.scalars(
        select(Workshop.township).where(Workshop.status != WorkshopStatus.CANCELLED).distinct()
    )
    return sorted(rows)


def categories() -> list[ProductCategory]:
    """Product categories some shown workshop may make."""
    return list(
        db.session.scalars(
            select(ProductCategory)
            .where(
                ProductCategory.code.in_(
                    select(workshop_product_types.c.category_code)
                    .join(Workshop, Workshop.id == workshop_product_types.c.workshop_id)
                    .where(Workshop.status != WorkshopStatus.CANCELLED)
                )
            )
            .order_by(ProductCategory.code)
        )
    )


def directory(filters: DirectoryFilter) -> list[Workshop]:
    """The workshops matching *filters*, zone members first, then by registration number.

    A filter value that is not one of the choices is refused (ValidationError naming it).
    """
    errors = Errors()
    if filters.zone not in YES_NO:
        errors.add("zone", _("请选择“是”或“否”。"))
    if filters.upgraded not in YES_NO:
        errors.add("upgraded", _("请选择“是”或“否”。"))
    if len(filters.township) > 50:
        errors.add("township", _("不能超过 %(limit)d 个字符。", limit=50))
    if len(filters.category) > 32:
        errors.add("category", _("不能超过 %(limit)d 个字符。", limit=32))
    if errors:
        raise ValidationError(
            _("筛选条件有误。"), slug="directory_filter_invalid", errors=dict(errors)
        )
    query = _shown().options(
        selectinload(Workshop.zone),
        selectinload(Workshop.brand),
        selectinload(Workshop.product_types),
    )
    if filters.township:
        query = query.where(Workshop.township == filters.township)
    if filters.category:
        query = query.where(
            Workshop.id.in_(
                select(workshop_product_types.c.workshop_id).where(
                    workshop_product_types.c.category_code == filters.category
                )
            )
        )
    if filters.zone == "yes":
        query = query.where(Workshop.zone_id.is_not(None))
    elif filters.zone == "no":
        query = query.where(Workshop.zone_id.is_(None))
    if filters.upgraded == "yes":
        query = query.where(Workshop.status == WorkshopStatus.UPGRADED)
    elif filters.upgraded == "no":
        query = query.where(Workshop.status != WorkshopStatus.UPGRADED)
    query = query.order_by(Workshop.zone_id.is_(None), Workshop.registration_no)
    return list(db.session.scalars(query))


def public_workshop(workshop_id: int) -> Workshop:
    """A workshop the public may see, or NotFound."""
    workshop = db.session.get(Workshop, workshop_id)
    if workshop is None or workshop.status is WorkshopStatus.CANCELLED:
        raise NotFound(_("作坊不存在。"), slug="workshop_not_found")
    return workshop


def latest_inspection(workshop_id: int) -> Inspection | None:
    """The workshop's latest concluded inspection."""
    return db.session.scalar(
        select(Inspection)
        .where(Inspection.workshop_id == workshop_id, Inspection.concluded)
        .order_by(Inspection.inspected_on.desc(), Inspection.id.desc())
        .limit(1)
    )


def published_results(*, workshop_id: int, product_id: int | None = None, limit: int = 20):
    """The workshop's (or product's) published lab samples, newest first, as announced."""
    query = (
        select(Sample)
        .where(
            Sample.workshop_id == workshop_id,
            Sample.published_at.is_not(None),
            Sample.kind == TestKind.LAB,
        )
        .options(
            selectinload(Sample.workshop),
            selectinload(Sample.product).selectinload(Product.category),
            selectinload(Sample.product).selectinload(Product.brand),
            selectinload(Sample.batch),
            selectinload(Sample.results).selectinload(TestResult.standard_limit),
        )
        .order_by(Sample.published_at.desc(), Sample.sample_no)
        .limit(limit)
    )
    if product_id is not None:
        query = query.where(Sample.product_id == product_id)
    return [announcement_row(sample) for sample in db.session.scalars(query)]


def workshop_profile(workshop_id: int) -> WorkshopProfile:
    """A workshop's certificate, active products, latest inspection, results and cameras."""
    workshop = public_workshop(workshop_id)
    products = [p for p in workshop.products if p.active]
    return WorkshopProfile(
        workshop=workshop,
        products=products,
        inspection=latest_inspection(workshop.id),
        results=published_results(workshop_id=workshop.id),
        cameras=workshop_cameras(workshop.id),
        standing=registration_standing(workshop),
    )


def product_page(product_id: int) -> ProductPage:
    """An active product of a shown workshop, with its published results, or NotFound."""
    product = db.session.get(Product, product_id)
    if product is None or not product.active:
        raise NotFound(_("产品不存在。"), slug="product_not_found")
    workshop = product.workshop
    if workshop.status is WorkshopStatus.CANCELLED:
        raise NotFound(_("产品不存在。"), slug="product_not_found")
    return ProductPage(
        product=product,
        workshop=workshop,
        results=published_results(workshop_id=workshop.id, product_id=product.id),
        inspection=latest_inspection(workshop.id),
    )


@dataclass
class ComplaintSubject:
    """What a complaint form is about, as far as its link says (for the heading)."""

    workshop: Workshop | None = None
    batch_no: str = ""


def batch_id_of(batch_no: str) -> int | None:
    """The id of the batch numbered *batch_no* (None when empty); ValidationError if unknown."""
    batch_no = (batch_no or "").strip()
    if not batch_no:
        return None
    batch_id = db.session.scalar(select(Batch.id).where(Batch.batch_no == batch_no[:40]))
    if batch_id is None:
        raise ValidationError(
            _("提交的信息有误，请按提示修改，未保存任何内容。"),
            slug="complaint_invalid",
            errors={"batch_id": [_("批次不存在。")]},
        )
    return batch_id


def complaint_subject(*, workshop_id: int | None, batch_no: str) -> ComplaintSubject:
    """The workshop (shown, not cancelled) and batch number a complaint link names."""
    workshop = None
    batch_no = (batch_no or "").strip()[:40]
    if batch_no:
        batch = db.session.scalar(select(Batch).where(Batch.batch_no == batch_no))
        if batch is None:
            batch_no = ""
        else:
            workshop_id = batch.workshop_id
    if workshop_id is not None:
        found = db.session.get(Workshop, workshop_id)
        if found is not None and found.status is not WorkshopStatus.CANCELLED:
            workshop = found
    return ComplaintSubject(workshop, batch_no)


def client_hash(address: str | None) -> str:
    """The salted hash a complaint keeps of the client's address (never the address)."""
    return visitor_hash(f"complaint|{address or '-'}")
