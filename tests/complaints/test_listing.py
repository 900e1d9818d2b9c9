"""The complaint list: filters, pages and the count of new complaints."""

from __future__ import annotations

from datetime import datetime, timedelta

from backend.complaints import services as complaints
from backend.complaints.services import ComplaintFilter, ComplaintInput
from backend.core.time import SHANGHAI, local_today
from tests.complaints.helpers import (
    filed,
)

# --- the list ------------------------------------------------------------------------------------


def at_local(day, hour=12) -> datetime:
    """*day* at *hour* o'clock in Shanghai."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


def test_the_list_is_newest_first_and_filtered(db, world):
    today = local_today()
    old = filed(world, content="旧投诉")
    old.created_at = at_local(today - timedelta(days=10))
    mine = filed(world, content="指派给我的")
    mine.created_at = at_local(
        today - timedelta(days=2), hour=0
    )  # 00:xx local is the day before in UTC
    other = complaints.file_complaint(
        ComplaintInput(content="另一作坊", workshop_id=world["other_workshop"].id)
    )
    other.created_at = at_local(today)
    db.session.flush()
    complaints.assign(mine.id, world["inspector"].id, by=world["regulator"])
    complaints.respond(mine.id, "已核查。", by=world["inspector"])

    def listed(by=world["regulator"], **filters):
        page = complaints.list_complaints(ComplaintFilter(**filters), by=by)
        return [row.complaint.content for row in page.items]

    assert listed() == ["另一作坊", "指派给我的", "旧投诉"]
    assert listed(status="new") == ["另一作坊", "旧投诉"]
    assert listed(status="handling") == ["指派给我的"]
    assert listed(status="bogus") == []
    assert listed(by=world["inspector"], mine=True) == ["指派给我的"]
    assert listed(mine=True) == []
    assert listed(workshop_id=world["other_workshop"].id) == ["另一作坊"]
    assert listed(workshop_id=-1) == []
    two_days_ago = today - timedelta(days=2)
    assert listed(date_from=two_days_ago, date_to=two_days_ago) == ["指派给我的"]
    assert listed(date_from=today - timedelta(days=3)) == ["另一作坊", "指派给我的"]
    assert listed(date_to=today - timedelta(days=3)) == ["旧投诉"]
    page = complaints.list_complaints(ComplaintFilter(), by=world["inspector"])
    names = {row.complaint.content: row.assignee_name for row in page.items}
    assert names["指派给我的"] == "陈检验" and names["旧投诉"] is None
    assert complaints.count_new(by=world["inspector"]) == 2
