"""A workshop's self-checks in the console: read, never written."""

from __future__ import annotations

import re
from datetime import timedelta

from backend.accounts.models import MemberRole
from backend.core.time import utcnow
from backend.samples.models import Qualitative, Sample, SampleStatus
from backend.samples.results import ResultInput
from backend.samples.self_checks import record_self_check
from tests.factories import UserFactory, WorkshopMembershipFactory
from tests.samples.console.pages import counts
from tests.support.console import logged_in, text


def test_self_checks_are_read_but_not_written_in_the_console(client, db, site):
    batch, _codes = site
    owner = UserFactory()
    WorkshopMembershipFactory(user=owner, workshop_id=batch.workshop_id, role=MemberRole.OWNER)
    recorded = record_self_check(
        batch.workshop_id,
        batch.batch_no,
        by=owner,
        sampled_at=utcnow() - timedelta(hours=1),
        items=[ResultInput("benzoic_acid", "试纸法", qualitative=Qualitative.NEGATIVE)],
    )
    number = recorded.sample.sample_no
    logged_in(client)
    page = text(client.get(f"/console/samples/{number}"))
    assert "作坊自检" in page and "只能查看" in page
    assert 'name="rows-0-item_code"' not in page and 'enctype="multipart/form-data"' not in page
    listed = text(client.get("/console/samples/?task_source=self_check"))
    assert number in listed and "CJ-1" not in listed
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    before = counts(db)
    response = client.post(
        f"/console/samples/{number}/results",
        data={"csrf_token": token, "rows-0-item_code": "benzoic_acid", "rows-0-method": "m"},
    )
    assert response.status_code == 403
    assert counts(db) == before
    assert db.session.get(Sample, recorded.sample.id).status is SampleStatus.COMPLETED
