"""Uploads of executables and polyglots: refused, or kept only as the harmless image.

The type comes from the bytes, never the name: a Windows or Linux program, an HTML page or
an SVG with a script named ``.jpg`` is refused; so is a PDF that carries JavaScript, a launch
action or an embedded file (also when hidden by ``#xx`` escapes or in a compressed object
stream). A PNG, JPEG or WebP with a ZIP or a script appended is stored without the tail, so
what is served is only the picture. Refusals answer 422 with the error slug and store nothing.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
import zlib

import pytest
from PIL import Image
from sqlalchemy import func, select

from backend.accounts.tokens import issue_token
from backend.files import storage
from backend.files.models import StoredFile
from backend.files.uploads import image_end
from tests.factories import InspectorFactory

UPLOADS = "/api/v1/uploads"
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 200
PE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
HTML = b"<!doctype html><html><script>alert(document.cookie)</script></html>"


def image(fmt: str) -> bytes:
    """A small real picture in *fmt*."""
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buffer, format=fmt, quality=90)
    return buffer.getvalue()


def a_zip() -> bytes:
    """A ZIP archive holding a script."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("evil.js", "alert(1)")
    return buffer.getvalue()


def pdf(body: bytes) -> bytes:
    """A minimal PDF whose catalog holds *body*."""
    return b"%PDF-1.7\n1 0 obj << /Type /Catalog " + body + b" >> endobj\ntrailer\n%%EOF\n"


def compressed_pdf(hidden: bytes) -> bytes:
    """A PDF hiding *hidden* in a Flate-compressed object stream."""
    data = zlib.compress(hidden)
    return (
        b"%PDF-1.7\n1 0 obj << /Type /ObjStm /Filter /FlateDecode /Length "
        + str(len(data)).encode()
        + b" >>\nstream\n"
        + data
        + b"\nendstream\nendobj\n%%EOF\n"
    )


@pytest.fixture()
def inspector(db):
    """An inspector's API headers (inspectors may upload PDFs as well as images)."""
    return {"Authorization": f"Bearer {issue_token(InspectorFactory())}"}


def upload(client, headers, data: bytes, name: str):
    """POST *data* as the file *name*."""
    return client.post(
        UPLOADS,
        data={"file": (io.BytesIO(data), name, "image/jpeg")},
        headers=headers,
        content_type="multipart/form-data",
    )


def stored(db) -> int:
    """How many files are stored."""
    return db.session.scalar(select(func.count()).select_from(StoredFile))


@pytest.mark.parametrize(
    ("data", "name", "slug"),
    [
        (ELF, "photo.jpg", "upload_type_refused"),
        (PE, "photo.jpg", "upload_type_refused"),
        (b"\xff\xd8\xff\xe0" + PE, "photo.jpg", "upload_corrupt"),  # a program in a JPEG coat
        (SVG, "photo.svg", "upload_type_refused"),
        (SVG, "photo.jpg", "upload_type_refused"),
        (HTML, "photo.jpg", "upload_type_refused"),
        (pdf(b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>"), "report.pdf", None),
        (pdf(b"/OpenAction << /S /J#61vaScript /J#53 (app.alert(1)) >>"), "report.pdf", None),
        (pdf(b"/OpenAction << /S /Launch /F (cmd.exe) >>"), "report.pdf", None),
        (pdf(b"/Names << /EmbeddedFiles 2 0 R >>"), "report.pdf", None),
        (compressed_pdf(b"<< /S /JavaScript /JS (app.alert(1)) >>"), "report.pdf", None),
        (pdf(b"/AcroForm << /XFA 3 0 R >>") + HTML, "report.pdf", None),
    ],
)
def test_executables_scripts_and_active_pdfs_are_refused(client, db, inspector, data, name, slug):
    before = stored(db)
    response = upload(client, inspector, data, name)
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert response.get_json()["error"] == (slug or "upload_active_content")
    assert stored(db) == before


def test_a_plain_pdf_is_still_accepted(client, db, inspector):
    response = upload(client, inspector, pdf(b"/Pages 2 0 R"), "report.pdf")
    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
@pytest.mark.parametrize("tail", [a_zip(), HTML, ELF])
def test_data_appended_to_an_image_is_dropped(client, db, inspector, fmt, tail):
    picture = image(fmt)
    response = upload(client, inspector, picture + tail, f"photo.{fmt.lower()}")
    assert response.status_code == 201, response.get_json()
    row = db.session.get(StoredFile, response.get_json()["id"])
    with storage.open_file(row) as handle:
        kept = handle.read()
    assert kept == picture
    assert row.size == len(picture) and row.sha256 == hashlib.sha256(picture).hexdigest()
    assert not zipfile.is_zipfile(io.BytesIO(kept))
    served = client.get(f"{UPLOADS}/{row.id}", headers=inspector)
    assert served.get_data() == picture
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.mimetype == f"image/{fmt.lower()}"
    served.close()


def test_a_jpeg_with_a_thumbnail_keeps_its_whole_body(db):
    """The end of the picture is found by walking its segments, not by the first FFD9."""
    thumbnail = image("JPEG")
    exif = b"Exif\x00\x00" + thumbnail  # an embedded JPEG with its own end marker
    segment = b"\xff\xe1" + (len(exif) + 2).to_bytes(2, "big") + exif
    picture = image("JPEG")
    with_thumbnail = picture[:2] + segment + picture[2:]
    assert image_end(with_thumbnail + b"PK\x03\x04junk", "image/jpeg") == len(with_thumbnail)
