"""Printing: the A4 label sheet of a whole run of codes (the QR of one code is
:mod:`backend.codes.qr_images`'s).

The label sheet is streamed: each page goes to the output as soon as its labels are laid
out (see :mod:`backend.codes.pdfwriter`), so memory does not grow with the run. Every label
of a run shares the batch's fixed text (product, workshop, certificate, dates...), which is
rendered once with Pillow into a grayscale image; per label, only the QR (vector
rectangles) and the code text (base-14 Helvetica, no embedding) are written.

Chinese text needs a CJK font: ``LABEL_FONT_PATH`` if set (``path`` or ``path#face``),
else a well-known system font, else the GB 2312 subset of WenQuanYi Micro Hei shipped in
``static/fonts/``.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageDraw, ImageFont

from backend.codes.pdfwriter import A4, MM, StreamingPdfWriter, pdf_number, pdf_string
from backend.codes.qr_images import dark_rectangles, group_code, qr_matrix
from backend.codes.urls import scan_url
from backend.core.errors import ServiceUnavailable
from backend.core.time import utcnow

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]

# ---------------------------------------------------------------------------------------
# Fonts
# ---------------------------------------------------------------------------------------

BUNDLED_FONT = Path(__file__).resolve().parents[2] / "static" / "fonts" / "wqy-microhei-gb2312.ttf"
# (path, face index) of CJK fonts that Debian, macOS and Windows install.
SYSTEM_FONTS: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),  # face 2: SC
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
    ("/System/Library/Fonts/PingFang.ttc", 0),
    ("/System/Library/Fonts/STHeiti Light.ttc", 0),
    ("C:/Windows/Fonts/msyh.ttc", 0),
    ("C:/Windows/Fonts/simhei.ttf", 0),
)


@dataclass(frozen=True)
class FontChoice:
    """A CJK font file and the face to use in it."""

    path: str
    index: int = 0

    def load(self, size: float) -> ImageFont.FreeTypeFont:
        """The font at *size* pixels."""
        return _load_font(self.path, self.index, size)


@lru_cache(maxsize=64)
def _load_font(path: str, index: int, size: float) -> ImageFont.FreeTypeFont:
    """Open a font face once per size."""
    return ImageFont.truetype(path, size=size, index=index)


def parse_font_setting(value: str) -> FontChoice:
    """Read ``LABEL_FONT_PATH``: a path, optionally with ``#<face index>`` for collections."""
    path, hash_, face = value.rpartition("#")
    if hash_ and face.isdigit():
        return FontChoice(path, int(face))
    return FontChoice(value)


def find_font() -> FontChoice:
    """The CJK font for labels, or ServiceUnavailable with what to install or set."""
    configured = current_app.config.get("LABEL_FONT_PATH")
    if configured:
        choice = parse_font_setting(configured)
        if not Path(choice.path).is_file():
            raise ServiceUnavailable(
                _(
                    "LABEL_FONT_PATH 指向的字体文件不存在：%(path)s。"
                    "请改为一个中文字体文件（.ttf/.ttc/.otf）的路径。",
                    path=choice.path,
                ),
                slug="label_font_missing",
            )
        return choice
    for path, index in SYSTEM_FONTS:
        if Path(path).is_file():
            return FontChoice(path, index)
    if BUNDLED_FONT.is_file():
        return FontChoice(str(BUNDLED_FONT))
    raise ServiceUnavailable(
        _(
            "找不到中文字体，无法打印标签：请安装 fonts-wqy-microhei 或 fonts-noto-cjk，"
            "或用 LABEL_FONT_PATH 指定一个中文字体文件。"
        ),
        slug="label_font_missing",
    )


def missing_glyphs(font: ImageFont.FreeTypeFont, text: str) -> str:
    """The characters of *text* that *font* has no glyph for (they would print as boxes)."""
    notdef = font.getmask("\U0010fffd")
    blank = (notdef.size, bytes(notdef))
    missing = []
    for ch in dict.fromkeys(text):
        if ch.isspace():
            continue
        mask = font.getmask(ch)
        if (mask.size, bytes(mask)) == blank:
            missing.append(ch)
    return "".join(missing)


