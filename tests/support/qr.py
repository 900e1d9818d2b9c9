"""Read QR codes back with a real decoder (OpenCV) from PNGs, SVGs and label-sheet PDFs."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import cv2
import numpy as np
import pypdfium2 as pdfium

from backend.codes.labels import DEFAULT_LAYOUT, SheetLayout

SVG = "{http://www.w3.org/2000/svg}"
# OpenCV's classic detector misses a few perfectly drawn codes (about 3 in 1,000, where the
# data happens to look like a finder pattern); its ArUco-based one reads those.
_detectors = (cv2.QRCodeDetector(), cv2.QRCodeDetectorAruco())


def decode(image: np.ndarray) -> str:
    """The text of the single QR code in a grayscale image ('' when none is read)."""
    for detector in _detectors:
        text, _points, _ = detector.detectAndDecode(image)
        if text:
            return text
    return ""


def decode_png(data: bytes) -> str:
    """Decode the QR code in PNG bytes."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert image is not None, "not a decodable image"
    return decode(image)


def svg_matrix(data: bytes) -> list[list[bool]]:
    """Rebuild the module matrix from the SVG's ``<rect>`` elements (the first is the paper)."""
    root = ET.fromstring(data)
    size = int(root.get("viewBox").split()[2])
    matrix = np.zeros((size, size), dtype=bool)
    for rect in root.iter(f"{SVG}rect"):
        if rect.get("fill") == "#fff":
            continue
        x, y, w, h = (int(rect.get(k)) for k in ("x", "y", "width", "height"))
        assert not matrix[y : y + h, x : x + w].any(), "dark rectangles overlap"
        matrix[y : y + h, x : x + w] = True
    return matrix.tolist()


def raster(matrix: list[list[bool]], scale: int = 8) -> np.ndarray:
    """Paint a module matrix as a grayscale image, *scale* pixels per module."""
    modules = np.array(matrix, dtype=bool)
    image = np.where(modules, 0, 255).astype(np.uint8)
    return np.kron(image, np.ones((scale, scale), dtype=np.uint8))


def render_pages(pdf_bytes: bytes, dpi: int = 200) -> list[np.ndarray]:
    """Every page of a PDF as a grayscale image at *dpi*."""
    document = pdfium.PdfDocument(pdf_bytes)
    try:
        pages = []
        for index in range(len(document)):
            page = document[index]
            bitmap = page.render(scale=dpi / 72, grayscale=True)
            pages.append(np.array(bitmap.to_pil()))
            bitmap.close()
            page.close()
        return pages
    finally:
        document.close()


def decode_label_sheet(
    pdf_bytes: bytes, count: int, layout: SheetLayout = DEFAULT_LAYOUT, dpi: int = 200
) -> list[str]:
    """Decode the QR of each of the first *count* labels, page by page, slot by slot.

    Each label's QR area (with some margin) is cut out of the rendered page by the sheet
    layout and decoded on its own; a label that does not decode gives ''.
    """
    scale = dpi / 72
    found = []
    for page in render_pages(pdf_bytes, dpi):
        for slot in range(layout.per_page):
            if len(found) == count:
                return found
            left, top, _right, bottom = layout.label_box(slot)
            crop = page[
                int(top * scale) : int(bottom * scale),
                int(left * scale) : int((left + layout.qr_left * 2 + layout.qr_side) * scale),
            ]
            found.append(decode(crop))
    return found


def page_texts(pdf_bytes: bytes) -> list[str]:
    """The text layer of every page."""
    document = pdfium.PdfDocument(pdf_bytes)
    try:
        texts = []
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return texts
    finally:
        document.close()


def page_images(pdf_bytes: bytes, page_index: int = 0) -> list[np.ndarray]:
    """The image objects of one page, as grayscale arrays at their own resolution."""
    document = pdfium.PdfDocument(pdf_bytes)
    try:
        page = document[page_index]
        images = []
        for obj in page.get_objects(filter=[pdfium.raw.FPDF_PAGEOBJ_IMAGE]):
            bitmap = obj.get_bitmap(render=False)
            images.append(np.array(bitmap.to_pil().convert("L")))
            bitmap.close()
        page.close()
        return images
    finally:
        document.close()
