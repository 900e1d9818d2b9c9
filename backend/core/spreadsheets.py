"""Tables as CSV or XLSX files, safe to open in a spreadsheet.

Every export of the console (registry, inspections, results) goes through here, so every
one neutralises formulas the same way: a text cell that begins with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return gets a leading apostrophe (and :func:`unneutralise`
takes it off again when a file comes back as an import). CSV is UTF-8 with a BOM so that
Excel reads the Chinese; in XLSX dates stay dates and every text is a text cell.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime

DANGEROUS_LEADERS = ("=", "+", "-", "@", "\t", "\r")
FORMATS = ("csv", "xlsx")
MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def neutralise(value):
    """A cell value that no spreadsheet will run as a formula (texts get a leading ')."""
    if isinstance(value, str) and value.startswith(DANGEROUS_LEADERS):
        return "'" + value
    return value


def unneutralise(text: str) -> str:
    """Take off the apostrophe :func:`neutralise` put before a dangerous first character."""
    if text.startswith("'") and text[1:].startswith(DANGEROUS_LEADERS):
        return text[1:]
    return text


def _csv_text(value) -> str:
    """A value as CSV text: dates in ISO form, None as empty, formulas defused."""
    if isinstance(value, datetime):
        value = f"{value:%Y-%m-%d %H:%M}"
    elif isinstance(value, date):
        value = value.isoformat()
    return neutralise("" if value is None else str(value))


def to_csv(rows: Iterable[Sequence]) -> bytes:
    """*rows* (the first one the header) as UTF-8 CSV with a BOM, formulas defused."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for values in rows:
        writer.writerow([_csv_text(v) for v in values])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(rows: Iterable[Sequence], sheet_title: str) -> bytes:
    """*rows* as a one-sheet XLSX workbook: dates as dates, texts never read as formulas."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31])
    for values in rows:
        cells = []
        for value in values:
            if isinstance(value, date | datetime):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = (
                    "yyyy-mm-dd hh:mm" if isinstance(value, datetime) else ("yyyy-mm-dd")
                )
            elif isinstance(value, int | float) and not isinstance(value, bool):
                cell = WriteOnlyCell(sheet, value=value)
            else:
                text = ILLEGAL_CHARACTERS_RE.sub("", "" if value is None else str(value))
                cell = WriteOnlyCell(sheet, value=neutralise(text))
                cell.data_type = "s"  # a text cell, whatever it starts with
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def render(rows: Iterable[Sequence], fmt: str, sheet_title: str) -> bytes:
    """*rows* in *fmt* (``csv`` or ``xlsx``)."""
    return to_xlsx(rows, sheet_title) if fmt == "xlsx" else to_csv(rows)
