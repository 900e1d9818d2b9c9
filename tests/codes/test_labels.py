"""QR images and label sheets, read back with a real QR decoder."""

from __future__ import annotations

import io
import random
import re
import zlib
from datetime import date

import numpy as np
import pypdfium2 as pdfium
import pytest
from sqlalchemy import select

from backend.batches.models import BatchState
from backend.codes import labels, printing, qr_images
from backend.codes.codegen import generate_code, generate_codes
from backend.codes.labels import DEFAULT_LAYOUT, FontChoice, LabelText
from backend.codes.models import CodeStatus, UnitCode
from backend.codes.pdfwriter import StreamingPdfWriter
from backend.codes.services import issue_codes, void_range
from backend.codes.urls import scan_url
from backend.core.errors import Conflict, ServiceUnavailable
from tests.factories import BatchFactory, ProductFactory, WorkshopFactory
from tests.support import qr

BUNDLED = FontChoice(str(labels.BUNDLED_FONT))


def sample_text(**overrides) -> LabelText:
    """A full set of label fields."""
    fields = dict(
        product="半里红曲酒 500ml",
        workshop="长泰区半里乡四大桶红曲酒作坊",
        registration_no="JY-XZF-350625-000001",
        produced_on="2026-11-20",
        shelf_life=labels.NO_SHELF_LIFE,
        alcohol="15%vol",
        batch_no="SDT-20261120-01",
        address="福建省漳州市长泰区半里乡小作坊集中加工区3号",
        contact="0596-8321234",
        ingredients="水、糯米、红曲",
    )
    fields.update(overrides)
    return LabelText(**fields)


def released_batch(**product_fields):
    """A released batch whose workshop has a phone number."""
    workshop = WorkshopFactory(contact_phone="0596-8321234")
    product = ProductFactory(workshop=workshop, **product_fields)
    return BatchFactory(
        product=product,
        workshop=workshop,
        state=BatchState.RELEASED,
        produced_on=date(2026, 11, 20),
    )


# --- QR images --------------------------------------------------------------------------


def test_qr_png_decodes_to_the_printed_link_with_a_four_module_quiet_zone(app):
    with app.app_context():
        url = scan_url(generate_code())
    png = qr_images.qr_png(url, box_size=6)
    assert qr.decode_png(png) == url

    image = np.array(qr.cv2.imdecode(np.frombuffer(png, np.uint8), qr.cv2.IMREAD_GRAYSCALE))
    modules = len(qr_images.qr_matrix(url))
    assert image.shape == (modules * 6, modules * 6)
    quiet = 4 * 6
    for border in (image[:quiet], image[-quiet:], image[:, :quiet], image[:, -quiet:]):
        assert (border == 255).all()
    assert (image[quiet : quiet + 7 * 6, quiet : quiet + 7 * 6] == 0).any()


def test_qr_uses_error_correction_m():
    # 44 bytes of link need version 4 at level M (version 3-M holds 42, 4-L would hold 78).
    url = "https://yipin.example.cn/t/" + generate_code()
    assert len(qr_images.qr_matrix(url)) == 4 * 4 + 17 + 2 * qr_images.QR_BORDER


def test_qr_svg_rectangles_rebuild_the_matrix_and_decode(app):
    with app.app_context():
        url = scan_url(generate_code())
    svg = qr_images.qr_svg(url)
    assert svg.startswith(b"<?xml")
    matrix = qr.svg_matrix(svg)
    assert matrix == qr_images.qr_matrix(url)
    assert qr.decode(qr.raster(matrix)) == url


def test_dark_rectangles_cover_exactly_the_dark_modules():
    rng = random.Random(7)
    for _ in range(50):
        size = rng.randint(1, 30)
        matrix = [[rng.random() < 0.5 for _ in range(size)] for _ in range(size)]
        painted = np.zeros((size, size), dtype=int)
        for x, y, w, h in qr_images.dark_rectangles(matrix):
            painted[y : y + h, x : x + w] += 1
        assert (painted == np.array(matrix, dtype=int)).all()
    # Runs are merged: a full square is one rectangle.
    assert qr_images.dark_rectangles([[True] * 5 for _ in range(5)]) == [(0, 0, 5, 5)]


