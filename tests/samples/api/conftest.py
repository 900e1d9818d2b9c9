"""Fixtures of the samples API tests: the wine batch with a lab sample CJ-1 and a token
for each role, and that sample completed with a report."""

import pytest
from sqlalchemy import select

from backend.accounts.models import MemberRole
from backend.files.models import StoredFile
from backend.samples.models import Sample, SampleStatus
from tests.factories import (
    InspectorFactory,
    RegulatorFactory,
    UserFactory,
    WorkshopMembershipFactory,
)
from tests.samples.api.calls import bearer


@pytest.fixture()
def uploads(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))


@pytest.fixture()
def site(db, wine, uploads):
    """The wine batch, and a token for each kind of caller."""
    batch, codes = wine
    owner = UserFactory()
    WorkshopMembershipFactory(user=owner, workshop_id=batch.workshop_id, role=MemberRole.OWNER)
    stranger = UserFactory()
    WorkshopMembershipFactory(user=stranger, role=MemberRole.OWNER)

    class Site:
        pass

    site = Site()
    site.batch, site.codes = batch, codes
    site.headers = {
        "anonymous": {},
        "operator": bearer(owner),
        "other_operator": bearer(stranger),
        "inspector": bearer(InspectorFactory()),
        "regulator": bearer(RegulatorFactory()),
    }
    return site


@pytest.fixture()
def completed(db, site):
    """The fixture's lab sample, completed and with a report."""
    sample = db.session.scalar(select(Sample).where(Sample.sample_no == "CJ-1"))
    sample.status = SampleStatus.COMPLETED
    report = StoredFile(
        storage_key="reports/test/cj-1.pdf",
        filename="cj-1.pdf",
        content_type="application/pdf",
        size=0,
        sha256="0" * 64,
    )
    db.session.add(report)
    db.session.flush()
    sample.report_file_id = report.id
    db.session.flush()
    return sample
