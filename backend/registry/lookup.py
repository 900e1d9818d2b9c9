"""Look-ups for the mini-program: a workshop's products, and finding a workshop on site.

- A workshop's products (to open a batch, or to sample a product whose batch is unknown):
  its own operators, inspectors and regulators.
- Finding a workshop by name, registration number, operator or address: inspectors and
  regulators (``listing.search_workshops``' rules). Operators never search the district.

Functions only read.
"""

from __future__ import annotations

from sqlalchemy import select

from backend.accounts.models import Role, User
from backend.accounts.permissions import require_workshop_member
from backend.core.errors import NotFound
from backend.core.i18n import gettext as _
from backend.core.pages import Page
from backend.extensions import db
from backend.registry import listing
from backend.registry.models import Product, Workshop

MAX_ID = 2**31 - 1


def workshop_products(workshop_id: int, *, by: User) -> list[Product]:
    """The workshop's active products by name (its operators, inspectors, regulators)."""
    if by.role is not Role.INSPECTOR:
        require_workshop_member(by, workshop_id)
    if not 0 < workshop_id <= MAX_ID or db.session.get(Workshop, workshop_id) is None:
        raise NotFound(_("作坊不存在。"), slug="workshop_not_found")
    return list(
        db.session.scalars(
            select(Product)
            .where(Product.workshop_id == workshop_id, Product.active.is_(True))
            .order_by(Product.name, Product.specification, Product.id)
        )
    )


def find_workshops(text: str, *, by: User, page: int = 1, per_page: int = 20) -> Page:
    """Workshops whose name, registration number, operator or address contains *text*."""
    return listing.search_workshops(
        listing.RegistryFilter(q=text), by=by, page=page, per_page=per_page
    )
