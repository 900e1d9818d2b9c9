"""Fixtures of the console's samples pages: the released wine batch with a lab sample, and
more samples for the list."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend.core.time import utcnow
from backend.samples import recording
from backend.samples.models import Qualitative, TaskSource, TestKind
from backend.samples.results import ResultInput, record_results
from tests.factories import InspectorFactory, ProductFactory, WorkshopFactory


@pytest.fixture()
def site(db, wine, app, tmp_path, monkeypatch):
    """The released wine batch with its codes (and a lab sample CJ-1 with a lead result)."""
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))
    return wine


@pytest.fixture()
def many(db, site):
    """Besides CJ-1 (lab, district, pass): a rapid positive and an empty lab sample."""
    batch, _codes = site
    vehicle = InspectorFactory()
    rapid = recording.record_sample(
        by=vehicle,
        kind=TestKind.RAPID,
        batch=batch,
        task_source=TaskSource.ROUTINE,
        testing_agency="快检车",
        sampled_at=utcnow() - timedelta(days=3),
        sample_no="KJ-LIST-1",
    )
    record_results(
        rapid,
        [ResultInput("benzoic_acid", "胶体金法", qualitative=Qualitative.POSITIVE)],
        by=vehicle,
    )
    other = WorkshopFactory(name="枋洋豆腐坊")
    tofu = ProductFactory(workshop=other, name="坊洋黑豆腐")
    lab = recording.record_sample(
        by=vehicle,
        kind=TestKind.LAB,
        product=tofu,
        task_source=TaskSource.MUNICIPAL,
        testing_agency="漳州市检验所",
        sampled_at=utcnow() - timedelta(days=40),
        sample_no="CJ-LIST-2",
    )
    db.session.flush()
    return batch, rapid, lab, other