# ---------------------------------------------------------------------------------------
# The fixed text of a run
# ---------------------------------------------------------------------------------------

NO_SHELF_LIFE = "无固定保质期/不适用"


@dataclass(frozen=True)
class LabelText:
    """What every label of one batch says besides its code: the label fields of the law."""

    product: str
    workshop: str
    registration_no: str
    produced_on: str
    shelf_life: str
    batch_no: str
    alcohol: str = ""
    certificate_caption: str = "登记证号"
    address: str = ""
    contact: str = ""
    ingredients: str = ""
    storage: str = ""

    def lines(self) -> list[tuple[str, str, bool]]:
        """``(caption, value, required)`` in printing order; optional lines may be dropped."""
        lines = [
            ("品名", self.product, True),
            ("生产者", self.workshop, True),
            (self.certificate_caption, self.registration_no, True),
            ("生产日期", self.produced_on, True),
            ("保质期", self.shelf_life, True),
        ]
        if self.alcohol:
            lines.append(("酒精度", self.alcohol, True))
        lines.append(("批号", self.batch_no, True))
        for caption, value in (
            ("地址", self.address),
            ("电话", self.contact),
            ("配料", self.ingredients),
            ("贮存", self.storage),
        ):
            if value:
                lines.append((caption, value, False))
        return lines


def format_shelf_life(days: int | None, expires_on: date | None) -> str:
    """``365天`` (with the date when known), or 无固定保质期/不适用."""
    if days is None and expires_on is None:
        return NO_SHELF_LIFE
    parts = []
    if days is not None:
        parts.append(f"{days}天")
    if expires_on is not None:
        parts.append(f"至{expires_on.isoformat()}")
    return " ".join(parts)


def format_alcohol(value: float | None) -> str:
    """Labelled alcohol content, e.g. ``12%vol``; empty when there is none."""
    if value is None:
        return ""
    return f"{value:g}%vol"


# ---------------------------------------------------------------------------------------
# Sheet layout
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SheetLayout:
    """Where labels sit on a page, in points; the default is A4 2×7 of 99.1×38.1 mm."""

    name: str = "A4 2×7, 99.1×38.1 mm (L7163)"
    page: tuple[float, float] = A4
    columns: int = 2
    rows: int = 7
    label_width: float = 99.1 * MM
    label_height: float = 38.1 * MM
    left: float = 4.65 * MM
    top: float = 15.15 * MM
    pitch_x: float = 101.6 * MM
    pitch_y: float = 38.1 * MM
    # Inside one label, from its top-left corner:
    qr_left: float = 1.5 * MM
    qr_top: float = 1.5 * MM
    qr_side: float = 30 * MM  # quiet zone included
    text_left: float = 33 * MM
    text_top: float = 2.2 * MM
    text_width: float = 63.6 * MM
    text_height: float = 30.6 * MM
    dpi: int = 300  # of the fixed text image

    @property
    def per_page(self) -> int:
        """Labels on one page."""
        return self.columns * self.rows

    def label_origin(self, slot: int) -> tuple[float, float]:
        """Top-left corner of label *slot* (0-based, row by row) in PDF coordinates."""
        row, column = divmod(slot, self.columns)
        x = self.left + column * self.pitch_x
        y = self.page[1] - self.top - row * self.pitch_y
        return x, y

    def label_box(self, slot: int) -> tuple[float, float, float, float]:
        """``(left, top, right, bottom)`` of label *slot* from the page's top-left, in points."""
        row, column = divmod(slot, self.columns)
        left = self.left + column * self.pitch_x
        top = self.top + row * self.pitch_y
        return left, top, left + self.label_width, top + self.label_height


DEFAULT_LAYOUT = SheetLayout()

