"""Census and filing (登记备案) of workshops: their registration certificate and status.

Only regulators change the registry; inspectors and regulators read it. Every rule is
checked here, before anything is written (see :mod:`backend.registry.checks`); staff and
health certificates are in :mod:`backend.registry.staff`, the list in
:mod:`backend.registry.listing`. Functions flush and never commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.accounts.models import Role, User
from backend.accounts.permissions import require_role
from backend.audit.log import record
from backend.core.errors import Errors, NotFound, refuse
from backend.core.i18n import N_
from backend.core.i18n import gettext as _
from backend.core.time import local_today, utcnow
from backend.extensions import db
from backend.registry import townships
from backend.registry.checks import (
    EARLIEST,
    PHONE,
    REGULATORS_ONLY,
    STAFF_ONLY,
    add_years,
    date_between,
    text,
)
from backend.registry.models import (
    Brand,
    ProductCategory,
    Staff,
    Workshop,
    WorkshopStatus,
    WorkshopStatusChange,
    Zone,
)

MAX_CERT_YEARS = 10  # a registration certificate longer than this is "long-term"
REGISTRATION_NO = re.compile(r"^[\w\-/()（）〔〕\[\]]{3,40}$")
LICENCE_NO = re.compile(r"^SC\d{14}$")


STATUS_LABELS = {
    WorkshopStatus.FILED: N_("已备案"),
    WorkshopStatus.ACTIVE: N_("在产"),
    WorkshopStatus.SUSPENDED: N_("停产整改"),
    WorkshopStatus.CANCELLED: N_("已注销"),
    WorkshopStatus.UPGRADED: N_("已升级为企业"),
}


@dataclass(frozen=True)
class Transition:
    """A status change a regulator may make: from which statuses, to which, what it needs."""

    action: str
    label: str
    sources: tuple[WorkshopStatus, ...]
    target: WorkshopStatus
    reason_required: bool = True


TRANSITIONS = {
    t.action: t
    for t in (
        Transition(
            "activate", N_("纳入在产监管"), (WorkshopStatus.FILED,), WorkshopStatus.ACTIVE, False
        ),
        Transition(
            "suspend",
            N_("责令停产整改"),
            (WorkshopStatus.FILED, WorkshopStatus.ACTIVE),
            WorkshopStatus.SUSPENDED,
        ),
        Transition(
            "reactivate",
            N_("整改完成，恢复生产"),
            (WorkshopStatus.SUSPENDED,),
            WorkshopStatus.ACTIVE,
        ),
        Transition(
            "cancel",
            N_("注销登记"),
            (WorkshopStatus.FILED, WorkshopStatus.ACTIVE, WorkshopStatus.SUSPENDED),
            WorkshopStatus.CANCELLED,
        ),
        Transition(
            "upgrade",
            N_("升级为食品生产企业"),
            (WorkshopStatus.FILED, WorkshopStatus.ACTIVE),
            WorkshopStatus.UPGRADED,
            False,
        ),
    )
}


@dataclass
class WorkshopInput:
    """What a regulator files about a workshop: its registration certificate and more."""

    registration_no: str = ""
    name: str = ""
    operator_name: str = ""
    contact_phone: str = ""
    address: str = ""
    township: str = ""
    product_types: list[str] = field(default_factory=list)
    issuing_authority: str = ""
    cert_issued_on: date | None = None
    cert_valid_until: date | None = None
    cert_long_term: bool = False
    zone_id: int | None = None
    brand_id: int | None = None
    description: str = ""


def normalise_registration_no(text: str | None) -> str:
    """Registration numbers are compared trimmed and with Latin letters upper-cased."""
    return (text or "").strip().upper()


def _registration_taken(number: str, workshop_id: int | None) -> bool:
    """Whether another workshop already holds *number*."""
    query = select(Workshop.id).where(Workshop.registration_no == number)
    if workshop_id is not None:
        query = query.where(Workshop.id != workshop_id)
    return db.session.scalar(query) is not None


def _licence_taken(number: str, workshop_id: int | None) -> bool:
    """Whether another workshop already holds food production licence *number*."""
    query = select(Workshop.id).where(Workshop.licence_no == number)
    if workshop_id is not None:
        query = query.where(Workshop.id != workshop_id)
    return db.session.scalar(query) is not None


def check_workshop(data: WorkshopInput, workshop_id: int | None = None) -> Errors:
    """Every rule a workshop's filing must meet; returns the errors (empty when none).

    Trims the text fields of *data* in place and puts the township's canonical name.
    """
    errors = Errors()
    data.registration_no = normalise_registration_no(data.registration_no)
    if not data.registration_no:
        errors.add("registration_no", _("必填。"))
    elif not REGISTRATION_NO.match(data.registration_no):
        errors.add(
            "registration_no",
            _("登记证编号须为 3 至 40 个字母、数字、汉字或 - / ( ) 等符号，不能有空格。"),
        )
    elif _registration_taken(data.registration_no, workshop_id):
        errors.add(
            "registration_no",
            _("登记证编号 %(number)s 已被其他作坊使用。", number=data.registration_no),
        )
    data.name = text(errors, "name", data.name, 100)
    data.operator_name = text(errors, "operator_name", data.operator_name, 50)
    data.contact_phone = text(errors, "contact_phone", data.contact_phone, 30, required=False)
    if data.contact_phone and not PHONE.match(data.contact_phone):
        errors.add("contact_phone", _("电话只能包含数字、空格和 + - ( )。"))
    data.address = text(errors, "address", data.address, 200)
    data.issuing_authority = text(errors, "issuing_authority", data.issuing_authority, 100)
    data.description = text(errors, "description", data.description, 2000, required=False)
    township = townships.find(data.township)
    if not (data.township or "").strip():
        errors.add("township", _("必填。"))
    elif township is None:
        errors.add(
            "township",
            _(
                "“%(name)s”不是本区的乡镇；可选：%(known)s。",
                name=data.township.strip()[:50],
                known="、".join(townships.names()),
            ),
        )
    else:
        data.township = township.name
    _check_product_types(errors, data)
    _check_certificate_dates(errors, data)
    _check_zone_and_brand(errors, data)
    return errors


def _check_product_types(errors: Errors, data: WorkshopInput) -> None:
    """At least one product type, each a known category."""
    codes = list(dict.fromkeys(c.strip() for c in data.product_types if c and c.strip()))
    data.product_types = codes
    if not codes:
        errors.add("product_types", _("至少选择一个准许生产的食品类别。"))
        return
    known = set(
        db.session.scalars(select(ProductCategory.code).where(ProductCategory.code.in_(codes)))
    )
    unknown = [code for code in codes if code not in known]
    if unknown:
        errors.add(
            "product_types", _("未知的食品类别：%(codes)s。", codes="、".join(unknown)[:200])
        )


def _check_certificate_dates(errors: Errors, data: WorkshopInput) -> None:
    """Issued between 2000 and today; valid for at most ten years after, or long-term."""
    date_between(errors, "cert_issued_on", data.cert_issued_on, EARLIEST, local_today())
    if data.cert_long_term:
        if data.cert_valid_until is not None:
            errors.add("cert_valid_until", _("已选择长期有效，请不要再填写有效期至。"))
        return
    if data.cert_valid_until is None:
        errors.add("cert_valid_until", _("请填写有效期至，或选择长期有效。"))
    elif data.cert_issued_on is not None and "cert_issued_on" not in errors:
        date_between(
            errors,
            "cert_valid_until",
            data.cert_valid_until,
            data.cert_issued_on + timedelta(days=1),
            add_years(data.cert_issued_on, MAX_CERT_YEARS),
        )


def _check_zone_and_brand(errors: Errors, data: WorkshopInput) -> None:
    """The zone exists; the brand exists and belongs to the workshop's zone."""
    zone = db.session.get(Zone, data.zone_id) if data.zone_id is not None else None
    if data.zone_id is not None and zone is None:
        errors.add("zone_id", _("加工区不存在。"))
    if data.brand_id is None:
        return
    brand = db.session.get(Brand, data.brand_id)
    if brand is None:
        errors.add("brand_id", _("品牌不存在。"))
    elif zone is None or brand.zone_id != zone.id:
        errors.add(
            "brand_id",
            _("品牌“%(brand)s”只供其加工区内的作坊使用，请先选择该加工区。", brand=brand.name_zh),
        )


