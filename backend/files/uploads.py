"""Uploads from phones: ledger photos and vouchers, and inspectors' reports.

The type of a file is decided by its bytes, never by its name or the Content-Type the
client sent: JPEG, PNG and WebP for everyone, PDF for inspectors and regulators. Images
must also open as images (a program with a JPEG header is refused), and only the image is
kept: bytes appended after its end (a ZIP or a script glued to a PNG or JPEG, a polyglot) are
dropped before storing. PDFs with active content (JavaScript, launch actions, embedded files,
XFA forms) are refused, also when it hides in a compressed stream. Files larger than
``UPLOAD_MAX_BYTES`` are refused with a 413. Stored files go through the storage backend
(:mod:`backend.files.storage`), so a refused or failed upload leaves nothing behind.
"""

from __future__ import annotations

import os
import re
import struct
import unicodedata
import warnings
import zlib
from pathlib import PurePosixPath
from typing import BinaryIO

from flask import current_app
from PIL import Image, UnidentifiedImageError

from backend.accounts.models import Role, User
from backend.core.errors import DomainError, Forbidden, NotFound, ValidationError
from backend.core.i18n import gettext as _
from backend.extensions import db
from backend.files.models import StoredFile
from backend.files.storage import save_stream

IMAGES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}
PDF = {"application/pdf": ".pdf"}
PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
CHUNK = 64 * 1024


class TooLarge(DomainError):
    """The file is larger than the configured limit."""

    status_code = 413
    slug = "upload_too_large"


def sniff(head: bytes) -> str | None:
    """The content type the first bytes of a file announce, if it is one we know."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def accepted_types(user: User) -> dict[str, str]:
    """The content types *user* may upload, with the extension each is stored under."""
    if user.role in (Role.INSPECTOR, Role.REGULATOR):
        return {**IMAGES, **PDF}
    return dict(IMAGES)


def _may_upload(user: User) -> None:
    """Operators must belong to a workshop; inspectors and regulators always may."""
    if user.role is Role.OPERATOR and not any(m.active for m in user.memberships):
        raise Forbidden(_("请先用邀请码绑定作坊，再上传文件。"), slug="no_workshop")


def _size(stream: BinaryIO) -> int:
    """The size of a seekable stream (left at its start)."""
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


def _check_image(stream: BinaryIO, content_type: str) -> None:
    """Refuse an image that does not open as the format its header claims."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(stream) as image:
                if image.format != PILLOW_FORMATS[content_type]:
                    raise UnidentifiedImageError(image.format)
                image.verify()
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        SyntaxError,
        ValueError,
    ):
        raise ValidationError(
            _("图片已损坏或不是真正的图片，请重新拍照上传。"),
            slug="upload_corrupt",
            errors={"file": ["not a readable image"]},
        ) from None
    finally:
        stream.seek(0)


PNG_END = b"IEND\xaeB`\x82"
# PDF names that run code, open other programs or carry files; "#xx" escapes are decoded
# first (/J#61vaScript is /JavaScript).
PDF_ACTIVE = re.compile(
    rb"/(JavaScript|JS|Launch|EmbeddedFiles?|RichMedia|XFA|SubmitForm|ImportData)(?![A-Za-z])"
)
PDF_STREAM = re.compile(rb"stream\r?\n(.*?)endstream", re.DOTALL)
PDF_INFLATED_MAX = 32 * 1024 * 1024  # decompress no more than this in all, against bombs


def _jpeg_end(data: bytes) -> int | None:
    """Where a JPEG's End Of Image marker ends (segments are skipped by their lengths, so a
    thumbnail's own end marker inside EXIF does not count); None when it is not found."""
    i, length = 2, len(data)
    while i + 4 <= length:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0xD9:
            return i + 2
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            i += 2
            continue
        (size,) = struct.unpack(">H", data[i + 2 : i + 4])
        i += 2 + size
        if marker == 0xDA:  # start of scan: entropy-coded data until the next real marker
            while True:
                i = data.find(b"\xff", i)
                if i < 0 or i + 1 >= length:
                    return None
                follower = data[i + 1]
                if follower != 0x00 and follower != 0xFF and not 0xD0 <= follower <= 0xD7:
                    break
                i += 1
    return None


