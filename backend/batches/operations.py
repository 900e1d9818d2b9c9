"""Batch operations from phones: open a batch from raw lots, record additives and steps,
move it through its states. Each writes the matching ledger entry. Services flush, never
commit (cached scan views follow the flushed rows by themselves: backend/scan/freshness.py).

Rules:

- A batch is of one of the workshop's own active products, of a category its registration
  certificate allows (the category or one of its parents is on the certificate), and only
  while the workshop may trade (:func:`backend.registry.standing.require_trading`: active
  or upgraded, certificate not expired): opening, producing, additives and release are
  refused otherwise.
- Its inputs are accepted lots of the same workshop, received on or before the production
  day and not expired on it, each at most what is left of the lot: the lot's quantity minus
  every batch input so far. The workshop's row is locked first (PostgreSQL) and the totals
  are checked again after the inputs are written, so two requests cannot overspend a lot.
- Additives are resolved and checked against the standards table
  (:mod:`backend.rules.additives`) and recorded while the batch is a draft or in
  production.
- States follow DESIGN.md. Operators move draft → in_production → pending_release, and an
  owner releases a pending batch with a passing outgoing inspection (出厂检验), which is
  written to the ledger. Holding, recalling and lifting a hold (held → released) are never
  an operator's (403); they go to :mod:`backend.samples.holds` (regulators, with a
  reason; a hold is lifted only once the lab has answered every screen).

Reading lots and batches is :mod:`backend.batches.listing`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select

from backend.accounts.models import Role, User
from backend.accounts.permissions import require_operator, require_role
from backend.batches.models import STATE_NAMES_ZH, AdditiveUse, Batch, BatchInput, BatchState
from backend.batches.states import change_state
from backend.core.errors import Conflict, NotFound, ValidationError
from backend.core.time import local_today, utcnow
from backend.extensions import db
from backend.ledgers import entries
from backend.ledgers.models import AcceptanceResult, LedgerEntry, LedgerKind, RawMaterialLot
from backend.registry.models import Product, Workshop
from backend.registry.standing import Action, require_trading
from backend.rules import additives
from backend.rules.models import StandardLimit
from backend.rules.standards import category_chain
from backend.samples import holds as sampling

S = BatchState
ADDITIVE_STATES = (S.DRAFT, S.IN_PRODUCTION)
INSPECTION_STATES = (S.PENDING_RELEASE, S.RELEASED, S.HELD)
LEFT_EPSILON = Decimal("0.0005")  # below the three decimals quantities carry


@dataclass
class AdditiveResult:
    """An additive use, its ledger entry, the rule-base row that applies and the judgement."""

    use: AdditiveUse
    entry: LedgerEntry
    limit: StandardLimit | None
    check: additives.Judgement | None = None


def quantize(value) -> Decimal:
    """A quantity to the three decimals quantities carry."""
    return Decimal(value or 0).quantize(Decimal("0.001"))


def usage(lot_ids: list[int]) -> dict[int, Decimal]:
    """What batches used of each lot so far."""
    if not lot_ids:
        return {}
    rows = db.session.execute(
        select(BatchInput.raw_lot_id, func.sum(BatchInput.quantity))
        .where(BatchInput.raw_lot_id.in_(lot_ids))
        .group_by(BatchInput.raw_lot_id)
    ).all()
    return {lot_id: quantize(total) for lot_id, total in rows}


def batch_by_no(batch_no: str) -> Batch:
    """The batch with *batch_no* (404 otherwise)."""
    batch = db.session.scalar(select(Batch).where(Batch.batch_no == batch_no))
    if batch is None:
        raise NotFound(_("批次 %(no)s 不存在。", no=batch_no), slug="batch_not_found")
    return batch


def workshop_batch(workshop_id: int, batch_no: str, field: str = "batch_no") -> Batch:
    """A batch of this workshop named in a request body (422 otherwise)."""
    batch = db.session.scalar(
        select(Batch).where(Batch.batch_no == batch_no, Batch.workshop_id == workshop_id)
    )
    if batch is None:
        raise ValidationError(
            _("本作坊没有批次 %(no)s。", no=batch_no),
            slug="batch_not_found",
            errors={field: [f"no batch {batch_no} in this workshop"]},
        )
    return batch


def _lock_workshop(workshop_id: int) -> Workshop:
    workshop = db.session.scalar(
        select(Workshop).where(Workshop.id == workshop_id).with_for_update()
    )
    if workshop is None:
        raise NotFound(_("作坊不存在。"), slug="workshop_not_found")
    return workshop


def _new_batch_no(workshop: Workshop, produced_on) -> str:
    """W<workshop id>-<yyyymmdd>-<nn>, the next free number of the day."""
    prefix = f"W{workshop.id}-{produced_on:%Y%m%d}-"
    taken = set(db.session.scalars(select(Batch.batch_no).where(Batch.batch_no.like(f"{prefix}%"))))
    n = len(taken) + 1
    while f"{prefix}{n:02d}" in taken:
        n += 1
    return f"{prefix}{n:02d}"


def _check_product(workshop: Workshop, product_id: int) -> Product:
    product = db.session.get(Product, product_id)
    if product is None or product.workshop_id != workshop.id:
        raise ValidationError(
            _("本作坊没有这个产品。"),
            slug="product_not_found",
            errors={"product_id": ["not a product of this workshop"]},
        )
    if not product.active:
        raise ValidationError(
            _("产品已停产。"), slug="product_inactive", errors={"product_id": ["inactive"]}
        )
    allowed = {c.code for c in workshop.product_types}
    if not allowed.intersection(category_chain(product.category_code)):
        raise ValidationError(
            _(
                "登记证未许可本作坊生产“%(category)s”类食品。",
                category=product.category.name_zh,
            ),
            slug="category_not_allowed",
            errors={"product_id": [f"category {product.category_code} not on the certificate"]},
        )
    return product


def _check_lots(workshop_id: int, inputs: list[dict], produced_on) -> list[RawMaterialLot]:
    """The lots named, locked, each usable on the production day."""
    ids = [i["raw_lot_id"] for i in inputs]
    if len(set(ids)) != len(ids):
        raise ValidationError(
            _("同一原料批次只能列一次。"),
            slug="duplicate_lot",
            errors={"inputs": ["each raw_lot_id once"]},
        )
    lots = {
        lot.id: lot
        for lot in db.session.scalars(
            select(RawMaterialLot)
            .where(RawMaterialLot.id.in_(ids))
            .order_by(RawMaterialLot.id)
            .with_for_update()
        )
    }
    chosen = []
    for index, wanted in enumerate(inputs):
        lot = lots.get(wanted["raw_lot_id"])
        where = {"inputs": {index: {"raw_lot_id": []}}}
        problem = None
        if lot is None or lot.workshop_id != workshop_id:
            problem = ("lot_not_found", _("本作坊没有这个原料批次。"), "not a lot of this workshop")
        elif lot.result is not AcceptanceResult.ACCEPTED:
            problem = (
                "lot_not_accepted",
                _("原料批次 %(no)s 进货查验未通过，不能投料。", no=lot.lot_no),
                "not accepted",
            )
        elif lot.purchased_on > produced_on:
            problem = (
                "lot_after_batch",
                _("原料批次 %(no)s 在生产日期之后才进货。", no=lot.lot_no),
                "received after the production day",
            )
        elif lot.expires_on is not None and lot.expires_on < produced_on:
            problem = (
                "lot_expired",
                _(
                    "原料批次 %(no)s 已于 %(date)s 过期，不能投料。",
                    no=lot.lot_no,
                    date=lot.expires_on.isoformat(),
                ),
                f"expired on {lot.expires_on.isoformat()}",
            )
        if problem:
            slug, message, detail = problem
            where["inputs"][index]["raw_lot_id"] = [detail]
            raise ValidationError(message, slug=slug, errors=where)
        chosen.append(lot)
    return chosen


def _check_left(lots: list[RawMaterialLot], inputs: list[dict], *, already_written: bool) -> None:
    """Refuse an input larger than what is left of its lot."""
    used = usage([lot.id for lot in lots])
    for index, (lot, wanted) in enumerate(zip(lots, inputs, strict=True)):
        spent = used.get(lot.id, Decimal(0))
        left = lot.quantity - spent + (wanted["quantity"] if already_written else 0)
        if wanted["quantity"] > left:
            raise ValidationError(
                _(
                    "原料批次 %(no)s 只剩 %(left)s %(unit)s，不够本次投料 %(want)s %(unit)s。",
                    no=lot.lot_no,
                    left=format(quantize(max(left, 0)).normalize(), "f"),
                    unit=lot.unit,
                    want=format(wanted["quantity"].normalize(), "f"),
                ),
                slug="not_enough_left",
                errors={"inputs": {index: {"quantity": [f"only {quantize(left)} left"]}}},
            )


def open_batch(workshop_id: int, user: User, data: dict) -> Batch:
    """Open a batch from accepted raw lots; write its production record (生产记录)."""
    require_operator(user, workshop_id)
    st = entries.stamp(user, data)
    workshop = _lock_workshop(workshop_id)
    require_trading(workshop, Action.OPEN_BATCH)
    product = _check_product(workshop, data["product_id"])
    today = local_today()
    produced_on = data.get("produced_on") or st.business_date
    entries.check_day(produced_on, "produced_on", today=today, oldest=today - entries.MAX_BACKDATE)
    batch_no = data.get("batch_no") or _new_batch_no(workshop, produced_on)
    if db.session.scalar(select(Batch.id).where(Batch.batch_no == batch_no)):
        raise Conflict(
            _("批次号 %(no)s 已被使用。", no=batch_no),
            slug="batch_no_taken",
            errors={"batch_no": ["taken"]},
        )
    lots = _check_lots(workshop_id, data["inputs"], produced_on)
    _check_left(lots, data["inputs"], already_written=False)
    batch = Batch(
        batch_no=batch_no,
        workshop_id=workshop_id,
        product_id=product.id,
        produced_on=produced_on,
        expires_on=produced_on + timedelta(days=product.shelf_life_days)
        if product.shelf_life_days
        else None,
        planned_quantity=data.get("planned_quantity"),
        unit=data["unit"] or "件",
        process_notes=data["process"],
        created_by_id=user.id,
    )
    db.session.add(batch)
    db.session.flush()
    for lot, wanted in zip(lots, data["inputs"], strict=True):
        db.session.add(
            BatchInput(
                batch_id=batch.id, raw_lot_id=lot.id, quantity=wanted["quantity"], unit=lot.unit
            )
        )
    db.session.flush()
    # Checked again with the inputs written: a request that slipped past the lock loses.
    _check_left(lots, data["inputs"], already_written=True)
    db.session.refresh(batch, ["inputs"])
    entries.write(
        LedgerKind.PRODUCTION,
        workshop_id,
        user,
        st,
        entries.production_payload(batch, data["process"], stage="opened"),
        batch=batch,
    )
    if data["start"]:
        change_state(batch, S.IN_PRODUCTION, by_user_id=user.id, at=st.occurred_at)
    db.session.flush()
    db.session.refresh(batch)  # answered as stored (amounts to three decimals)
    return batch


def add_additive(batch: Batch, user: User, data: dict) -> AdditiveResult:
    """Record an additive used in *batch*, judged by amount against the rule base
    (:func:`backend.rules.additives.judge`); refused when a verified rule forbids it."""
    require_operator(user, batch.workshop_id)
    st = entries.stamp(user, data)
    require_trading(batch.workshop, Action.PRODUCE)
    if batch.state not in ADDITIVE_STATES:
        raise Conflict(
            _(
                "批次 %(no)s 当前为“%(state)s”，不能再记录添加剂。",
                no=batch.batch_no,
                state=STATE_NAMES_ZH[batch.state],
            ),
            slug="batch_not_open",
        )
    category = batch.product.category
    judgement = additives.judge(batch, category, data, list(batch.additive_uses))
    lot = None
    if data.get("raw_lot_id") is not None:
        lot = db.session.get(RawMaterialLot, data["raw_lot_id"])
        if (
            lot is None
            or lot.workshop_id != batch.workshop_id
            or lot.result is not AcceptanceResult.ACCEPTED
        ):
            raise ValidationError(
                _("本作坊没有这个已验收的原料批次。"),
                slug="lot_not_found",
                errors={"raw_lot_id": ["not an accepted lot of this workshop"]},
            )
    use = AdditiveUse(
        batch_id=batch.id,
        raw_lot_id=lot.id if lot else None,
        additive_name=data["additive"],
        additive_code=judgement.additive.code,
        purpose=data.get("purpose") or "",
        amount=data["amount"],
        unit=data["unit"],
    )
    db.session.add(use)
    db.session.flush()
    entry = entries.write(
        LedgerKind.ADDITIVE_USE,
        batch.workshop_id,
        user,
        st,
        entries.additive_payload(batch, use),
        batch=batch,
        raw_lot=lot,
    )
    return AdditiveResult(use, entry, judgement.limit, judgement)


def record_additive_use(workshop_id: int, user: User, data: dict) -> LedgerEntry:
    """添加剂使用 through the ledger endpoint: the batch is named in the body."""
    require_operator(user, workshop_id)
    body = dict(data)
    batch = workshop_batch(workshop_id, body.pop("batch_no"))
    return add_additive(batch, user, body).entry


def record_progress(workshop_id: int, user: User, data: dict) -> LedgerEntry:
    """生产记录 of a step of a batch in production (process and parameters)."""
    require_operator(user, workshop_id)
    st = entries.stamp(user, data)
    batch = workshop_batch(workshop_id, data["batch_no"])
    require_trading(batch.workshop, Action.PRODUCE)
    if batch.state is not S.IN_PRODUCTION:
        raise Conflict(
            _(
                "批次 %(no)s 当前为“%(state)s”，不在生产中。",
                no=batch.batch_no,
                state=STATE_NAMES_ZH[batch.state],
            ),
            slug="batch_not_in_production",
        )
    return entries.write(
        LedgerKind.PRODUCTION,
        workshop_id,
        user,
        st,
        entries.production_payload(
            batch,
            data["process"],
            stage="progress",
            quantity=data.get("quantity"),
            unit=data.get("unit"),
        ),
        batch=batch,
    )


def record_inspection(workshop_id: int, user: User, data: dict) -> LedgerEntry:
    """出厂检验 of a finished batch, without releasing it (release does its own)."""
    require_operator(user, workshop_id)
    st = entries.stamp(user, data)
    batch = workshop_batch(workshop_id, data["batch_no"])
    if batch.state not in INSPECTION_STATES:
        raise Conflict(
            _(
                "批次 %(no)s 当前为“%(state)s”，还不能做出厂检验。",
                no=batch.batch_no,
                state=STATE_NAMES_ZH[batch.state],
            ),
            slug="batch_not_finished",
        )
    return entries.write(
        LedgerKind.OUTGOING_INSPECTION,
        workshop_id,
        user,
        st,
        entries.inspection_payload(
            batch,
            inspection_cert_no=data["inspection_cert_no"],
            items=data["items"],
            result=data["result"],
            quantity=data.get("quantity"),
        ),
        batch=batch,
    )


def move_batch(batch: Batch, user: User, data: dict) -> Batch:
    """Move *batch* to ``data["to"]`` if the caller may, writing the matching record."""
    to = BatchState(data["to"])
    reason = data.get("reason") or ""
    body = {**data, "occurred_at": data.get("occurred_at") or utcnow()}
    # Releasing from a hold (or from anything past release) is lifting a hold, not a release.
    supervisory = to in (S.HELD, S.RECALLED) or (
        to is S.RELEASED and batch.state in (S.HELD, S.RELEASED, S.RECALLED)
    )
    if supervisory:
        # One set of rules for holds: backend.samples.holds (regulators by hand; lifting a
        # hold only once the lab has answered every screen).
        require_role(
            user,
            Role.REGULATOR,
            message=_("暂控、召回和解除暂控只能由监管人员操作。"),
            slug="regulators_only",
        )
        action = {
            S.HELD: sampling.hold_batch,
            S.RECALLED: sampling.recall_batch,
            S.RELEASED: sampling.release_batch,
        }[to]
        return action(batch, reason, user)
    require_operator(user, batch.workshop_id, owner=to is S.RELEASED)
    st = entries.stamp(user, body)
    # The gate (registration valid, not suspended or cancelled) before anything is written.
    require_trading(batch.workshop, Action.RELEASE if to is S.RELEASED else Action.PRODUCE)
    if to is S.IN_PRODUCTION:
        change_state(batch, to, reason=reason, by_user_id=user.id, at=st.occurred_at)
    elif to is S.PENDING_RELEASE:
        change_state(batch, to, reason=reason, by_user_id=user.id, at=st.occurred_at)
        entries.write(
            LedgerKind.PRODUCTION,
            batch.workshop_id,
            user,
            st,
            entries.production_payload(
                batch,
                reason or "生产完成，待出厂检验",
                stage="finished",
                quantity=data.get("quantity"),
            ),
            batch=batch,
        )
    else:  # released by the owner after a passing outgoing inspection
        inspection = data.get("inspection")
        if inspection is None:
            raise ValidationError(
                _("放行前须填写出厂检验。"),
                slug="inspection_required",
                errors={"inspection": ["required to release"]},
            )
        if inspection["result"] != "pass":
            raise ValidationError(
                _("出厂检验不合格的批次不能放行。"),
                slug="inspection_failed",
                errors={"inspection": {"result": ["must be pass to release"]}},
            )
        change_state(
            batch, to, reason=reason or "出厂检验合格", by_user_id=user.id, at=st.occurred_at
        )
        entries.write(
            LedgerKind.OUTGOING_INSPECTION,
            batch.workshop_id,
            user,
            st,
            entries.inspection_payload(
                batch,
                inspection_cert_no=inspection["inspection_cert_no"],
                items=inspection["items"],
                result=inspection["result"],
                quantity=inspection.get("quantity"),
            ),
            batch=batch,
        )
    return batch