def _categories(codes: list[str]) -> list[ProductCategory]:
    """The categories with *codes*, in the order given."""
    found = {
        c.code: c
        for c in db.session.scalars(select(ProductCategory).where(ProductCategory.code.in_(codes)))
    }
    return [found[code] for code in codes]


def get_workshop(workshop_id: int, *, by: User) -> Workshop:
    """A workshop with its types, zone, brand, history and staff, or NotFound."""
    require_role(by, Role.REGULATOR, Role.INSPECTOR, message=_(STAFF_ONLY), slug="staff_only")
    workshop = db.session.scalar(
        select(Workshop)
        .options(
            selectinload(Workshop.product_types),
            selectinload(Workshop.zone),
            selectinload(Workshop.brand),
            selectinload(Workshop.status_changes),
            selectinload(Workshop.staff).selectinload(Staff.health_certificates),
        )
        .where(Workshop.id == workshop_id)
    )
    if workshop is None:
        raise NotFound(_("作坊不存在。"), slug="workshop_not_found")
    return workshop


def _history(workshop, from_status, to_status, reason, by, licence_no=None, trademark=None):
    """Add a row to the workshop's status history."""
    change = WorkshopStatusChange(
        workshop_id=workshop.id,
        from_status=from_status,
        to_status=to_status,
        reason=reason,
        licence_no=licence_no,
        trademark=trademark,
        changed_by_id=by.id if by is not None else None,
        changed_at=utcnow(),
    )
    db.session.add(change)
    return change


