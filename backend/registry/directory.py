"""The workshop directory as a file: its columns, reading CSV or XLSX, writing CSV or XLSX.

Importing a file is :mod:`backend.registry.imports`. Exports neutralise spreadsheet formulas:
a cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
leading apostrophe, and an import takes that apostrophe off again, so a file goes round
unchanged.
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

from backend.accounts.models import User
from backend.audit.log import record
from backend.core import spreadsheets
from backend.core.errors import ValidationError
from backend.core.i18n import N_
from backend.core.i18n import gettext as _
from backend.core.time import local_today
from backend.registry.filing import STATUS_LABELS
from backend.registry.listing import RegistryFilter, all_workshops
from backend.registry.models import Workshop

UNZIPPED_FACTOR = 20  # an XLSX may unzip to at most this many times the upload limit
MAX_COLUMNS = 40


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


# --- reading files ------------------------------------------------------------------------


def file_error(message: str):
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
        raise file_error(
            _(
                "文件过大：不能超过 %(size)s。请拆分后分批导入。",
                size=size_text(limit),
            )
        )
    if not data:
        raise file_error(_("文件是空的。"))
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
        raise file_error(
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
    return file_error(_("文件超过 %(rows)d 行，请拆分后分批导入。", rows=limit))


def _read_csv(data: bytes) -> list[Row]:
    """Rows of a CSV file in UTF-8 (with or without BOM) or GB18030 (Excel's Chinese CSV)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes nearly anything
        raise file_error(_("无法识别文件编码，请保存为 UTF-8 编码的 CSV。"))
    if "\x00" in text:
        raise file_error(_("这不是文本格式的 CSV 文件。"))
    limit = current_app.config["REGISTRY_IMPORT_MAX_ROWS"]
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise file_error(_("文件是空的。"))
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
        raise file_error(_("CSV 格式有误（第 %(line)d 行）。", line=reader.line_num)) from None
    return rows


def _read_xlsx(data: bytes) -> list[Row]:
    """Rows of the first sheet of an XLSX workbook; formula cells are refused."""
    from openpyxl import load_workbook

    limit = current_app.config["REGISTRY_IMPORT_MAX_BYTES"] * UNZIPPED_FACTOR
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > limit:
                raise file_error(_("文件解压后过大，无法读取。"))
    except zipfile.BadZipFile:
        raise file_error(_("无法读取该 XLSX 文件，请确认它是 Excel 工作簿（.xlsx）。")) from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # style oddities of other programs' files
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds for a damaged or foreign file
        raise file_error(_("无法读取该 XLSX 文件，请确认它是 Excel 工作簿（.xlsx）。")) from None
    try:
        sheet = workbook.worksheets[0]
        cells_iter = sheet.iter_rows(max_col=MAX_COLUMNS)
        header = next(cells_iter, None)
        if header is None:
            raise file_error(_("文件是空的。"))
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
        raise file_error(_("不支持旧版 Excel（.xls）文件，请另存为 .xlsx 或 CSV 后再导入。"))
    if name.endswith(".xlsx") or data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data)
    if name.endswith(".csv") or name.endswith(".txt"):
        return _read_csv(data)
    raise file_error(_("只支持 .csv 和 .xlsx 文件。"))


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


def export_directory(filters: RegistryFilter, fmt: str, *, by: User) -> tuple[bytes, str]:
    """The filtered directory as (file bytes, file name); the export is audited."""
    workshops = all_workshops(filters, by=by)
    data = to_xlsx(workshops) if fmt == "xlsx" else to_csv(workshops)
    record("registry.exported", "registry", "-", actor=by, rows=len(workshops), format=fmt)
    return data, f"workshops-{local_today():%Y%m%d}.{fmt}"
