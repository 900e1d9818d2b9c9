"""Registration standing: whether a workshop may trade today, in one place.

A small workshop trades under its registration certificate (小作坊登记证). The certificate
is valid through the day it states (``cert_valid_until``) unless it is long-term; a
regulator may suspend the workshop (停产整改) or cancel its registration (注销). A workshop
upgraded to an enterprise produces under its food production licence (食品生产许可证), so
the old certificate's date no longer decides anything.

:func:`registration_standing` says which of valid / expired / suspended / cancelled a
workshop is on a day, with the date that made it so. :func:`require_trading` is the gate
every trading action calls first (opening a batch, producing, releasing, selling, issuing
codes, accepting raw materials): it raises :class:`Conflict` with a stable slug
(``registration_expired``, ``workshop_suspended``, ``workshop_cancelled``) and a message
naming the status and the date. Ledgers the law still requires (morning checks, cleaning,
rectification) and regulators' actions (holds, recalls) never call it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from babel.dates import format_date
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from backend.core.errors import Conflict
from backend.core.i18n import N_
from backend.core.time import SHANGHAI, local_today, to_local
from backend.extensions import db
from backend.registry.models import Workshop, WorkshopStatus, WorkshopStatusChange

DEFAULT_LOCALE = "zh_CN"


class Standing(enum.StrEnum):
    """Where a workshop's registration stands."""

    VALID = "valid"
    EXPIRED = "expired"  # the certificate's date has passed
    SUSPENDED = "suspended"  # 停产整改
    CANCELLED = "cancelled"  # 注销


class Action(enum.StrEnum):
    """Trading actions the gate guards."""

    OPEN_BATCH = "open_batch"
    PRODUCE = "produce"
    RELEASE = "release"
    SELL = "sell"
    ISSUE_CODES = "issue_codes"
    ACCEPT_RAW = "accept_raw"


ACTION_NAMES = {
    Action.OPEN_BATCH: N_("开批次"),
    Action.PRODUCE: N_("记录生产"),
    Action.RELEASE: N_("放行批次"),
    Action.SELL: N_("销售出货"),
    Action.ISSUE_CODES: N_("发放追溯码"),
    Action.ACCEPT_RAW: N_("验收原料"),
}
# Only a workshop under supervision makes food (a merely filed one does not yet).
PRODUCTION_ACTIONS = (Action.OPEN_BATCH, Action.PRODUCE)

# What the public reads (scan page, profile): the state and its date.
PUBLIC_MESSAGES = {
    Standing.EXPIRED: N_("该作坊的登记证已于 %(date)s 过期，尚未换证。"),
    Standing.SUSPENDED: N_("该作坊已于 %(date)s 被责令停产整改。"),
    Standing.CANCELLED: N_("该作坊已于 %(date)s 注销登记。"),
}
PUBLIC_MESSAGES_UNDATED = {
    Standing.SUSPENDED: N_("该作坊正在停产整改。"),
    Standing.CANCELLED: N_("该作坊已注销登记。"),
}

# What a refused operator reads: the state, its date and what was refused.
REFUSALS = {
    Standing.EXPIRED: (
        "registration_expired",
        N_("本作坊的登记证已于 %(date)s 过期，换证前不能%(action)s。"),
    ),
    Standing.SUSPENDED: (
        "workshop_suspended",
        N_("本作坊已于 %(date)s 被责令停产整改，恢复生产前不能%(action)s。"),
    ),
    Standing.CANCELLED: (
        "workshop_cancelled",
        N_("本作坊已于 %(date)s 注销登记，不能%(action)s。"),
    ),
}
REFUSALS_UNDATED = {
    Standing.SUSPENDED: N_("本作坊正在停产整改，恢复生产前不能%(action)s。"),
    Standing.CANCELLED: N_("本作坊已注销登记，不能%(action)s。"),
}


@dataclass(frozen=True)
class RegistrationStanding:
    """A workshop's standing on day *on*.

    *valid_until* is the certificate's last day (None when long-term, or when the workshop
    trades under an enterprise licence); *since* is the day the suspension or cancellation
    began (None when not known), or the certificate's last day when it expired.
    """

    state: Standing
    on: date
    valid_until: date | None
    since: date | None

    @property
    def valid(self) -> bool:
        """Whether the workshop may trade."""
        return self.state is Standing.VALID

    def message(self) -> str | None:
        """One sentence for the public in the request's language (None when valid)."""
        return self.message_in(str(get_locale() or DEFAULT_LOCALE))

    def message_in(self, locale: str) -> str | None:
        """The public sentence in *locale*, its date written as readers of that language
        write it (2026年9月1日, September 1, 2026); for cached views shared by every
        language, too."""
        template = self._public_template()
        if template is None:
            return None
        variables = {}
        if self.since is not None:
            variables["date"] = format_date(self.since, "long", locale=locale)
        if locale.startswith("zh"):
            return template % variables if variables else template
        with force_locale(locale):
            return _(template, **variables)

    def _public_template(self) -> str | None:
        if self.state is Standing.VALID:
            return None
        if self.since is None:
            return PUBLIC_MESSAGES_UNDATED[self.state]
        return PUBLIC_MESSAGES[self.state]

    def as_dict(self) -> dict:
        """The scan view's ``workshop.registration`` (messages in Chinese and English)."""
        return {
            "valid": self.valid,
            "state": str(self.state),
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "since": self.since.isoformat() if self.since else None,
            "checked_on": self.on.isoformat(),
            "message": self.message_in("zh_CN"),
            "message_en": self.message_in("en"),
        }


