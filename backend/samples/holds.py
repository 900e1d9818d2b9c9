"""A batch's quality, and its holds, releases and recalls.

A positive screen or a lab fail holds the batch (:func:`hold_for`, called as results are
recorded). A lab fail marks it for recall; a regulator recalls it (:func:`recall_batch`).
Once every screen is confirmed by a lab pass and no lab fail stands, a regulator may
release it again (:func:`release_batch`). Holding, releasing and recalling by hand are the
regulator's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.accounts.models import Role, User
from backend.accounts.permissions import require_role
from backend.batches.models import STATE_NAMES_ZH, Batch, BatchState
from backend.batches.states import change_state
from backend.core.errors import Conflict, NotFound, ValidationError
from backend.core.i18n import N_
from backend.core.i18n import gettext as _
from backend.extensions import db
from backend.samples.confirmation import open_screens, standing_lab_fails
from backend.samples.lookup import get_sample, require_reader
from backend.samples.models import Sample, TestResult

# Holding, releasing, recalling and publishing by hand are the regulator's.
REGULATORS_ONLY = N_("此操作仅限监管人员。")


def _lock(batch: Batch) -> Batch:
    """Lock the batch's row (PostgreSQL) and read its state afresh, so that two requests
    cannot both move it."""
    db.session.execute(select(Batch.id).where(Batch.id == batch.id).with_for_update())
    db.session.refresh(batch, ["state", "hold_reason", "released_at"])
    return batch


def hold_for(batch: Batch | None, reason: str, by: User) -> bool:
    """Hold *batch* for *reason* (adding to the banner of a held one); whether it is held."""
    if batch is None:
        return False
    _lock(batch)
    if batch.can_move_to(BatchState.HELD):
        change_state(batch, BatchState.HELD, reason=reason, by_user_id=by.id)
        return True
    if batch.state is BatchState.HELD:
        if reason not in batch.hold_reason:
            batch.hold_reason = f"{batch.hold_reason}\n{reason}" if batch.hold_reason else reason
            db.session.flush()
        return True
    return False  # not out yet (draft, in production) or already recalled


# -- a batch's quality, and holds, releases and recalls by hand ----------------------------


@dataclass
class BatchQuality:
    """Every result of a batch, and what they mean for its release."""

    batch: Batch
    results: list[TestResult]
    superseded_ids: set[int] = field(default_factory=set)
    open_screens: list[TestResult] = field(default_factory=list)
    lab_fails: list[TestResult] = field(default_factory=list)

    @property
    def recall_recommended(self) -> bool:
        """A standing lab fail: the regulator should recall."""
        return bool(self.lab_fails)

    @property
    def releasable(self) -> bool:
        """A held batch with every screen answered and no lab fail may be released."""
        return self.batch.state is BatchState.HELD and not self.open_screens and not self.lab_fails


def batch_quality(batch: Batch, *, by: User | None = None) -> BatchQuality:
    """The batch's results (oldest first) and what stands between it and release."""
    if by is not None:
        require_reader(by, batch.workshop_id)
    results = db.session.scalars(
        select(TestResult)
        .join(Sample, TestResult.sample_id == Sample.id)
        .where(Sample.batch_id == batch.id)
        .options(selectinload(TestResult.sample), selectinload(TestResult.standard_limit))
        .order_by(TestResult.tested_at, TestResult.id)
    ).all()
    return BatchQuality(
        batch=batch,
        results=list(results),
        superseded_ids={r.supersedes_id for r in results if r.supersedes_id},
        open_screens=open_screens(batch.id),
        lab_fails=standing_lab_fails(batch.id),
    )


def _reason(reason: str) -> str:
    """A regulator's reason: required, at most 500 characters."""
    reason = (reason or "").strip()
    if not reason or len(reason) > 500:
        raise ValidationError(
            _("请填写理由（不超过 500 字）。"), slug="reason_needed", errors={"reason": ["1–500"]}
        )
    return reason


def _state_conflict(batch: Batch, message: str) -> Conflict:
    """The batch's state forbids the action *message* (marked with N_) speaks of."""
    return Conflict(
        _(message, no=batch.batch_no, state=_(STATE_NAMES_ZH[batch.state])),
        slug="batch_state_conflict",
    )


def hold_batch(batch: Batch, reason: str, by: User) -> Batch:
    """A regulator holds a released (or pending) batch by hand."""
    require_role(by, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulators_only")
    reason = _reason(reason)
    _lock(batch)
    if not batch.can_move_to(BatchState.HELD):
        raise _state_conflict(batch, N_("批次 %(no)s 当前为“%(state)s”，不能暂控。"))
    change_state(batch, BatchState.HELD, reason=reason, by_user_id=by.id)
    return batch


def release_batch(batch: Batch, reason: str, by: User) -> Batch:
    """A regulator releases a held batch once every screen is answered and no lab fail stands."""
    require_role(by, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulators_only")
    reason = _reason(reason)
    _lock(batch)
    if batch.state is not BatchState.HELD:
        raise _state_conflict(batch, N_("批次 %(no)s 当前为“%(state)s”，不能解除暂控。"))
    quality = batch_quality(batch)
    if quality.lab_fails:
        raise Conflict(
            _("该批次有实验室不合格结果，不能放行，应予召回。"),
            slug="lab_fail_stands",
            errors={"results": [r.id for r in quality.lab_fails]},
        )
    if quality.open_screens:
        raise Conflict(
            _("该批次的快检阳性结果尚待实验室确认，不能放行。"),
            slug="awaiting_lab_confirmation",
            errors={"results": [r.id for r in quality.open_screens]},
        )
    change_state(batch, BatchState.RELEASED, reason=reason, by_user_id=by.id)
    return batch


def recall_batch(batch: Batch, reason: str, by: User) -> Batch:
    """A regulator recalls a released or held batch; consumers see it at once."""
    require_role(by, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulators_only")
    reason = _reason(reason)
    _lock(batch)
    if not batch.can_move_to(BatchState.RECALLED):
        raise _state_conflict(batch, N_("批次 %(no)s 当前为“%(state)s”，不能召回。"))
    change_state(batch, BatchState.RECALLED, reason=reason, by_user_id=by.id)
    return batch


def sampled_batch(sample_no: str, *, by: User) -> Sample:
    """The sample *sample_no* whose batch a regulator is to hold, release or recall
    (regulators only); NotFound when the sample names no batch."""
    require_role(by, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulators_only")
    sample = get_sample(sample_no, by=by)
    if sample.batch is None:
        raise NotFound(_("该样品未关联批次。"), slug="batch_not_found")
    return sample
