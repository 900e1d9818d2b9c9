"""The demo's complaints: one handled, one new and linked to a code."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from backend.codes.models import UnitCode
from backend.complaints.models import Complaint, ComplaintChannel, ComplaintStatus
from backend.demo.builder import Builder, at
from backend.extensions import db


class ComplaintsSeed(Builder):
    """Complaints."""

    def complaints(self) -> None:
        """Two complaints: one handled, one new and linked to a code."""
        tofu = self.zone_workshop_list[4]
        db.session.add(
            Complaint(
                reference=f"TS{self.today:%Y%m%d}001",
                channel=ComplaintChannel.PORTAL,
                workshop_id=tofu.id,
                content="买到的黑豆腐有酸味，怀疑不新鲜。",
                contact_name="李女士",
                contact_phone="13959612345",
                status=ComplaintStatus.CLOSED,
                reply="已到作坊核查，当日产品冷藏正常；已提醒经营者缩短销售时限。",
                handled_by_id=self.regulator.id,
                closed_at=at(self.today - timedelta(days=3), 16),
            )
        )
        code = db.session.scalar(select(UnitCode).order_by(UnitCode.id.desc()).limit(1))
        db.session.add(
            Complaint(
                reference=f"TS{self.today:%Y%m%d}002",
                channel=ComplaintChannel.SCAN_PAGE,
                workshop_id=code.batch.workshop_id if code else None,
                batch_id=code.batch_id if code else None,
                code_id=code.id if code else None,
                content="瓶盖封口有松动，请核实。",
                contact_phone="13859612345",
            )
        )
        db.session.flush()
