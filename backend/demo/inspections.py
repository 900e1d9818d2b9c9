"""The demo's inspections: a yearly inspection for most workshops (zone workshops twice),
with the standard checklist, and hazards rectified, open or overdue."""

from __future__ import annotations

from datetime import date, timedelta

from backend.demo.builder import Builder, at
from backend.extensions import db
from backend.inspections.models import (
    ChecklistItem,
    Hazard,
    HazardStatus,
    Inspection,
    InspectionItem,
    InspectionOutcome,
    ItemResult,
    Rectification,
)
from backend.registry.models import Workshop, WorkshopStatus


class InspectionsSeed(Builder):
    """Inspections and hazards."""

    def inspections(self, workshop: Workshop) -> None:
        """A yearly inspection for most workshops; zone workshops twice."""
        if workshop.status is WorkshopStatus.CANCELLED:
            return
        visits = 2 if workshop.zone_id else 1
        for visit in range(visits):
            if not workshop.zone_id and self.rng.random() < 0.1:
                day = date(self.today.year - 1, 11, 10 + visit)  # not yet inspected this year
            else:
                day = self.today - timedelta(days=self.rng.randrange(5, 300) // (visit + 1))
            inspection = Inspection(
                workshop_id=workshop.id, inspector_id=self.regulator.id, inspected_on=day
            )
            db.session.add(inspection)
            db.session.flush()
            findings = []
            for item in ChecklistItem:
                bad = self.rng.random() < 0.08
                findings.append((item, bad))
                db.session.add(
                    InspectionItem(
                        inspection_id=inspection.id,
                        item=item,
                        result=ItemResult.NON_COMPLIANT if bad else ItemResult.COMPLIANT,
                        note=self.finding(item) if bad else "",
                    )
                )
            problems = [item for item, bad in findings if bad]
            inspection.outcome = (
                InspectionOutcome.RECTIFY if problems else InspectionOutcome.SATISFACTORY
            )
            inspection.summary = (
                "现场检查发现问题，责令限期整改。" if problems else "现场检查未发现问题。"
            )
            for item in problems:
                self.hazard(inspection, workshop, item, day)
        db.session.flush()

    @staticmethod
    def finding(item: ChecklistItem) -> str:
        """What an inspector writes for a failed checklist item."""
        return {
            ChecklistItem.RAW_MATERIALS: "部分原料进货查验记录未留存供货者许可证复印件",
            ChecklistItem.SANITATION: "加工间地面有积水，排水沟未加盖",
            ChecklistItem.PROCESSING: "生熟工具未分开存放",
            ChecklistItem.ADDITIVES: "食品添加剂未专柜存放、未专人管理",
            ChecklistItem.STAFF_HEALTH: "一名从业人员健康证已过期",
            ChecklistItem.PACKAGING_LABELING: "标签未标注小作坊登记证编号",
            ChecklistItem.AREA_SEPARATION: "成品暂存区与生活区未有效隔离",
        }[item]

    def hazard(self, inspection, workshop, item, day) -> None:
        """A hazard with a deadline; older ones rectified and closed, one left overdue."""
        deadline = day + timedelta(days=15)
        hazard = Hazard(
            inspection_id=inspection.id,
            workshop_id=workshop.id,
            item=item,
            description=self.finding(item),
            deadline=deadline,
        )
        db.session.add(hazard)
        db.session.flush()
        if deadline < self.today and self.rng.random() < 0.85:
            done = at(deadline - timedelta(days=3), 16)
            db.session.add(
                Rectification(
                    hazard_id=hazard.id,
                    description="已按要求整改完毕，附整改照片。",
                    submitted_by_id=None,
                    accepted=True,
                    reviewed_by_id=self.regulator.id,
                    reviewed_at=done + timedelta(days=1),
                    review_note="复查合格",
                )
            )
            hazard.status, hazard.closed_at = HazardStatus.CLOSED, done + timedelta(days=1)
            hazard.closed_by_id = self.regulator.id
        elif deadline >= self.today:
            hazard.status = HazardStatus.RECTIFYING
