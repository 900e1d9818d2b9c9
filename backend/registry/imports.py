"""Importing the workshop directory from a CSV or XLSX file (:mod:`backend.registry.directory`).

An import is checked row by row against the same rules as the filing form
(:mod:`backend.registry.filing`) before anything is written. When any row fails nothing is
imported and the report says what is wrong with each row; the regulator may then choose to
import only the rows that passed (the report carries them in a signed token, so the file
need not be sent again).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from backend.accounts.models import Role, User
from backend.accounts.permissions import require_role
from backend.audit.log import record
from backend.core.errors import Errors
from backend.core.i18n import gettext as _
from backend.core.spreadsheets import unneutralise
from backend.extensions import db
from backend.registry import filing
from backend.registry.checks import REGULATORS_ONLY
from backend.registry.directory import (
    COLUMNS,
    FIELD_TO_COLUMN,
    LABELS,
    Row,
    file_error,
    read_rows,
    read_upload,
)
from backend.registry.filing import STATUS_LABELS, WorkshopInput
from backend.registry.models import Brand, ProductCategory, WorkshopStatus, Zone

TOKEN_SALT = "registry-import"
TOKEN_MAX_AGE = 3600  # seconds a validation report can still be imported from
LONG_TERM = {"长期", "长期有效", "long-term", "long term", "longterm"}
SPLIT_TYPES = re.compile(r"[、,，;；/|\s]+")
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d")


@dataclass
class RowResult:
    """What the check found in one row (column label → messages)."""

    line: int
    registration_no: str
    name: str
    errors: dict[str, list[str]]
    imported: bool = False

    @property
    def ok(self) -> bool:
        """Whether the row passed every rule."""
        return not self.errors


@dataclass
class ImportReport:
    """The row-by-row outcome of an import."""

    filename: str
    rows: list[RowResult]
    imported: int = 0
    token: str = ""

    @property
    def failed(self) -> list[RowResult]:
        """The rows that broke a rule."""
        return [row for row in self.rows if not row.ok]

    @property
    def valid(self) -> list[RowResult]:
        """The rows that passed."""
        return [row for row in self.rows if row.ok]


# --- checking rows ------------------------------------------------------------------------


@dataclass
class _Lookups:
    """Zones, brands and categories by the names people write for them."""

    zones: dict[str, int]
    brands: dict[str, int]
    categories: dict[str, str]
    statuses: dict[str, WorkshopStatus]

    @classmethod
    def load(cls) -> _Lookups:
        """Read them once per import."""
        zones, brands, categories = {}, {}, {}
        for zone in db.session.scalars(select(Zone)):
            for name in (zone.code, zone.name_zh, zone.name_en):
                zones[name.lower()] = zone.id
        for brand in db.session.scalars(select(Brand)):
            for name in (brand.code, brand.name_zh, brand.name_en):
                brands[name.lower()] = brand.id
        for category in db.session.scalars(select(ProductCategory)):
            for name in (category.code, category.name_zh, category.name_en):
                categories[name.lower()] = category.code
        statuses = {}
        for status, label in STATUS_LABELS.items():
            statuses[status.value] = status
            statuses[label] = status
        statuses["在营"] = WorkshopStatus.ACTIVE
        statuses["升级为企业"] = WorkshopStatus.UPGRADED
        return cls(zones, brands, categories, statuses)


def parse_date(text: str) -> date | None:
    """A date from the ways people write one in a spreadsheet; ValueError otherwise."""
    text = text.strip()
    if not text:
        return None
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(text)


@dataclass
class _Parsed:
    """A row turned into filing input, with what could not be read."""

    data: WorkshopInput
    status: WorkshopStatus
    licence_no: str
    trademark: str
    errors: Errors


def _parse_row(row: Row, lookups: _Lookups) -> _Parsed:
    """Turn a row's texts into typed values; note what cannot be read, column by column."""
    errors = Errors()
    for key, problem in row.problems.items():
        errors.add(key, problem)
    v = {key: unneutralise(text.strip()) for key, text in row.values.items()}
    data = WorkshopInput(
        registration_no=v.get("registration_no", ""),
        name=v.get("name", ""),
        operator_name=v.get("operator_name", ""),
        contact_phone=v.get("contact_phone", ""),
        address=v.get("address", ""),
        township=v.get("township", ""),
        issuing_authority=v.get("issuing_authority", ""),
    )
    for name in filter(None, SPLIT_TYPES.split(v.get("product_types", ""))):
        code = lookups.categories.get(name.lower())
        if code is None:
            errors.add(
                "product_types",
                _(
                    "未知的食品类别“%(name)s”；可写类别名称或代码，多个用顿号分隔。",
                    name=name[:30],
                ),
            )
        else:
            data.product_types.append(code)
    for key in ("cert_issued_on", "cert_valid_until"):
        text = v.get(key, "")
        if key == "cert_valid_until" and text.lower() in LONG_TERM:
            data.cert_long_term = True
            continue
        try:
            setattr(data, key, parse_date(text))
        except ValueError:
            errors.add(key, _("“%(text)s”不是日期，请写成 2024-01-31。", text=text[:30]))
    for key, table, attribute in (
        ("zone", lookups.zones, "zone_id"),
        ("brand", lookups.brands, "brand_id"),
    ):
        text = v.get(key, "")
        if text:
            found = table.get(text.lower())
            if found is None:
                errors.add(
                    key, _("未知的%(what)s“%(text)s”。", what=_(LABELS[key]), text=text[:50])
                )
            setattr(data, attribute, found)
    status = WorkshopStatus.FILED
    if v.get("status"):
        status = lookups.statuses.get(v["status"].lower()) or lookups.statuses.get(v["status"])
        if status is None:
            errors.add(
                "status",
                _(
                    "未知的状态“%(text)s”；可选：%(known)s。",
                    text=v["status"][:20],
                    known="、".join(_(label) for label in STATUS_LABELS.values()),
                ),
            )
            status = WorkshopStatus.FILED
    return _Parsed(data, status, v.get("licence_no", ""), v.get("trademark", ""), errors)


