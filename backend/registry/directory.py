"""The workshop directory as a file: import from CSV or XLSX, export to CSV or XLSX.

An import is checked row by row against the same rules as the filing form
(:mod:`backend.registry.filing`) before anything is written. When any row fails nothing is
imported and the report says what is wrong with each row; the regulator may then choose to
import only the rows that passed (the report carries them in a signed token, so the file
need not be sent again). Exports neutralise spreadsheet formulas: a cell that begins with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading apostrophe, and an
import takes that apostrophe off again, so a file goes round unchanged.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from backend.accounts.models import User
from backend.audit.log import record
from backend.core import spreadsheets
from backend.core.errors import Errors, ValidationError
from backend.core.i18n import N_
from backend.core.i18n import gettext as _
from backend.core.spreadsheets import unneutralise
from backend.core.time import local_today
from backend.extensions import db
from backend.registry import filing
from backend.registry.filing import STATUS_LABELS, WorkshopInput
from backend.registry.models import Brand, ProductCategory, Workshop, WorkshopStatus, Zone

TOKEN_SALT = "registry-import"
TOKEN_MAX_AGE = 3600  # seconds a validation report can still be imported from
UNZIPPED_FACTOR = 20  # an XLSX may unzip to at most this many times the upload limit
MAX_COLUMNS = 40
LONG_TERM = {"长期", "长期有效", "long-term", "long term", "longterm"}
SPLIT_TYPES = re.compile(r"[、,，;；/|\s]+")
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d")


@dataclass(frozen=True)
class Column:
    """A column of the directory file."""

    key: str
    label: str
    required: bool = False


COLUMNS = (
    Column("registration_no", N_("登记证编号"), True),
    Column("name", N_("作坊名称"), True),
    Column("operator_name", N_("经营者"), True),
    Column("contact_phone", N_("联系电话")),
    Column("address", N_("生产地址"), True),
    Column("township", N_("所在乡镇"), True),
    Column("product_types", N_("准许生产食品类别"), True),
    Column("issuing_authority", N_("发证机关"), True),
    Column("cert_issued_on", N_("发证日期"), True),
    Column("cert_valid_until", N_("有效期至"), True),
    Column("zone", N_("所属加工区")),
    Column("brand", N_("使用品牌")),
    Column("status", N_("状态")),
    Column("licence_no", N_("食品生产许可证编号")),
    Column("trademark", N_("商标")),
)
LABELS = {column.key: column.label for column in COLUMNS}
# Where the form's field names differ from the file's column keys.
FIELD_TO_COLUMN = {"zone_id": "zone", "brand_id": "brand", "cert_long_term": "cert_valid_until"}


@dataclass
class Row:
    """One data row of the file: its line number, raw texts and cell-level problems."""

    line: int
    values: dict[str, str]
    problems: dict[str, str] = field(default_factory=dict)


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


# --- reading files ------------------------------------------------------------------------


def _file_error(message: str):
    """A ValidationError about the uploaded file as a whole."""
    return ValidationError(message, slug="import_file_invalid", errors={"file": [message]})


def size_text(size: int) -> str:
    """A byte count as people say it: 2 MB, 500 KB."""
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.3g} MB"
    return f"{max(1, round(size / 1024))} KB"


def read_upload(stream, filename: str) -> bytes:
    """The upload's bytes, refusing files over ``REGISTRY_IMPORT_MAX_BYTES``."""
    limit = current_app.config["REGISTRY_IMPORT_MAX_BYTES"]
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise _file_error(
            _(
                "文件过大：不能超过 %(size)s。请拆分后分批导入。",
                size=size_text(limit),
            )
        )
    if not data:
        raise _file_error(_("文件是空的。"))
    return data


def _header_key(text) -> str | None:
    """The column key a header cell names (Chinese label or English key), or None."""
    cleaned = re.sub(r"[\s*＊]", "", str(text or "")).lower()
    for column in COLUMNS:
        if cleaned in (column.label, column.key, column.key.replace("_", "")):
            return column.key
    return None


def _columns(header: list) -> dict[int, str]:
    """Column index → key for the header row; a file error when required ones are missing."""
    found = {}
    for index, text in enumerate(header):
        key = _header_key(text)
        if key and key not in found.values():
            found[index] = key
    missing = [c.label for c in COLUMNS if c.required and c.key not in found.values()]
    if missing:
        raise _file_error(
            _(
                "第一行应为列名，缺少：%(columns)s。请使用“下载模板”得到的表头。",
                columns="、".join(_(m) for m in missing),
            )
        )
    return found


