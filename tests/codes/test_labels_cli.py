"""``flask --app backend codes labels``: the label sheet of a batch from the command line."""

from __future__ import annotations

import os
from datetime import date

import pypdfium2 as pdfium
from sqlalchemy import select

from backend.batches.models import BatchState
from backend.codes.models import UnitCode
from backend.codes.services import issue_codes, void_code
from backend.codes.urls import scan_url
from tests.factories import BatchFactory
from tests.support import qr


def labelled_batch():
    """A released batch with two issuances (5 and 3 codes), one code of the first voided."""
    batch = BatchFactory(state=BatchState.RELEASED, produced_on=date(2026, 11, 20))
    first = issue_codes(batch, 5)
    second = issue_codes(batch, 3)
    return batch, first, second


def codes_of(db, batch, issuance=None):
    """Active codes in serial order."""
    query = select(UnitCode.code).where(UnitCode.batch_id == batch.id, UnitCode.status == "active")
    if issuance is not None:
        query = query.where(UnitCode.issuance_id == issuance.id)
    return db.session.scalars(query.order_by(UnitCode.serial)).all()


def test_labels_of_a_batch(runner, db, tmp_path):
    batch, first, _second = labelled_batch()
    void_code(codes_of(db, batch)[1], "misprint")
    out = tmp_path / "labels.pdf"
    result = runner.invoke(args=["codes", "labels", "--batch", batch.batch_no, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "7/7 labels (100%)" in result.output
    assert (
        result.output.strip()
        .splitlines()[-1]
        .startswith(f"Wrote 7 label(s) on 1 page(s) (A4 2×7, 99.1×38.1 mm (L7163)) to {out}")
    )
    pdf = out.read_bytes()
    with pdfium.PdfDocument(pdf) as document:
        assert len(document) == 1
    expected = [scan_url(code) for code in codes_of(db, batch)]
    assert qr.decode_label_sheet(pdf, 7) == expected
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # an ordinary file, not mkstemp's 0600
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_labels_of_one_issuance(runner, db, tmp_path):
    batch, _first, second = labelled_batch()
    out = tmp_path / "second.pdf"
    result = runner.invoke(
        args=[
            "codes",
            "labels",
            "--batch",
            batch.batch_no,
            "--issuance",
            str(second.id),
            "--out",
            str(out),
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Wrote 3 label(s)" in result.output
    assert qr.decode_label_sheet(out.read_bytes(), 3) == [
        scan_url(code) for code in codes_of(db, batch, second)
    ]


def test_unknown_batch_is_one_line_and_writes_nothing(runner, db, tmp_path):
    out = tmp_path / "labels.pdf"
    result = runner.invoke(args=["codes", "labels", "--batch", "NOPE-1", "--out", str(out)])
    assert result.exit_code == 1
    assert result.output == "Error: 批次 NOPE-1 不存在。\n"
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_issuance_of_another_batch_is_refused(runner, db, tmp_path):
    batch, _first, _second = labelled_batch()
    other, other_issuance, _ = labelled_batch()
    out = tmp_path / "labels.pdf"
    result = runner.invoke(
        args=[
            "codes",
            "labels",
            "--batch",
            batch.batch_no,
            "--issuance",
            str(other_issuance.id),
            "--out",
            str(out),
        ]
    )
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert "没有编号为" in result.output
    assert not out.exists() and list(tmp_path.iterdir()) == []