def test_group_code_keeps_every_character():
    code = generate_code()
    grouped = qr_images.group_code(code)
    assert re.fullmatch(r"\w{4}-\w{4}-\w{4}-\w{4}-\w", grouped)
    assert grouped.replace("-", "") == code


# --- Fonts ------------------------------------------------------------------------------


def test_the_shipped_font_covers_gb2312_and_is_used_when_nothing_else_is_there(app, monkeypatch):
    monkeypatch.setattr(labels, "SYSTEM_FONTS", ())
    monkeypatch.setitem(app.config, "LABEL_FONT_PATH", None)
    with app.app_context():
        assert labels.find_font() == BUNDLED
    font = BUNDLED.load(40)
    every_gb2312 = "".join(
        ch
        for high in range(0xB0, 0xF8)
        for low in range(0xA1, 0xFF)
        for ch in [bytes((high, low)).decode("gb2312", "ignore")]
        if ch
    )
    assert len(every_gb2312) == 6763  # all the hanzi of GB 2312
    assert labels.missing_glyphs(font, every_gb2312 + "：（）、…—·%℃") == ""
    assert labels.missing_glyphs(font, "堃") == "堃"  # outside GB 2312: reported, not hidden
    assert labels.BUNDLED_FONT.stat().st_size < 5_000_000


def test_configured_font_wins_and_a_missing_one_is_a_clear_error(app, monkeypatch, tmp_path):
    with app.app_context():
        monkeypatch.setitem(app.config, "LABEL_FONT_PATH", f"{labels.BUNDLED_FONT}#0")
        assert labels.find_font() == BUNDLED
        monkeypatch.setitem(app.config, "LABEL_FONT_PATH", str(tmp_path / "nope.ttc"))
        with pytest.raises(ServiceUnavailable) as caught:
            labels.find_font()
    assert "LABEL_FONT_PATH" in caught.value.message
    assert caught.value.status_code == 503


def test_no_font_at_all_is_service_unavailable(app, monkeypatch, tmp_path):
    monkeypatch.setattr(labels, "SYSTEM_FONTS", ())
    monkeypatch.setattr(labels, "BUNDLED_FONT", tmp_path / "gone.ttf")
    monkeypatch.setitem(app.config, "LABEL_FONT_PATH", None)
    with app.app_context(), pytest.raises(ServiceUnavailable) as caught:
        labels.find_font()
    assert caught.value.slug == "label_font_missing"
    assert "fonts-wqy-microhei" in caught.value.message


# --- The fixed text ---------------------------------------------------------------------


def test_fixed_text_carries_the_label_fields():
    _size, rows = labels.fit_text_block(sample_text(), BUNDLED)
    text = "\n".join(rows)
    for expected in (
        "品名：半里红曲酒 500ml",
        "生产者：长泰区半里乡四大桶红曲酒作坊",
        "登记证号：JY-XZF-350625-000001",
        "生产日期：2026-11-20",
        "保质期：无固定保质期/不适用",
        "酒精度：15%vol",
        "批号：SDT-20261120-01",
        "地址：福建省漳州市长泰区半里乡小作坊集中加工区3号",
        "电话：0596-8321234",
        "配料：水、糯米、红曲",
    ):
        assert expected in text


def test_long_fields_shrink_the_text_then_drop_optional_lines_never_required_ones():
    crowded = sample_text(
        ingredients="、".join(["糯米", "红曲", "水", "白砂糖", "食用酒精"] * 12),
        address="福建省漳州市长泰区半里乡小作坊集中加工区" * 4,
        storage="置于阴凉、干燥、通风处，避免阳光直射，开启后请冷藏并尽快饮用" * 3,
    )
    size, rows = labels.fit_text_block(crowded, BUNDLED)
    assert size == pytest.approx(labels.MIN_TEXT_PT * DEFAULT_LAYOUT.dpi / 72)
    text = "\n".join(rows)
    for caption in ("品名", "生产者", "登记证号", "生产日期", "保质期", "酒精度", "批号"):
        assert f"{caption}：" in text
    assert "贮存：" not in text  # the last optional line went first
    height = DEFAULT_LAYOUT.text_height * DEFAULT_LAYOUT.dpi / 72
    assert len(rows) * size * labels.LINE_SPACING - size * 0.25 <= height
    assert all(row.count("…") <= 1 for row in rows)


