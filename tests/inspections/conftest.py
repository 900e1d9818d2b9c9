"""Fixtures of the inspection tests: a private upload folder, a regulator, an inspector and a
workshop to inspect."""

from __future__ import annotations

import pytest

from tests.factories import InspectorFactory, RegulatorFactory, WorkshopFactory


@pytest.fixture()
def uploads(app, tmp_path, monkeypatch):
    """A private UPLOAD_DIR for the test."""
    path = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(path))
    return path


@pytest.fixture()
def regulator(db):
    return RegulatorFactory(display_name="陈监管")


@pytest.fixture()
def inspector(db):
    return InspectorFactory(display_name="王检验")


@pytest.fixture()
def workshop(db):
    return WorkshopFactory(name="四大桶红曲酒坊", township="半里乡")