def _check_row(parsed: _Parsed) -> Errors:
    """The filing rules, for the columns whose text could be read."""
    errors = filing.check_workshop(parsed.data)
    filing.check_status_extras(errors, parsed.status, parsed.licence_no, parsed.trademark, None)
    merged = Errors()
    for name, messages in errors.items():
        key = FIELD_TO_COLUMN.get(name, name)
        if key in parsed.errors:
            continue  # the text could not be read; say that, not "required"
        for message in messages:
            merged.add(key, message)
    for key, messages in parsed.errors.items():
        for message in messages:
            merged.add(key, message)
    return merged


def _labelled(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """Errors keyed by the column's label (in file order)."""
    order = [c.key for c in COLUMNS]
    keys = sorted(errors, key=lambda k: order.index(k) if k in order else len(order))
    return {_(LABELS.get(key, key)): errors[key] for key in keys}


def _check_rows(rows: list[Row]) -> list[tuple[Row, _Parsed, RowResult]]:
    """Parse and check every row, including duplicates within the file."""
    lookups = _Lookups.load()
    seen_numbers: dict[str, int] = {}
    seen_licences: dict[str, int] = {}
    checked = []
    for row in rows:
        parsed = _parse_row(row, lookups)
        errors = _check_row(parsed)
        number = parsed.data.registration_no
        if number and number in seen_numbers:
            errors.add(
                "registration_no",
                _("与第 %(line)d 行的登记证编号重复。", line=seen_numbers[number]),
            )
        elif number:
            seen_numbers[number] = row.line
        licence = (parsed.licence_no or "").strip().upper()
        if licence and licence in seen_licences:
            errors.add(
                "licence_no",
                _("与第 %(line)d 行的生产许可证编号重复。", line=seen_licences[licence]),
            )
        elif licence:
            seen_licences[licence] = row.line
        result = RowResult(row.line, number, parsed.data.name, _labelled(errors))
        checked.append((row, parsed, result))
    return checked


# --- importing ----------------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    """Signs the rows a report carries, so they come back as they were checked."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=TOKEN_SALT)


def _import(checked, filename: str, by: User, *, valid_only: bool) -> ImportReport:
    """Write the rows that passed when all did (or when *valid_only*); report every row."""
    report = ImportReport(filename, [result for _row, _parsed, result in checked])
    if report.failed and not valid_only:
        if report.valid:
            payload = {
                "filename": filename,
                "rows": [[row.line, row.values, row.problems] for row, _p, _r in checked],
            }
            report.token = _serializer().dumps(payload)
        return report
    for _row, parsed, result in checked:
        if not result.ok:
            continue
        filing.file_workshop(
            parsed.data,
            by=by,
            status=parsed.status,
            licence_no=parsed.licence_no,
            trademark=parsed.trademark,
            reason=_("从名录文件 %(file)s 导入", file=filename[:100]),
        )
        result.imported = True
        report.imported += 1
    record(
        "registry.imported",
        "file",
        filename[:40],
        actor=by,
        rows=len(report.rows),
        imported=report.imported,
        failed=len(report.failed),
    )
    return report


def import_directory(stream, filename: str, *, by: User) -> ImportReport:
    """Check an uploaded directory file and import it when every row passes.

    Regulators only. When any row fails, nothing is written and the report carries a token
    for :func:`import_valid_rows`.
    """
    require_role(by, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    filename = (filename or "").replace("\\", "/").rsplit("/", 1)[-1] or "upload"
    rows = read_rows(read_upload(stream, filename), filename)
    if not rows:
        raise file_error(_("文件中没有数据行。"))
    return _import(_check_rows(rows), filename, by, valid_only=False)


def import_valid_rows(token: str, *, by: User) -> ImportReport:
    """Import the rows of an earlier report that pass now (checked again), skip the rest."""
    require_role(by, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    try:
        payload = _serializer().loads(token or "", max_age=TOKEN_MAX_AGE)
    except SignatureExpired:
        raise file_error(_("校验结果已过期（超过 1 小时），请重新上传文件。")) from None
    except BadSignature:
        raise file_error(_("校验结果无效，请重新上传文件。")) from None
    rows = [Row(line, values, problems) for line, values, problems in payload["rows"]]
    return _import(_check_rows(rows), payload["filename"], by, valid_only=True)
