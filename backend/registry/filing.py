"""Census and filing (登记备案): workshops, their certificates, staff and health certificates.

Only regulators change the registry; inspectors and regulators read it. Every rule is
checked here, before anything is written, and every refusal is a ValidationError whose
``errors`` name the field at fault, so a form can show the message next to it and an
import can report it per row. Functions flush and never commit.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from backend.accounts.models import Role, User
from backend.audit.log import record
from backend.core.errors import Errors, Forbidden, NotFound, ValidationError
from backend.core.i18n import N_
from backend.core.i18n import gettext as _
from backend.core.pages import Page, clamp_page
from backend.core.time import local_today, utcnow
from backend.extensions import db
from backend.registry import townships
from backend.registry.models import (
    Brand,
    HealthCertificate,
    ProductCategory,
    Staff,
    StaffRole,
    Workshop,
    WorkshopStatus,
    WorkshopStatusChange,
    Zone,
    workshop_product_types,
)

EARLIEST = date(2000, 1, 1)  # no certificate in the district is older than this
MAX_CERT_YEARS = 10  # a registration certificate longer than this is "long-term"
MAX_HEALTH_CERT_DAYS = 2 * 366  # a health certificate is yearly; two years at most
EXPIRING_DAYS = 30  # certificates expiring within this many days are flagged
PER_PAGE = 50
REGISTRATION_NO = re.compile(r"^[\w\-/()（）〔〕\[\]]{3,40}$")
LICENCE_NO = re.compile(r"^SC\d{14}$")
PHONE = re.compile(r"^[0-9+\-() ]{5,30}$")


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


@dataclass
class RegistryFilter:
    """What the registry list is narrowed to; empty fields do not narrow."""

    township: str = ""
    zone: str = ""  # a zone id, "none" (outside every zone) or ""
    status: str = ""
    product_type: str = ""
    q: str = ""


# --- who may do what --------------------------------------------------------------------


def require_regulator(user: User | None) -> None:
    """Forbidden unless *user* is a regulator (the only ones who change the registry)."""
    if user is None or user.role is not Role.REGULATOR:
        raise Forbidden(_("只有监管人员可以修改作坊登记信息。"), slug="regulator_only")


def require_viewer(user: User | None) -> None:
    """Forbidden unless *user* is a regulator or an inspector (who may read the registry)."""
    if user is None or user.role not in (Role.REGULATOR, Role.INSPECTOR):
        raise Forbidden(_("只有监管和检验人员可以查看作坊名录。"), slug="staff_only")


# --- small checks -----------------------------------------------------------------------


def _text(errors: Errors, name: str, value: str, limit: int, *, required: bool = True) -> str:
    """Trim *value*; note it when missing, too long or holding control characters."""
    value = (value or "").strip()
    if required and not value:
        errors.add(name, _("必填。"))
    elif len(value) > limit:
        errors.add(name, _("不能超过 %(limit)d 个字符。", limit=limit))
    elif any(unicodedata.category(ch) == "Cc" for ch in value):
        errors.add(name, _("不能包含制表符、换行等控制字符。"))
    return value


def _date(errors: Errors, name: str, value: date | None, low: date, high: date) -> None:
    """Note *value* when missing or outside [low, high]."""
    if value is None:
        errors.add(name, _("必填，格式如 2024-01-31。"))
    elif not low <= value <= high:
        errors.add(
            name,
            _(
                "日期须在 %(low)s 至 %(high)s 之间。",
                low=low.isoformat(),
                high=high.isoformat(),
            ),
        )


def _add_years(day: date, years: int) -> date:
    """*day* plus *years* years (28 February for 29 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


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
    data.name = _text(errors, "name", data.name, 100)
    data.operator_name = _text(errors, "operator_name", data.operator_name, 50)
    data.contact_phone = _text(errors, "contact_phone", data.contact_phone, 30, required=False)
    if data.contact_phone and not PHONE.match(data.contact_phone):
        errors.add("contact_phone", _("电话只能包含数字、空格和 + - ( )。"))
    data.address = _text(errors, "address", data.address, 200)
    data.issuing_authority = _text(errors, "issuing_authority", data.issuing_authority, 100)
    data.description = _text(errors, "description", data.description, 2000, required=False)
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
    _date(errors, "cert_issued_on", data.cert_issued_on, EARLIEST, local_today())
    if data.cert_long_term:
        if data.cert_valid_until is not None:
            errors.add("cert_valid_until", _("已选择长期有效，请不要再填写有效期至。"))
        return
    if data.cert_valid_until is None:
        errors.add("cert_valid_until", _("请填写有效期至，或选择长期有效。"))
    elif data.cert_issued_on is not None and "cert_issued_on" not in errors:
        _date(
            errors,
            "cert_valid_until",
            data.cert_valid_until,
            data.cert_issued_on + timedelta(days=1),
            _add_years(data.cert_issued_on, MAX_CERT_YEARS),
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


def _refuse(errors: Errors) -> None:
    """Raise the ValidationError for *errors*, if there are any."""
    if errors:
        raise ValidationError(
            _("提交的信息有误，请按提示修改，未保存任何内容。"),
            slug="registry_invalid",
            errors=dict(errors),
        )


def _categories(codes: list[str]) -> list[ProductCategory]:
    """The categories with *codes*, in the order given."""
    found = {
        c.code: c
        for c in db.session.scalars(select(ProductCategory).where(ProductCategory.code.in_(codes)))
    }
    return [found[code] for code in codes]


# --- workshops --------------------------------------------------------------------------


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
    require_regulator(by)
    errors = check_workshop(data)
    licence_no, trademark = check_status_extras(errors, status, licence_no, trademark, None)
    _refuse(errors)
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
    require_regulator(by)
    workshop = get_workshop(workshop_id, by=by)
    _refuse(check_workshop(data, workshop.id))
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
    require_regulator(by)
    workshop = get_workshop(workshop_id, by=by)
    errors = Errors()
    transition = TRANSITIONS.get(action)
    if transition is None:
        errors.add("action", _("未知的状态变更。"))
        _refuse(errors)
    if workshop.status not in transition.sources:
        errors.add(
            "action",
            _(
                "当前状态为“%(status)s”，不能%(action)s。",
                status=_(STATUS_LABELS[workshop.status]),
                action=_(transition.label),
            ),
        )
    reason = _text(errors, "reason", reason, 500, required=transition.reason_required)
    if transition.target is WorkshopStatus.UPGRADED:
        licence_no, trademark = check_status_extras(
            errors, WorkshopStatus.UPGRADED, licence_no, trademark, workshop.id
        )
    else:
        licence_no = trademark = None
    _refuse(errors)
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


# --- staff and health certificates -------------------------------------------------------


def _check_staff(data: StaffInput) -> Errors:
    """A name, a role and a plausible phone."""
    errors = Errors()
    data.name = _text(errors, "name", data.name, 50)
    data.phone = _text(errors, "phone", data.phone, 30, required=False)
    if data.phone and not PHONE.match(data.phone):
        errors.add("phone", _("电话只能包含数字、空格和 + - ( )。"))
    try:
        data.role = StaffRole(data.role)
    except ValueError:
        errors.add("role", _("未知的岗位。"))
    return errors


def add_staff(workshop_id: int, data: StaffInput, *, by: User) -> Staff:
    """Add a person to a workshop's staff (regulators only)."""
    require_regulator(by)
    workshop = get_workshop(workshop_id, by=by)
    _refuse(_check_staff(data))
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
    require_viewer(by)
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
    require_regulator(by)
    person = get_staff(staff_id, by=by)
    _refuse(_check_staff(data))
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
    require_regulator(by)
    person = get_staff(staff_id, by=by)
    errors = Errors()
    data.cert_no = _text(errors, "cert_no", data.cert_no, 40)
    data.issued_by = _text(errors, "issued_by", data.issued_by, 100, required=False)
    _date(errors, "issued_on", data.issued_on, EARLIEST, local_today())
    if data.expires_on is None:
        errors.add("expires_on", _("必填，格式如 2024-01-31。"))
    elif data.issued_on is not None and "issued_on" not in errors:
        _date(
            errors,
            "expires_on",
            data.expires_on,
            data.issued_on + timedelta(days=1),
            data.issued_on + timedelta(days=MAX_HEALTH_CERT_DAYS),
        )
    if data.cert_no and any(c.cert_no == data.cert_no for c in person.health_certificates):
        errors.add("cert_no", _("该人员已登记过编号为 %(number)s 的健康证。", number=data.cert_no))
    _refuse(errors)
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


# --- reading ----------------------------------------------------------------------------


def get_workshop(workshop_id: int, *, by: User) -> Workshop:
    """A workshop with its types, zone, brand, history and staff, or NotFound."""
    require_viewer(by)
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
    require_viewer(by)
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
    require_viewer(by)
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
    require_viewer(by)
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
