"""A workshop's staff and their health certificates (健康证, FSL art. 45).

Only regulators change them; inspectors and regulators read them. Functions flush and never
commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.accounts.models import Role, User
from backend.accounts.permissions import require_role
from backend.audit.log import record
from backend.core.errors import Errors, NotFound, refuse
from backend.core.i18n import gettext as _
from backend.core.time import local_today
from backend.extensions import db
from backend.registry.checks import (
    EARLIEST,
    PHONE,
    REGULATORS_ONLY,
    STAFF_ONLY,
    date_between,
    text,
)
from backend.registry.filing import get_workshop
from backend.registry.models import HealthCertificate, Staff, StaffRole

MAX_HEALTH_CERT_DAYS = 2 * 366  # a health certificate is yearly; two years at most


@dataclass
class StaffInput:
    """A person working in a workshop."""

    name: str = ""
    role: StaffRole = StaffRole.WORKER
    phone: str = ""
    handles_ready_to_eat: bool = True
    active: bool = True


@dataclass
class HealthCertificateInput:
    """A health certificate (健康证) from the yearly examination."""

    cert_no: str = ""
    issued_by: str = ""
    issued_on: date | None = None
    expires_on: date | None = None


def _check_staff(data: StaffInput) -> Errors:
    """A name, a role and a plausible phone."""
    errors = Errors()
    data.name = text(errors, "name", data.name, 50)
    data.phone = text(errors, "phone", data.phone, 30, required=False)
    if data.phone and not PHONE.match(data.phone):
        errors.add("phone", _("电话只能包含数字、空格和 + - ( )。"))
    try:
        data.role = StaffRole(data.role)
    except ValueError:
        errors.add("role", _("未知的岗位。"))
    return errors


def add_staff(workshop_id: int, data: StaffInput, *, by: User) -> Staff:
    """Add a person to a workshop's staff (regulators only)."""
    require_role(by, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    workshop = get_workshop(workshop_id, by=by)
    refuse(_check_staff(data), "registry_invalid")
    person = Staff(
        workshop_id=workshop.id,
        name=data.name,
        role=data.role,
        phone=data.phone,
        handles_ready_to_eat=data.handles_ready_to_eat,
        active=data.active,
    )
    db.session.add(person)
    db.session.flush()
    record("staff.added", "staff", person.id, actor=by, workshop_id=workshop.id, name=person.name)
    return person


def get_staff(staff_id: int, *, by: User) -> Staff:
    """A staff member with their workshop and certificates, or NotFound."""
    require_role(by, Role.REGULATOR, Role.INSPECTOR, message=_(STAFF_ONLY), slug="staff_only")
    person = db.session.scalar(
        select(Staff)
        .options(selectinload(Staff.health_certificates), selectinload(Staff.workshop))
        .where(Staff.id == staff_id)
    )
    if person is None:
        raise NotFound(_("人员不存在。"), slug="staff_not_found")
    return person


def update_staff(staff_id: int, data: StaffInput, *, by: User) -> Staff:
    """Change a staff member's details, or mark them as having left (regulators only)."""
    require_role(by, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    person = get_staff(staff_id, by=by)
    refuse(_check_staff(data), "registry_invalid")
    changes = {}
    for name in ("name", "role", "phone", "handles_ready_to_eat", "active"):
        old, new = getattr(person, name), getattr(data, name)
        if old != new:
            changes[name] = [old, new]
            setattr(person, name, new)
    db.session.flush()
    if changes:
        record("staff.updated", "staff", person.id, actor=by, changes=changes)
    return person


def add_health_certificate(
    staff_id: int, data: HealthCertificateInput, *, by: User
) -> HealthCertificate:
    """Record a staff member's health certificate (regulators only)."""
    require_role(by, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    person = get_staff(staff_id, by=by)
    errors = Errors()
    data.cert_no = text(errors, "cert_no", data.cert_no, 40)
    data.issued_by = text(errors, "issued_by", data.issued_by, 100, required=False)
    date_between(errors, "issued_on", data.issued_on, EARLIEST, local_today())
    if data.expires_on is None:
        errors.add("expires_on", _("必填，格式如 2024-01-31。"))
    elif data.issued_on is not None and "issued_on" not in errors:
        date_between(
            errors,
            "expires_on",
            data.expires_on,
            data.issued_on + timedelta(days=1),
            data.issued_on + timedelta(days=MAX_HEALTH_CERT_DAYS),
        )
    if data.cert_no and any(c.cert_no == data.cert_no for c in person.health_certificates):
        errors.add("cert_no", _("该人员已登记过编号为 %(number)s 的健康证。", number=data.cert_no))
    refuse(errors, "registry_invalid")
    certificate = HealthCertificate(
        staff_id=person.id,
        cert_no=data.cert_no,
        issued_by=data.issued_by,
        issued_on=data.issued_on,
        expires_on=data.expires_on,
    )
    db.session.add(certificate)
    db.session.flush()
    record(
        "health_certificate.added",
        "health_certificate",
        certificate.id,
        actor=by,
        staff_id=person.id,
        workshop_id=person.workshop_id,
        expires_on=certificate.expires_on,
    )
    return certificate
