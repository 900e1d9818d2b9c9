"""The rule base as regulators read it: every row with its source, an export, the reports of
refused non-food substances, and recorded additive uses today's rules flag.

Only regulators and inspectors read these (:data:`backend.samples.listing.STAFF`).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from backend.accounts.models import User
from backend.accounts.permissions import require_role
from backend.audit.log import record
from backend.batches.models import AdditiveUse, Batch
from backend.core.spreadsheets import render
from backend.core.time import local_today
from backend.extensions import db
from backend.rules import additives
from backend.rules.models import NonFoodIncident, StandardLimit, SubstanceAlias
from backend.samples.listing import STAFF, STAFF_ONLY

COMPARISON_ZH = {
    "max": "最大使用量/限量",
    "not_permitted": "不得使用",
    "absent": "不得检出（非食用物质）",
    "label_tolerance": "标示值允许差",
    "quantum_satis": "按生产需要适量使用",
}


@dataclass
class Flagged:
    """A recorded additive use that today's rules refuse or want reviewed."""

    use: AdditiveUse
    batch: Batch
    judgement: additives.Judgement


def rule_rows(by: User, *, category: str = "", unverified_only: bool = False):
    """The rule base's rows, by category and item."""
    require_role(by, *STAFF, message=_(STAFF_ONLY), slug="staff_only")
    query = select(StandardLimit).order_by(StandardLimit.category_code, StandardLimit.item_code)
    if category:
        query = query.where(StandardLimit.category_code == category)
    if unverified_only:
        query = query.where(~StandardLimit.verified)
    return list(db.session.scalars(query).all())


def export_rules(fmt: str, *, by: User) -> tuple[bytes, str]:
    """The whole rule base as CSV or XLSX bytes and a file name; audited."""
    rows = rule_rows(by)
    header = [
        _("产品类别"),
        _("GB 2760 食品类别"),
        _("项目代码"),
        _("项目"),
        _("判定方式"),
        _("限量"),
        _("单位"),
        _("计算基准"),
        _("标准"),
        _("条款"),
        _("合并限量组"),
        _("已与标准原文核对"),
        _("核对说明"),
    ]
    body = [
        [
            r.category_code,
            r.gb2760_category,
            r.item_code,
            r.item_name_zh,
            COMPARISON_ZH.get(str(r.comparison), str(r.comparison)),
            "" if r.limit_value is None else format(r.limit_value.normalize(), "f"),
            r.unit,
            r.basis,
            r.standard,
            r.clause,
            r.combined_group,
            _("是") if r.verified else _("否"),
            r.source_note,
        ]
        for r in rows
    ]
    data = render([header, *body], fmt, _("食品安全规则库"))
    record("rules.exported", "standard_limits", "-", actor=by, rows=len(body), format=fmt)
    return data, f"规则库-{local_today():%Y%m%d}.{fmt}"


def incidents(by: User, *, limit: int = 200) -> list[NonFoodIncident]:
    """Reports of refused non-food substances, newest first."""
    require_role(by, *STAFF, message=_(STAFF_ONLY), slug="staff_only")
    return list(
        db.session.scalars(
            select(NonFoodIncident).order_by(NonFoodIncident.created_at.desc()).limit(limit)
        ).all()
    )


AUDIT_BATCHES = 500  # the newest batches with additive uses judged on one page view


def flagged_uses(by: User, *, newest: int = AUDIT_BATCHES) -> list[Flagged]:
    """Recorded additive uses today's rules refuse or want reviewed (nothing is changed),
    in the *newest* batches that have additive uses (``flask rules audit`` reads them all)."""
    require_role(by, *STAFF, message=_(STAFF_ONLY), slug="staff_only")
    batches = db.session.scalars(
        select(Batch)
        .where(Batch.id.in_(select(AdditiveUse.batch_id)))
        .options(selectinload(Batch.additive_uses))
        .order_by(Batch.id.desc())
        .limit(newest)
    ).all()
    found = []
    for batch in batches:
        for use in sorted(batch.additive_uses, key=lambda u: u.id):
            judgement = additives.audit(use, batch)
            if judgement is not None:
                found.append(Flagged(use, batch, judgement))
    return found


def aliases(by: User) -> list[SubstanceAlias]:
    """The names regulators added, newest first."""
    require_role(by, *STAFF, message=_(STAFF_ONLY), slug="staff_only")
    return list(db.session.scalars(select(SubstanceAlias).order_by(SubstanceAlias.id.desc())).all())


def incident_count(by: User) -> int:
    """How many non-food substance reports there are."""
    require_role(by, *STAFF, message=_(STAFF_ONLY), slug="staff_only")
    return db.session.scalar(select(func.count()).select_from(NonFoodIncident)) or 0