def _status_since(workshop: Workshop, status: WorkshopStatus) -> date | None:
    """The day the workshop last entered *status* (from its history), or None."""
    changed_at = db.session.scalar(
        select(WorkshopStatusChange.changed_at)
        .where(
            WorkshopStatusChange.workshop_id == workshop.id,
            WorkshopStatusChange.to_status == status,
        )
        .order_by(WorkshopStatusChange.changed_at.desc(), WorkshopStatusChange.id.desc())
        .limit(1)
    )
    if changed_at is None:
        return None
    if changed_at.tzinfo is None:  # SQLite gives naive UTC back
        changed_at = changed_at.replace(tzinfo=UTC)
    return to_local(changed_at).date()


def certificate_expired(workshop: Workshop, on: date) -> bool:
    """Whether the registration certificate's own date has passed on *on*."""
    return (
        not workshop.cert_long_term
        and workshop.cert_valid_until is not None
        and workshop.cert_valid_until < on
    )


def registration_standing(workshop: Workshop, on: date | None = None) -> RegistrationStanding:
    """Where *workshop* stands on *on* (today in Asia/Shanghai by default).

    Cancellation and suspension come first (a regulator's decision); then the certificate's
    date, except for a workshop upgraded to an enterprise, which produces under its licence.
    """
    on = on or local_today()
    status = workshop.status
    upgraded = status is WorkshopStatus.UPGRADED
    valid_until = None if workshop.cert_long_term or upgraded else workshop.cert_valid_until
    if status is WorkshopStatus.CANCELLED:
        return RegistrationStanding(
            Standing.CANCELLED, on, valid_until, _status_since(workshop, status)
        )
    if status is WorkshopStatus.SUSPENDED:
        return RegistrationStanding(
            Standing.SUSPENDED, on, valid_until, _status_since(workshop, status)
        )
    if not upgraded and certificate_expired(workshop, on):
        return RegistrationStanding(Standing.EXPIRED, on, valid_until, valid_until)
    return RegistrationStanding(Standing.VALID, on, valid_until, None)


def made_after_expiry(workshop: Workshop, produced_on: date | None) -> bool:
    """Whether a batch made on *produced_on* was made after the certificate had expired
    (and, for an upgraded workshop, before it held its licence)."""
    if produced_on is None or not certificate_expired(workshop, produced_on):
        return False
    if workshop.status is WorkshopStatus.UPGRADED:
        upgraded_on = _status_since(workshop, WorkshopStatus.UPGRADED)
        return upgraded_on is not None and produced_on < upgraded_on
    return True


def require_trading(workshop: Workshop, action: Action | str) -> RegistrationStanding:
    """Refuse *action* (Conflict, 409) unless *workshop* may trade today; return its standing.

    The slug names the state (``registration_expired``, ``workshop_suspended``,
    ``workshop_cancelled``; ``workshop_not_producing`` when a merely filed workshop tries to
    make food) and the message names the state, its date and the refused action.
    """
    action = Action(action)
    standing = registration_standing(workshop)
    action_name = _(ACTION_NAMES[action])
    details = {
        "state": str(standing.state),
        "action": str(action),
        "since": standing.since.isoformat() if standing.since else None,
        "valid_until": standing.valid_until.isoformat() if standing.valid_until else None,
    }
    if not standing.valid:
        slug, template = REFUSALS[standing.state]
        if standing.since is None:
            message = _(REFUSALS_UNDATED[standing.state], action=action_name)
        else:
            message = _(template, date=standing.since.isoformat(), action=action_name)
        raise Conflict(message, slug=slug, errors={"registration": details})
    if action in PRODUCTION_ACTIONS and workshop.status is WorkshopStatus.FILED:
        raise Conflict(
            _("作坊当前不在生产状态，不能开批次或投产。"),
            slug="workshop_not_producing",
            errors={"registration": {**details, "state": str(workshop.status)}},
        )
    return standing


def until_midnight(ttl: float) -> float:
    """*ttl* seconds, or fewer so that a cached answer built today is gone by midnight in
    Asia/Shanghai (a certificate expires with the day, without any row changing)."""
    now = datetime.now(SHANGHAI)
    midnight = datetime.combine(now.date() + timedelta(days=1), time(), SHANGHAI)
    return max(1, min(ttl, int((midnight - now).total_seconds()) + 1))