def file_workshop(
    data: WorkshopInput,
    *,
    by: User,
    status: WorkshopStatus = WorkshopStatus.FILED,
    licence_no: str | None = None,
    trademark: str | None = None,
    reason: str | None = None,
) -> Workshop:
    """File a new workshop (登记备案) with its first history entry (regulators only).

    *status*, *licence_no* and *trademark* serve imports of an existing directory, where a
    workshop may already be producing, suspended or upgraded.
    """
    require_role(by, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    errors = check_workshop(data)
    licence_no, trademark = check_status_extras(errors, status, licence_no, trademark, None)
    refuse(errors, "registry_invalid")
    district = townships.find(data.township).district
    workshop = Workshop(
        registration_no=data.registration_no,
        name=data.name,
        operator_name=data.operator_name,
        contact_phone=data.contact_phone,
        address=data.address,
        township=data.township,
        district=district,
        zone_id=data.zone_id,
        brand_id=data.brand_id,
        status=status,
        issuing_authority=data.issuing_authority,
        cert_issued_on=data.cert_issued_on,
        cert_valid_until=None if data.cert_long_term else data.cert_valid_until,
        cert_long_term=data.cert_long_term,
        licence_no=licence_no,
        trademark=trademark,
        description=data.description,
        product_types=_categories(data.product_types),
    )
    db.session.add(workshop)
    db.session.flush()
    _history(workshop, None, status, reason or _("登记备案"), by, licence_no, trademark)
    db.session.flush()
    record(
        "workshop.filed",
        "workshop",
        workshop.id,
        actor=by,
        registration_no=workshop.registration_no,
        status=status,
    )
    return workshop


def check_status_extras(errors, status, licence_no, trademark, workshop_id):
    """An upgraded workshop needs a unique SC licence number and its trademark."""
    licence_no = (licence_no or "").strip().upper() or None
    trademark = (trademark or "").strip() or None
    if status is not WorkshopStatus.UPGRADED:
        if licence_no or trademark:
            errors.add("licence_no", _("只有升级为企业的作坊才填写生产许可证编号和商标。"))
        return None, None
    if licence_no is None:
        errors.add("licence_no", _("升级为企业须填写食品生产许可证编号。"))
    elif not LICENCE_NO.match(licence_no):
        errors.add("licence_no", _("食品生产许可证编号应为 SC 加 14 位数字，如 SC11535062500017。"))
    elif _licence_taken(licence_no, workshop_id):
        errors.add(
            "licence_no", _("生产许可证编号 %(number)s 已登记在其他作坊名下。", number=licence_no)
        )
    if trademark is None:
        errors.add("trademark", _("升级为企业须填写商标。"))
    elif len(trademark) > 50:
        errors.add("trademark", _("不能超过 %(limit)d 个字符。", limit=50))
    return licence_no, trademark


def update_workshop(workshop_id: int, data: WorkshopInput, *, by: User) -> Workshop:
    """Correct or update a workshop's filing (regulators only); the changes are audited."""
    require_role(by, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    workshop = get_workshop(workshop_id, by=by)
    refuse(check_workshop(data, workshop.id), "registry_invalid")
    changes = {}
    values = {
        "registration_no": data.registration_no,
        "name": data.name,
        "operator_name": data.operator_name,
        "contact_phone": data.contact_phone,
        "address": data.address,
        "township": data.township,
        "district": townships.find(data.township).district,
        "zone_id": data.zone_id,
        "brand_id": data.brand_id,
        "issuing_authority": data.issuing_authority,
        "cert_issued_on": data.cert_issued_on,
        "cert_valid_until": None if data.cert_long_term else data.cert_valid_until,
        "cert_long_term": data.cert_long_term,
        "description": data.description,
    }
    for name, value in values.items():
        old = getattr(workshop, name)
        if old != value:
            changes[name] = [old, value]
            setattr(workshop, name, value)
    old_types = [c.code for c in workshop.product_types]
    if sorted(old_types) != sorted(data.product_types):
        changes["product_types"] = [old_types, data.product_types]
        workshop.product_types = _categories(data.product_types)
    db.session.flush()
    if changes:
        record("workshop.updated", "workshop", workshop.id, actor=by, changes=changes)
    return workshop


def available_transitions(workshop: Workshop) -> list[Transition]:
    """The status changes open to *workshop* now."""
    return [t for t in TRANSITIONS.values() if workshop.status in t.sources]


def change_status(
    workshop_id: int,
    action: str,
    *,
    by: User,
    reason: str = "",
    licence_no: str | None = None,
    trademark: str | None = None,
) -> WorkshopStatusChange:
    """Suspend, reactivate, cancel or upgrade a workshop, kept as history (regulators only)."""
    require_role(by, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    workshop = get_workshop(workshop_id, by=by)
    errors = Errors()
    transition = TRANSITIONS.get(action)
    if transition is None:
        errors.add("action", _("未知的状态变更。"))
        refuse(errors, "registry_invalid")
    if workshop.status not in transition.sources:
        errors.add(
            "action",
            _(
                "当前状态为“%(status)s”，不能%(action)s。",
                status=_(STATUS_LABELS[workshop.status]),
                action=_(transition.label),
            ),
        )
    reason = text(errors, "reason", reason, 500, required=transition.reason_required)
    if transition.target is WorkshopStatus.UPGRADED:
        licence_no, trademark = check_status_extras(
            errors, WorkshopStatus.UPGRADED, licence_no, trademark, workshop.id
        )
    else:
        licence_no = trademark = None
    refuse(errors, "registry_invalid")
    change = _history(
        workshop,
        workshop.status,
        transition.target,
        reason or _(transition.label),
        by,
        licence_no,
        trademark,
    )
    previous = workshop.status
    workshop.status = transition.target
    if transition.target is WorkshopStatus.UPGRADED:
        workshop.licence_no, workshop.trademark = licence_no, trademark
    db.session.flush()
    record(
        f"workshop.{action}",
        "workshop",
        workshop.id,
        actor=by,
        from_status=previous,
        to_status=transition.target,
        reason=change.reason,
        licence_no=licence_no,
        trademark=trademark,
    )
    return change
