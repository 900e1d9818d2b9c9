"""The registry list (作坊名录): filters, pages, the export's rows, choices and headline figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from backend.accounts.models import Role, User
from backend.accounts.permissions import require_role
from backend.core.i18n import gettext as _
from backend.core.pages import Page, clamp_page
from backend.core.time import local_today
from backend.extensions import db
from backend.registry import townships
from backend.registry.checks import STAFF_ONLY
from backend.registry.models import (
    Brand,
    ProductCategory,
    Workshop,
    WorkshopStatus,
    Zone,
    workshop_product_types,
)

EXPIRING_DAYS = 30  # certificates expiring within this many days are flagged
PER_PAGE = 50


@dataclass
class RegistryFilter:
    """What the registry list is narrowed to; empty fields do not narrow."""

    township: str = ""
    zone: str = ""  # a zone id, "none" (outside every zone) or ""
    status: str = ""
    product_type: str = ""
    q: str = ""


def _filtered(query, filters: RegistryFilter):
    """Narrow a workshop query by *filters* (unknown values simply match nothing)."""
    if filters.township:
        query = query.where(Workshop.township == filters.township)
    if filters.zone == "none":
        query = query.where(Workshop.zone_id.is_(None))
    elif filters.zone:
        zone_id = int(filters.zone) if filters.zone.isdigit() else -1
        query = query.where(Workshop.zone_id == zone_id)
    if filters.status:
        try:
            query = query.where(Workshop.status == WorkshopStatus(filters.status))
        except ValueError:
            query = query.where(Workshop.id.is_(None))
    if filters.product_type:
        query = query.where(
            Workshop.id.in_(
                select(workshop_product_types.c.workshop_id).where(
                    workshop_product_types.c.category_code == filters.product_type
                )
            )
        )
    text = filters.q.strip()[:100]
    if text:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        query = query.where(
            or_(
                Workshop.name.ilike(pattern, escape="\\"),
                Workshop.registration_no.ilike(pattern, escape="\\"),
                Workshop.operator_name.ilike(pattern, escape="\\"),
                Workshop.address.ilike(pattern, escape="\\"),
            )
        )
    return query


def search_workshops(
    filters: RegistryFilter, *, by: User, page: int = 1, per_page: int = PER_PAGE
) -> Page:
    """One page of the registry, narrowed by *filters*, ordered by registration number."""
    require_role(by, Role.REGULATOR, Role.INSPECTOR, message=_(STAFF_ONLY), slug="staff_only")
    total = db.session.scalar(_filtered(select(func.count(Workshop.id)), filters)) or 0
    page = clamp_page(page, total, per_page)
    items = db.session.scalars(
        _filtered(select(Workshop), filters)
        .options(selectinload(Workshop.product_types), selectinload(Workshop.zone))
        .order_by(Workshop.registration_no)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page(list(items), total, page, per_page)


def all_workshops(filters: RegistryFilter, *, by: User) -> list[Workshop]:
    """Every workshop matching *filters* (for exports), ordered by registration number."""
    require_role(by, Role.REGULATOR, Role.INSPECTOR, message=_(STAFF_ONLY), slug="staff_only")
    return list(
        db.session.scalars(
            _filtered(select(Workshop), filters)
            .options(
                selectinload(Workshop.product_types),
                selectinload(Workshop.zone),
                selectinload(Workshop.brand),
            )
            .order_by(Workshop.registration_no)
        )
    )


@dataclass
class Choices:
    """What registry forms and filters offer."""

    townships: list[str]
    zones: list[Zone]
    brands: list[Brand]
    categories: list[ProductCategory]


def choices() -> Choices:
    """Townships, zones, brands and product categories, for forms and filters."""
    return Choices(
        townships=townships.names(),
        zones=list(db.session.scalars(select(Zone).order_by(Zone.id))),
        brands=list(db.session.scalars(select(Brand).order_by(Brand.zone_id, Brand.id))),
        categories=list(db.session.scalars(select(ProductCategory).order_by(ProductCategory.code))),
    )


@dataclass
class RegistrySummary:
    """The registry's headline figures for the console's home page."""

    filed: int
    in_zone: int
    upgraded: int
    suspended: int
    cert_expiring: int


def summary(*, by: User) -> RegistrySummary:
    """Counts of workshops on file (not cancelled), in a zone, upgraded, suspended, and
    those whose registration certificate ends within 30 days or has ended."""
    require_role(by, Role.REGULATOR, Role.INSPECTOR, message=_(STAFF_ONLY), slug="staff_only")
    open_ = Workshop.status != WorkshopStatus.CANCELLED

    def count(*conditions) -> int:
        return db.session.scalar(select(func.count(Workshop.id)).where(*conditions)) or 0

    return RegistrySummary(
        filed=count(open_),
        in_zone=count(open_, Workshop.zone_id.is_not(None)),
        upgraded=count(Workshop.status == WorkshopStatus.UPGRADED),
        suspended=count(Workshop.status == WorkshopStatus.SUSPENDED),
        cert_expiring=count(
            open_,
            Workshop.status != WorkshopStatus.UPGRADED,
            Workshop.cert_long_term.is_(False),
            Workshop.cert_valid_until <= local_today() + timedelta(days=EXPIRING_DAYS),
        ),
    )
