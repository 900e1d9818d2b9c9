"""The standard checklist (检查表): its seven items, their results, and recording them."""

from __future__ import annotations

from dataclasses import dataclass

from backend.accounts.models import Role, User
from backend.accounts.permissions import require_role
from backend.audit.log import record
from backend.core.errors import Errors
from backend.core.i18n import N_
from backend.core.i18n import gettext as _
from backend.extensions import db
from backend.inspections.checks import (
    NOTE_LIMIT,
    REGULATORS_ONLY,
    require_in_progress,
    text,
)
from backend.inspections.lookup import get_inspection
from backend.inspections.models import ChecklistItem, Inspection, InspectionItem, ItemResult
from backend.inspections.photos import Upload, store_photos

ITEM_LABELS = {
    ChecklistItem.RAW_MATERIALS: N_("原料采购与进货查验"),
    ChecklistItem.SANITATION: N_("环境卫生"),
    ChecklistItem.PROCESSING: N_("生产加工过程"),
    ChecklistItem.ADDITIVES: N_("食品添加剂使用"),
    ChecklistItem.STAFF_HEALTH: N_("从业人员健康管理"),
    ChecklistItem.PACKAGING_LABELING: N_("包装与标签标识"),
    ChecklistItem.AREA_SEPARATION: N_("生活区、生产区、成品区分离"),
}
ITEM_GUIDANCE = {
    ChecklistItem.RAW_MATERIALS: N_("供货者许可证和合格证明是否查验、进货查验记录是否完整留存"),
    ChecklistItem.SANITATION: N_("加工场所清洁、排水、防鼠防虫防蝇设施，清洗消毒记录"),
    ChecklistItem.PROCESSING: N_("工艺与生产记录，生熟分开，工用具和设备的清洁"),
    ChecklistItem.ADDITIVES: N_("是否超范围超限量，专柜存放、专人管理，使用记录"),
    ChecklistItem.STAFF_HEALTH: N_("健康证是否有效，晨检记录，工作衣帽和洗手消毒"),
    ChecklistItem.PACKAGING_LABELING: N_("标签是否标注名称、生产日期、保质期、配料、登记证编号等"),
    ChecklistItem.AREA_SEPARATION: N_("生活区、生产区、成品区是否有效隔离"),
}
RESULT_LABELS = {
    ItemResult.COMPLIANT: N_("符合"),
    ItemResult.NON_COMPLIANT: N_("不符合"),
    ItemResult.NOT_APPLICABLE: N_("不适用"),
}


@dataclass
class ItemInput:
    """One checklist item's finding as typed: a result, a note and perhaps a new photo."""

    result: str | None = None
    note: str = ""
    photo: Upload | None = None


def record_items(
    inspection_id: int, findings: dict[ChecklistItem, ItemInput], *, by: User
) -> Inspection:
    """Record the seven checklist items of an inspection in progress (regulators only).

    Each item needs a result; a non-compliant one needs a note; a photo is optional and
    replaces the one recorded before. Items may be recorded again until the conclusion.
    An item with a hazard must stay non-compliant.
    """
    require_role(by, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    inspection = get_inspection(inspection_id, by=by, lock=True)
    require_in_progress(inspection)
    errors = Errors()
    hazard_items = {h.item for h in inspection.hazards}
    results: dict[ChecklistItem, tuple[ItemResult, str]] = {}
    photos: dict[str, Upload] = {}
    for item in ChecklistItem:
        data = findings.get(item) or ItemInput()
        result = None
        if not data.result:
            errors.add(f"result_{item.value}", _("请选择检查结果。"))
        else:
            try:
                result = ItemResult(data.result)
            except ValueError:
                errors.add(f"result_{item.value}", _("未知的检查结果。"))
        note = text(errors, f"note_{item.value}", data.note, NOTE_LIMIT, required=False)
        if result is ItemResult.NON_COMPLIANT and not note:
            errors.add(f"note_{item.value}", _("不符合的项目须写明发现的问题。"))
        if result is not None and result is not ItemResult.NON_COMPLIANT and item in hazard_items:
            errors.add(
                f"result_{item.value}",
                _("该项已登记隐患，只能为“不符合”；如判断有误，请先删除该隐患。"),
            )
        if result is not None:
            results[item] = (result, note)
        if data.photo is not None:
            photos[f"photo_{item.value}"] = data.photo
    stored = store_photos(errors, photos, by=by)
    existing = {row.item: row for row in inspection.items}
    changes = {}
    for item, (result, note) in results.items():
        photo = stored.get(f"photo_{item.value}")
        row = existing.get(item)
        if row is None:
            row = InspectionItem(inspection_id=inspection.id, item=item, result=result, note=note)
            db.session.add(row)
            inspection.items.append(row)
        elif row.result is result and row.note == note and photo is None:
            continue
        else:
            row.result, row.note = result, note
        if photo is not None:
            row.photo_file_id = photo.id
        changes[item.value] = {"result": result, "note": note, "photo_file_id": row.photo_file_id}
    db.session.flush()
    if changes:
        record("inspection.items_recorded", "inspection", inspection.id, actor=by, items=changes)
    return inspection