def image_end(data: bytes, content_type: str) -> int:
    """How many leading bytes of *data* are the image itself (the rest is appended data)."""
    end = None
    if content_type == "image/png":
        found = data.find(PNG_END)
        end = found + len(PNG_END) if found >= 0 else None
    elif content_type == "image/webp" and len(data) >= 8:
        end = 8 + struct.unpack("<I", data[4:8])[0]
    elif content_type == "image/jpeg":
        end = _jpeg_end(data)
    return min(end, len(data)) if end else len(data)


def _pdf_has_active_content(data: bytes) -> bool:
    """Whether a PDF names JavaScript, launch actions, embedded files or XFA anywhere,
    also inside its Flate-compressed streams (object streams hide names there)."""

    def unescape(raw: bytes) -> bytes:
        return re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m[1], 16)]), raw)

    if PDF_ACTIVE.search(unescape(data)):
        return True
    budget = PDF_INFLATED_MAX
    for match in PDF_STREAM.finditer(data):
        inflater = zlib.decompressobj()
        try:
            inflated = inflater.decompress(match.group(1), budget)
        except zlib.error:
            continue
        budget -= len(inflated)
        if PDF_ACTIVE.search(unescape(inflated)):
            return True
        if budget <= 0:
            return True  # a decompression bomb is not a test report
    return False


def _check_pdf(stream: BinaryIO) -> None:
    """Refuse a PDF with active content (JavaScript, launch actions, embedded files)."""
    try:
        if _pdf_has_active_content(stream.read()):
            raise ValidationError(
                _("PDF 含有脚本、附件或可执行动作，不能上传；请另存为普通 PDF 后重试。"),
                slug="upload_active_content",
                errors={"file": ["PDF with JavaScript, actions or embedded files"]},
            )
    finally:
        stream.seek(0)


def clean_filename(name: str | None, extension: str) -> str:
    """A display name: the client's base name (no folders, no control characters), with
    the extension of the type the bytes really are."""
    base = PurePosixPath((name or "").replace("\\", "/")).name
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = "".join(c for c in stem if unicodedata.category(c)[0] != "C")
    stem = re.sub(r"\s+", " ", stem).strip(" .")[:100]
    return (stem or "upload") + extension


def save_upload(stream: BinaryIO, filename: str | None, *, by: User) -> StoredFile:
    """Check and store an uploaded file; return its flushed row."""
    _may_upload(by)
    limit = current_app.config["UPLOAD_MAX_BYTES"]
    size = _size(stream)
    if size == 0:
        raise ValidationError(
            _("上传的文件是空的。"), slug="upload_empty", errors={"file": ["empty file"]}
        )
    if size > limit:
        raise TooLarge(
            _("文件过大：最大 %(mb).1f MB。", mb=limit / 1024 / 1024),
            errors={"file": [f"larger than {limit} bytes"]},
        )
    content_type = sniff(stream.read(16))
    stream.seek(0)
    accepted = accepted_types(by)
    if content_type not in accepted:
        names = "JPEG/PNG/WebP" + ("/PDF" if "application/pdf" in accepted else "")
        raise ValidationError(
            _("只能上传 %(types)s 文件。", types=names),
            slug="upload_type_refused",
            errors={"file": [f"accepted types: {', '.join(sorted(accepted))}"]},
        )
    keep = size
    if content_type in IMAGES:
        _check_image(stream, content_type)
        keep = image_end(stream.read(), content_type)  # within UPLOAD_MAX_BYTES
        stream.seek(0)
    else:
        _check_pdf(stream)

    def copy(out) -> None:
        left = keep
        while left > 0 and (chunk := stream.read(min(CHUNK, left))):
            out.write(chunk)
            left -= len(chunk)

    return save_stream(
        copy,
        filename=clean_filename(filename, accepted[content_type]),
        content_type=content_type,
        prefix="uploads",
        by=by,
    )


def get_upload(file_id: int, *, by: User) -> StoredFile:
    """A stored file for download: its uploader and regulators only."""
    stored = db.session.get(StoredFile, file_id)
    if stored is None:
        raise NotFound(_("文件不存在。"), slug="file_not_found")
    if by.role is Role.REGULATOR or stored.uploaded_by_id == by.id:
        return stored
    raise Forbidden(_("您无权查看此文件。"), slug="not_your_file")