def _cell_text(value) -> str:
    """An XLSX cell's value as the text a person would have typed."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _too_many_rows() -> ValidationError:
    """The file has more rows than one import takes."""
    limit = current_app.config["REGISTRY_IMPORT_MAX_ROWS"]
    return _file_error(_("文件超过 %(rows)d 行，请拆分后分批导入。", rows=limit))


def _read_csv(data: bytes) -> list[Row]:
    """Rows of a CSV file in UTF-8 (with or without BOM) or GB18030 (Excel's Chinese CSV)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes nearly anything
        raise _file_error(_("无法识别文件编码，请保存为 UTF-8 编码的 CSV。"))
    if "\x00" in text:
        raise _file_error(_("这不是文本格式的 CSV 文件。"))
    limit = current_app.config["REGISTRY_IMPORT_MAX_ROWS"]
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise _file_error(_("文件是空的。"))
        columns = _columns(header)
        rows = []
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if len(rows) >= limit:
                raise _too_many_rows()
            values = {key: cells[i] if i < len(cells) else "" for i, key in columns.items()}
            rows.append(Row(reader.line_num, values))
    except csv.Error:
        raise _file_error(_("CSV 格式有误（第 %(line)d 行）。", line=reader.line_num)) from None
    return rows


def _read_xlsx(data: bytes) -> list[Row]:
    """Rows of the first sheet of an XLSX workbook; formula cells are refused."""
    from openpyxl import load_workbook

    limit = current_app.config["REGISTRY_IMPORT_MAX_BYTES"] * UNZIPPED_FACTOR
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > limit:
                raise _file_error(_("文件解压后过大，无法读取。"))
    except zipfile.BadZipFile:
        raise _file_error(_("无法读取该 XLSX 文件，请确认它是 Excel 工作簿（.xlsx）。")) from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # style oddities of other programs' files
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds for a damaged or foreign file
        raise _file_error(_("无法读取该 XLSX 文件，请确认它是 Excel 工作簿（.xlsx）。")) from None
    try:
        sheet = workbook.worksheets[0]
        cells_iter = sheet.iter_rows(max_col=MAX_COLUMNS)
        header = next(cells_iter, None)
        if header is None:
            raise _file_error(_("文件是空的。"))
        columns = _columns([cell.value for cell in header])
        rows, max_rows = [], current_app.config["REGISTRY_IMPORT_MAX_ROWS"]
        for line, cells in enumerate(cells_iter, start=2):
            if not any(c.value not in (None, "") for c in cells):
                continue
            if len(rows) >= max_rows:
                raise _too_many_rows()
            row = Row(line, {})
            for index, key in columns.items():
                cell = cells[index] if index < len(cells) else None
                if cell is not None and cell.data_type == "f":
                    row.problems[key] = _("单元格含有公式，请改为直接填写的文字或日期。")
                    row.values[key] = ""
                else:
                    row.values[key] = _cell_text(cell.value if cell is not None else None)
            rows.append(row)
    finally:
        workbook.close()
    return rows


def read_rows(data: bytes, filename: str) -> list[Row]:
    """The data rows of a CSV or XLSX file (by its name and its first bytes)."""
    name = (filename or "").lower()
    if data.startswith(b"\xd0\xcf\x11\xe0") or name.endswith(".xls"):
        raise _file_error(_("不支持旧版 Excel（.xls）文件，请另存为 .xlsx 或 CSV 后再导入。"))
    if name.endswith(".xlsx") or data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data)
    if name.endswith(".csv") or name.endswith(".txt"):
        return _read_csv(data)
    raise _file_error(_("只支持 .csv 和 .xlsx 文件。"))


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
    filing.require_regulator(by)
    filename = (filename or "").replace("\\", "/").rsplit("/", 1)[-1] or "upload"
    rows = read_rows(read_upload(stream, filename), filename)
    if not rows:
        raise _file_error(_("文件中没有数据行。"))
    return _import(_check_rows(rows), filename, by, valid_only=False)


def import_valid_rows(token: str, *, by: User) -> ImportReport:
    """Import the rows of an earlier report that pass now (checked again), skip the rest."""
    filing.require_regulator(by)
    try:
        payload = _serializer().loads(token or "", max_age=TOKEN_MAX_AGE)
    except SignatureExpired:
        raise _file_error(_("校验结果已过期（超过 1 小时），请重新上传文件。")) from None
    except BadSignature:
        raise _file_error(_("校验结果无效，请重新上传文件。")) from None
    rows = [Row(line, values, problems) for line, values, problems in payload["rows"]]
    return _import(_check_rows(rows), payload["filename"], by, valid_only=True)


# --- exporting ----------------------------------------------------------------------------


def _export_values(workshop: Workshop) -> list:
    """A workshop as a row of the directory file (the import's columns)."""
    return [
        workshop.registration_no,
        workshop.name,
        workshop.operator_name,
        workshop.contact_phone,
        workshop.address,
        workshop.township,
        "、".join(c.name_zh for c in workshop.product_types),
        workshop.issuing_authority,
        workshop.cert_issued_on,
        "长期" if workshop.cert_long_term else workshop.cert_valid_until,
        workshop.zone.name_zh if workshop.zone else "",
        workshop.brand.name_zh if workshop.brand else "",
        STATUS_LABELS[workshop.status],
        workshop.licence_no or "",
        workshop.trademark or "",
    ]


def _export_rows(workshops: list[Workshop], *, template: bool) -> list[list]:
    """Header (in Chinese, the file's language) and rows."""
    header = [column.label for column in COLUMNS]
    return [header] + ([] if template else [_export_values(w) for w in workshops])


def to_csv(workshops: list[Workshop], *, template: bool = False) -> bytes:
    """The directory as UTF-8 CSV with a BOM (so Excel reads the Chinese), formulas defused."""
    return spreadsheets.to_csv(_export_rows(workshops, template=template))


def to_xlsx(workshops: list[Workshop], *, template: bool = False) -> bytes:
    """The directory as an XLSX workbook: dates as dates, texts never read as formulas."""
    return spreadsheets.to_xlsx(_export_rows(workshops, template=template), "作坊名录")


def export_directory(filters: filing.RegistryFilter, fmt: str, *, by: User) -> tuple[bytes, str]:
    """The filtered directory as (file bytes, file name); the export is audited."""
    workshops = filing.all_workshops(filters, by=by)
    data = to_xlsx(workshops) if fmt == "xlsx" else to_csv(workshops)
    record("registry.exported", "registry", "-", actor=by, rows=len(workshops), format=fmt)
    return data, f"workshops-{local_today():%Y%m%d}.{fmt}"
