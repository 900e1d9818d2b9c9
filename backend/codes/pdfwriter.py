"""A small streaming PDF writer: each object goes to the output as soon as it is made.

Only the byte offset of every object (for the cross-reference table) and the object numbers
of the pages are kept, so writing a 10,000-page document takes as much memory as writing a
one-page one, apart from a few bytes per page. The output may be any binary stream with
``write``; it is never seeked or read back.

Enough of PDF 1.4 for label sheets: a catalog, a flat page tree, Flate-compressed content
streams and images, shared resources and the base-14 fonts (which need no embedding).
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Iterable
from datetime import datetime
from hashlib import md5
from typing import BinaryIO

A4 = (595.28, 841.89)  # points
MM = 72 / 25.4  # points per millimetre


def pdf_string(text: str) -> bytes:
    """A literal string for a PDF dictionary or content stream (Latin-1 only)."""
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return b"(" + escaped.encode("latin-1", "replace") + b")"


def pdf_text(text: str) -> bytes:
    """A text string for document metadata: literal if ASCII, else UTF-16BE with a BOM."""
    if text.isascii():
        return pdf_string(text)
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode() + b">"


def pdf_number(value: float) -> bytes:
    """A number with at most three decimals and no exponent."""
    if value == int(value):
        return str(int(value)).encode()
    return f"{value:.3f}".rstrip("0").rstrip(".").encode()


def pdf_date(moment: datetime) -> bytes:
    """A PDF date string, e.g. (D:20261126083000+00'00')."""
    offset = moment.strftime("%z") or "+0000"
    return pdf_string(moment.strftime("D:%Y%m%d%H%M%S") + f"{offset[:3]}'{offset[3:]}'")


class StreamingPdfWriter:
    """Write a PDF object by object to *out*; call :meth:`close` to finish the file."""

    CATALOG = 1
    PAGES = 2

    def __init__(self, out: BinaryIO, *, compress_level: int = 6):
        self._out = out
        self._position = 0
        self._offsets = array("Q", [0, 0, 0])  # object 0 is the free-list head
        self._pages = array("L")
        self._level = compress_level
        self._closed = False
        self._write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")

    @property
    def page_count(self) -> int:
        """How many pages have been written so far."""
        return len(self._pages)

    @property
    def bytes_written(self) -> int:
        """How many bytes have gone to the output so far."""
        return self._position

    def _write(self, data: bytes) -> None:
        """Send *data* to the output and advance the byte count."""
        self._out.write(data)
        self._position += len(data)

    def reserve(self) -> int:
        """Allocate an object number to be written later (e.g. a forward reference)."""
        self._offsets.append(0)
        return len(self._offsets) - 1

    def write_object(self, body: bytes, number: int | None = None) -> int:
        """Write the object *body* (a dictionary, array...) and return its number."""
        if number is None:
            number = self.reserve()
        self._offsets[number] = self._position
        self._write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
        return number

    def write_stream(
        self,
        data: bytes,
        entries: bytes = b"",
        *,
        compress: bool = True,
        number: int | None = None,
    ) -> int:
        """Write a stream object holding *data* (Flate-compressed unless told not to)."""
        if compress:
            data = zlib.compress(data, self._level)
            entries += b" /Filter /FlateDecode"
        if number is None:
            number = self.reserve()
        self._offsets[number] = self._position
        self._write(
            b"%d 0 obj\n<< %s /Length %d >>\nstream\n" % (number, entries.strip(), len(data))
        )
        self._write(data)
        self._write(b"\nendstream\nendobj\n")
        return number

    def add_font(self, base_font: str = "Helvetica") -> int:
        """Add one of the base-14 fonts (WinAnsi encoding) and return its object number."""
        return self.write_object(
            b"<< /Type /Font /Subtype /Type1 /BaseFont /%s /Encoding /WinAnsiEncoding >>"
            % base_font.encode("ascii")
        )

    def add_gray_image(self, width: int, height: int, pixels: bytes) -> int:
        """Add an 8-bit grayscale image XObject (rows top to bottom) and return its number."""
        if len(pixels) != width * height:
            raise ValueError("pixel data does not match the image size")
        return self.write_stream(
            pixels,
            b"/Type /XObject /Subtype /Image /Width %d /Height %d "
            b"/ColorSpace /DeviceGray /BitsPerComponent 8" % (width, height),
        )

    def add_resources(self, fonts: dict[str, int], images: dict[str, int]) -> int:
        """Add a resource dictionary that every page can share; return its number."""
        font_part = b" ".join(b"/%s %d 0 R" % (k.encode(), v) for k, v in fonts.items())
        image_part = b" ".join(b"/%s %d 0 R" % (k.encode(), v) for k, v in images.items())
        return self.write_object(
            b"<< /ProcSet [/PDF /Text /ImageB] /Font << %s >> /XObject << %s >> >>"
            % (font_part, image_part)
        )

    def add_page(self, content: bytes, resources: int, size: tuple[float, float] = A4) -> int:
        """Write one page with its content stream; nothing of it stays in memory."""
        contents = self.write_stream(content)
        page = self.write_object(
            b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %s %s] /Resources %d 0 R "
            b"/Contents %d 0 R >>"
            % (self.PAGES, pdf_number(size[0]), pdf_number(size[1]), resources, contents)
        )
        self._pages.append(page)
        return page

    def _kids(self) -> Iterable[bytes]:
        """The page references of the page tree, in chunks."""
        for start in range(0, len(self._pages), 1000):
            yield b" ".join(b"%d 0 R" % n for n in self._pages[start : start + 1000])

    def close(self, *, title: str = "", producer: str = "Yipin", created: datetime) -> None:
        """Write the page tree, catalog, document information, xref table and trailer."""
        if self._closed:
            return
        if not self._pages:
            raise ValueError("a PDF needs at least one page")
        self._offsets[self.PAGES] = self._position
        self._write(b"%d 0 obj\n<< /Type /Pages /Count %d /Kids [" % (self.PAGES, self.page_count))
        for index, chunk in enumerate(self._kids()):
            self._write((b"\n" if index else b"") + chunk)
        self._write(b"] >>\nendobj\n")
        self.write_object(b"<< /Type /Catalog /Pages %d 0 R >>" % self.PAGES, self.CATALOG)
        info = self.write_object(
            b"<< /Title %s /Producer %s /CreationDate %s >>"
            % (pdf_text(title), pdf_text(producer), pdf_date(created))
        )
        file_id = md5(
            b"%s %d %d" % (title.encode(), self._position, len(self._offsets)),
            usedforsecurity=False,
        ).hexdigest()
        xref = self._position
        self._write(b"xref\n0 %d\n0000000000 65535 f \n" % len(self._offsets))
        for start in range(1, len(self._offsets), 1000):
            self._write(
                b"".join(b"%010d 00000 n \n" % off for off in self._offsets[start : start + 1000])
            )
        self._write(
            b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /ID [<%s> <%s>] >>\n"
            b"startxref\n%d\n%%%%EOF\n"
            % (len(self._offsets), self.CATALOG, info, file_id.encode(), file_id.encode(), xref)
        )
        self._closed = True