def test_shelf_life_and_alcohol_texts():
    assert labels.format_shelf_life(None, None) == "无固定保质期/不适用"
    assert labels.format_shelf_life(365, None) == "365天"
    assert labels.format_shelf_life(3, date(2026, 11, 23)) == "3天 至2026-11-23"
    assert labels.format_alcohol(12.0) == "12%vol"
    assert labels.format_alcohol(15.5) == "15.5%vol"
    assert labels.format_alcohol(None) == ""


def test_label_text_of_a_batch(db):
    batch = released_batch(
        shelf_life_days=None, labelled_alcohol=12.0, ingredients="糯米、红曲、水", storage="阴凉处"
    )
    text = printing.label_text_for(batch)
    assert text.product == f"{batch.product.name} 500ml"
    assert text.workshop == batch.workshop.name
    assert text.registration_no == batch.workshop.registration_no
    assert text.certificate_caption == "登记证号"
    assert text.produced_on == "2026-11-20"
    assert text.shelf_life == "无固定保质期/不适用"
    assert text.alcohol == "12%vol"
    assert text.batch_no == batch.batch_no
    assert text.address == batch.workshop.address
    assert text.contact == "0596-8321234"

    batch.workshop.licence_no = "SC12335062500001"
    assert printing.label_text_for(batch).certificate_caption == "生产许可证号"
    assert printing.label_text_for(batch).registration_no == "SC12335062500001"


def test_batches_that_cannot_be_labelled(db):
    batch = released_batch()
    batch.produced_on = None
    with pytest.raises(Conflict) as caught:
        printing.label_text_for(batch)
    assert caught.value.slug == "batch_missing_production_date"
    batch.produced_on, batch.state = date(2026, 11, 20), BatchState.RECALLED
    with pytest.raises(Conflict) as caught:
        printing.label_text_for(batch)
    assert caught.value.slug == "batch_recalled"


# --- The sheet --------------------------------------------------------------------------


def test_every_label_of_a_sheet_decodes_to_its_printed_link(db):
    batch = released_batch(shelf_life_days=None, labelled_alcohol=15.0)
    first = issue_codes(batch, 20)
    second = issue_codes(batch, 12)
    void_range(batch, 3, 4, "misprint")
    db.session.flush()
    active = db.session.execute(
        select(UnitCode.serial, UnitCode.code)
        .where(UnitCode.batch_id == batch.id, UnitCode.status == CodeStatus.ACTIVE)
        .order_by(UnitCode.serial)
    ).all()
    assert len(active) == 30

    out = io.BytesIO()
    seen = []
    result = printing.render_labels(out, batch, progress=lambda d, t: seen.append((d, t)))
    pdf = out.getvalue()

    assert result.labels == 30 and result.pages == 3  # 14 + 14 + 2
    with pdfium.PdfDocument(pdf) as document:
        assert document.get_metadata_dict()["Title"] == f"{batch.batch_no} 标签 labels"
    assert seen == [(14, 30), (28, 30), (30, 30)]
    assert qr.decode_label_sheet(pdf, 30) == [scan_url(code) for _, code in active]

    texts = qr.page_texts(pdf)
    assert len(texts) == 3
    everything = "\n".join(texts)
    for serial, code in active:
        assert qr_images.group_code(code) in everything
        assert f"No. {serial}" in everything
    assert "No. 3\n" not in everything + "\n" and "No. 4\n" not in everything + "\n"

    # One issuance only.
    out = io.BytesIO()
    result = printing.render_labels(out, batch, issuance=second)
    assert result.labels == 12
    codes = [code for serial, code in active if serial > first.count]
    assert qr.decode_label_sheet(out.getvalue(), 12) == [scan_url(c) for c in codes]


