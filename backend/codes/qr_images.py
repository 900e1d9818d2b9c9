"""QR images of one code, and the code as people read it.

The QR of a code encodes its printed link, ``scan_url(code)``, with error correction M and
a quiet zone of four modules.
"""

from __future__ import annotations

import io

import qrcode
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M

from backend.codes.pdfwriter import pdf_number

QR_BORDER = 4  # modules of quiet zone on every side


def qr_matrix(url: str) -> list[list[bool]]:
    """The QR modules of *url* (True is dark), quiet zone included, ECC level M."""
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=QR_BORDER)
    qr.add_data(url)
    qr.make(fit=True)
    return qr.get_matrix()


def dark_rectangles(matrix: list[list[bool]]) -> list[tuple[int, int, int, int]]:
    """Cover the dark modules with rectangles ``(x, y, width, height)``, y going down.

    Horizontal runs of dark modules are merged, then identical runs of consecutive rows.
    """
    done: list[tuple[int, int, int, int]] = []
    open_runs: dict[tuple[int, int], int] = {}  # (x, width) -> first row
    for y, row in enumerate(matrix):
        runs = set()
        x, size = 0, len(row)
        while x < size:
            if row[x]:
                start = x
                while x < size and row[x]:
                    x += 1
                runs.add((start, x - start))
            else:
                x += 1
        for run in list(open_runs):
            if run not in runs:
                first = open_runs.pop(run)
                done.append((run[0], first, run[1], y - first))
        for run in runs:
            open_runs.setdefault(run, y)
    for run, first in open_runs.items():
        done.append((run[0], first, run[1], len(matrix) - first))
    done.sort(key=lambda r: (r[1], r[0]))
    return done


def qr_png(url: str, *, box_size: int = 10) -> bytes:
    """A black-and-white PNG of the QR of *url*, *box_size* pixels per module."""
    matrix = qr_matrix(url)
    size = len(matrix)
    pixels = bytes(0 if dark else 255 for row in matrix for dark in row)
    image = Image.frombytes("L", (size, size), pixels)
    image = image.resize((size * box_size, size * box_size), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.convert("1").save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def qr_svg(url: str, *, module_mm: float = 1.0) -> bytes:
    """An SVG of the QR of *url*: a white square and one ``<rect>`` per dark rectangle."""
    matrix = qr_matrix(url)
    size = len(matrix)
    rects = "".join(
        f'<rect x="{x}" y="{y}" width="{w}" height="{h}"/>'
        for x, y, w, h in dark_rectangles(matrix)
    )
    side = pdf_number(size * module_mm).decode()
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{side}mm" '
        f'height="{side}mm" viewBox="0 0 {size} {size}" shape-rendering="crispEdges">'
        f"<title>{_xml_escape(url)}</title>"
        f'<rect width="{size}" height="{size}" fill="#fff"/>'
        f'<g fill="#000">{rects}</g></svg>\n'
    ).encode()


def _xml_escape(text: str) -> str:
    """Escape text for an XML element."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def group_code(code: str) -> str:
    """The code in groups of four for people to read: XXXX-XXXX-XXXX-XXXX-X."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))