# Advance widths of Helvetica (per 1000 em) for the characters of code text.
_HELVETICA = {
    **dict.fromkeys("0123456789#", 556),
    **dict.fromkeys("ABEKPSVXY", 667),
    **dict.fromkeys("CDHNRU", 722),
    **dict.fromkeys("FTZ", 611),
    **dict.fromkeys("GOQ", 778),
    "I": 278,
    "J": 500,
    "L": 556,
    "M": 833,
    "W": 944,
    "-": 333,
    " ": 278,
    ".": 278,
    ":": 278,
    "o": 556,
}


def helvetica_width(text: str, size: float) -> float:
    """The width of *text* set in Helvetica at *size* points."""
    return sum(_HELVETICA.get(ch, 667) for ch in text) * size / 1000


MAX_TEXT_PT = 9.0
MIN_TEXT_PT = 6.0  # about 2.1 mm high characters: above GB 7718's 1.8 mm minimum
LINE_SPACING = 1.25


def fit_text_block(
    text: LabelText, font: FontChoice, layout: SheetLayout = DEFAULT_LAYOUT
) -> tuple[float, list[str]]:
    """Choose the font size (pixels) and the rows of the fixed text for the text area.

    The largest size from 9 pt down to 6 pt at which every line fits wins; if none does,
    optional lines (address, contact, ingredients, storage) are dropped from the end at
    6 pt. Long values wrap onto a second row and are cut with "…" after that.
    """
    scale = layout.dpi / 72
    width = round(layout.text_width * scale)
    height = round(layout.text_height * scale)
    lines = text.lines()
    points = MAX_TEXT_PT
    while points >= MIN_TEXT_PT:
        size = points * scale
        rows = _fit_lines(lines, font.load(size), width, height, size)
        if rows is not None:
            return size, rows
        points -= 0.5
    size = MIN_TEXT_PT * scale
    kept = list(lines)
    while any(not required for _, _, required in kept):
        kept.pop(max(i for i, line in enumerate(kept) if not line[2]))
        rows = _fit_lines(kept, font.load(size), width, height, size)
        if rows is not None:
            return size, rows
    # The required lines alone overflow: keep the rows that fit, top first.
    rows = _wrap_all(kept, font.load(size), width)
    return size, rows[: int((height + size * (LINE_SPACING - 1)) // (size * LINE_SPACING))]


def render_text_block(
    text: LabelText, font: FontChoice, layout: SheetLayout = DEFAULT_LAYOUT
) -> Image.Image:
    """The fixed text of a run as a grayscale image of the label's text area."""
    scale = layout.dpi / 72
    size, rows = fit_text_block(text, font, layout)
    loaded = font.load(size)
    missing = missing_glyphs(loaded, "".join(rows))
    if missing:
        log.warning("label font %s has no glyphs for %r; they print as boxes", font, missing)
    image = Image.new(
        "L", (round(layout.text_width * scale), round(layout.text_height * scale)), 255
    )
    draw = ImageDraw.Draw(image)
    for index, row in enumerate(rows):
        draw.text((0, index * size * LINE_SPACING), row, font=loaded, fill=0)
    return image


def _wrap(caption: str, value: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """``caption：value`` wrapped to *width* pixels on two lines at most (cut with …)."""
    first = f"{caption}："
    indent = " " * 2
    rows: list[str] = []
    current = first
    for ch in value:
        if font.getlength(current + ch) > width:
            rows.append(current)
            current = indent + ch
        else:
            current += ch
    rows.append(current)
    if len(rows) > 2:
        second = rows[1]
        while second and font.getlength(second + "…") > width:
            second = second[:-1]
        rows = [rows[0], second + "…"]
    return rows


def _wrap_all(lines, font, width) -> list[str]:
    """Every line wrapped."""
    return [row for caption, value, _ in lines for row in _wrap(caption, value, font, width)]


def _fit_lines(lines, font, width, height, size) -> list[str] | None:
    """The wrapped rows of *lines* if they fit in *height* at *size*, else None."""
    rows = _wrap_all(lines, font, width)
    if len(rows) * size * LINE_SPACING - size * (LINE_SPACING - 1) > height:
        return None
    return rows


# ---------------------------------------------------------------------------------------
# The sheet
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SheetResult:
    """What a rendered sheet holds."""

    labels: int
    pages: int
    size: int


def label_content(
    slot: int,
    serial: int,
    code: str,
    url: str,
    layout: SheetLayout,
    image_name: str = "Fix",
    font_name: str = "F1",
) -> bytes:
    """The content-stream operators that draw one label in *slot*."""
    x0, y0 = layout.label_origin(slot)
    matrix = qr_matrix(url)
    module = layout.qr_side / len(matrix)
    qr_x, qr_y = x0 + layout.qr_left, y0 - layout.qr_top
    ops = [
        b"q %s 0 0 %s %s %s cm 0 g"
        % (pdf_number(module), pdf_number(-module), pdf_number(qr_x), pdf_number(qr_y))
    ]
    ops.extend(b"%d %d %d %d re" % rect for rect in dark_rectangles(matrix))
    ops.append(b"f Q")
    text_w, text_h = layout.text_width, layout.text_height
    ops.append(
        b"q %s 0 0 %s %s %s cm /%s Do Q"
        % (
            pdf_number(text_w),
            pdf_number(text_h),
            pdf_number(x0 + layout.text_left),
            pdf_number(y0 - layout.text_top - text_h),
            image_name.encode(),
        )
    )
    grouped = group_code(code)
    size = min(7.5, layout.qr_side * 0.92 / (helvetica_width(grouped, 1) or 1))
    text_x = qr_x + (layout.qr_side - helvetica_width(grouped, size)) / 2
    text_y = qr_y - layout.qr_side - size * 0.8
    serial_text = f"No. {serial}"
    ops.append(
        b"BT /%s %s Tf %s %s Td %s Tj ET"
        % (
            font_name.encode(),
            pdf_number(size),
            pdf_number(text_x),
            pdf_number(text_y),
            pdf_string(grouped),
        )
    )
    ops.append(
        b"BT /%s 6 Tf %s %s Td %s Tj ET"
        % (
            font_name.encode(),
            pdf_number(x0 + layout.text_left),
            pdf_number(y0 - layout.label_height + 1.8 * MM),
            pdf_string(serial_text),
        )
    )
    return b"\n".join(ops)


def write_label_sheet(
    out: BinaryIO,
    text: LabelText,
    codes: Iterable[tuple[int, str]],
    total: int,
    *,
    url_for: Callable[[str], str] = scan_url,
    layout: SheetLayout = DEFAULT_LAYOUT,
    font: FontChoice | None = None,
    progress: ProgressCallback | None = None,
    title: str = "",
) -> SheetResult:
    """Write the label sheet of *codes* (``(serial, code)`` pairs, consumed lazily) to *out*.

    Each page is written as soon as its labels are laid out; *progress* is called with
    ``(labels done, total)`` after every page.
    """
    font = font or find_font()
    block = render_text_block(text, font, layout)
    writer = StreamingPdfWriter(out)
    helvetica = writer.add_font("Helvetica")
    image = writer.add_gray_image(block.width, block.height, block.tobytes())
    del block
    resources = writer.add_resources({"F1": helvetica}, {"Fix": image})
    done = 0
    for page in _pages(codes, layout.per_page):
        content = b"\n".join(
            label_content(slot, serial, code, url_for(code), layout)
            for slot, (serial, code) in enumerate(page)
        )
        writer.add_page(content, resources, layout.page)
        done += len(page)
        if progress is not None:
            progress(done, max(total, done))
    if done == 0:
        raise ValueError("no codes to print")
    writer.close(title=title, created=utcnow())
    return SheetResult(labels=done, pages=writer.page_count, size=writer.bytes_written)


def _pages(codes: Iterable[tuple[int, str]], per_page: int) -> Iterator[list[tuple[int, str]]]:
    """Group *codes* into pages without reading ahead more than one page."""
    iterator = iter(codes)
    while page := list(itertools.islice(iterator, per_page)):
        yield page