def test_the_fixed_text_is_one_shared_image_on_every_label(db):
    batch = released_batch()
    issue_codes(batch, 16)
    out = io.BytesIO()
    printing.render_labels(out, batch)
    pdf = out.getvalue()

    assert pdf.count(b"/Subtype /Image") == 1  # rendered once per run
    # ...and drawn on every label: 14 on page 1, 2 on page 2.
    assert len(qr.page_images(pdf, 0)) == 14
    assert len(qr.page_images(pdf, 1)) == 2
    image = qr.page_images(pdf, 0)[0]
    expected = np.array(
        labels.render_text_block(printing.label_text_for(batch), labels.find_font())
    )
    assert image.shape == expected.shape
    assert (image == expected).all()
    assert (image < 128).mean() > 0.01  # there is ink: the Chinese fields are in it


def test_the_sheet_is_streamed_page_by_page():
    class Sink:
        """A write-only, unseekable output that records how much has arrived."""

        def __init__(self):
            self.size = 0
            self.chunks = []

        def write(self, data):
            self.size += len(data)
            self.chunks.append(bytes(data))
            return len(data)

    pulled = 0

    def codes():
        nonlocal pulled
        for serial, code in enumerate(generate_codes(50), 1):
            pulled += 1
            yield serial, code

    sink = Sink()
    observed = []

    def progress(done, total):
        observed.append((done, pulled, sink.size))

    result = labels.write_label_sheet(
        sink,
        sample_text(),
        codes(),
        50,
        url_for=lambda code: f"https://yipin.test/t/{code}",
        font=BUNDLED,
        progress=progress,
    )
    assert result.pages == 4 and result.labels == 50
    for done, pulled_then, written in observed:
        assert pulled_then == done  # never more than the page being drawn
        assert written > 0
    # Pages reached the output while later ones were still to come.
    sizes = [written for _, _, written in observed]
    assert sizes == sorted(sizes) and len(set(sizes)) == 4
    pdf = b"".join(sink.chunks)
    assert len(pdf) == result.size == sink.size
    with pdfium.PdfDocument(pdf) as document:
        assert len(document) == 4


def test_cross_reference_offsets_point_at_their_objects():
    out = io.BytesIO()
    writer = StreamingPdfWriter(out)
    font = writer.add_font()
    resources = writer.add_resources({"F1": font}, {})
    for n in range(3):
        writer.add_page(b"BT /F1 12 Tf 72 720 Td (page %d) Tj ET" % n, resources)
    writer.close(title="t", created=labels.utcnow())
    pdf = out.getvalue()
    start = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    lines = pdf[start:].split(b"\n")
    assert lines[0] == b"xref"
    count = int(lines[1].split()[1])
    for number in range(1, count):
        offset = int(lines[2 + number][:10])
        assert pdf[offset:].startswith(b"%d 0 obj" % number)
    with pdfium.PdfDocument(pdf) as document:
        assert len(document) == 3
        assert document[2].get_textpage().get_text_range() == "page 2"
        assert document.get_metadata_dict()["Title"] == "t"
    # Content streams are compressed.
    stream = pdf.split(b"stream\n", 1)[1]
    assert zlib.decompressobj().decompress(stream)


def test_nothing_to_print(db):
    batch = released_batch()
    issue_codes(batch, 2)
    void_range(batch, 1, 2, "damaged")
    with pytest.raises(Conflict) as caught:
        printing.render_labels(io.BytesIO(), batch)
    assert caught.value.slug == "nothing_to_print"


def test_codes_are_read_in_chunks_in_serial_order(db):
    batch = released_batch()
    issue_codes(batch, 25)
    read = list(printing.iter_active_codes(batch.id, chunk=7))
    assert [serial for serial, _ in read] == list(range(1, 26))
    assert len({code for _, code in read}) == 25
