"""Training sessions (培训): their title, topics, date, organiser and hours.

Regulators record sessions and attendance (:mod:`backend.training.attendance`); inspectors
and regulators read them (:mod:`backend.training.listing`, :mod:`backend.training.history`).
Every rule is checked here before anything is written; a refusal is a ValidationError whose
``errors`` name the field at fault. Functions flush and never commit.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

from backend.accounts.models import Role, User
from backend.accounts.permissions import require_role
from backend.audit.log import record
from backend.core import checks
from backend.core.errors import Errors, NotFound, refuse
from backend.core.i18n import N_
from backend.core.i18n import gettext as _
from backend.core.time import local_today
from backend.extensions import db
from backend.training.models import Training

EARLIEST = date(2000, 1, 1)  # no training record in the district is older than this
PLAN_AHEAD_DAYS = 366  # a session may be entered up to a year before it is held
MIN_HOURS, MAX_HOURS = 1, 24
TOPIC_SEPARATOR = "、"
MAX_TOPIC_LENGTH = 30
MAX_TOPICS_LENGTH = 300  # the column's size
DEFAULT_ORGANISER = "漳州市长泰区市场监督管理局"


# Topics offered as ticks on the form (stored as written; free text may add others).
SUGGESTED_TOPICS = (
    "食品安全法律法规",
    "小作坊主体责任",
    "原料进货查验",
    "食品添加剂使用",
    "生产过程控制",
    "清洗消毒",
    "从业人员健康管理",
    "标签标识",
    "台账记录",
    "一品一码操作",
    "明厨亮灶",
    "快检与抽检",
)
_SPLIT_TOPICS = re.compile(r"[、,，;；/\n\r]+")

#: What those refused by ``require_role`` are told: only regulators record training, only
#: regulators and inspectors read it.
REGULATORS_ONLY = N_("只有监管人员可以登记和修改培训记录。")
STAFF_ONLY = N_("只有监管和检验人员可以查看培训记录。")


@dataclass
class TrainingInput:
    """What a regulator records about a session."""

    title: str = ""
    topics: list[str] = field(default_factory=list)  # ticked suggestions (or any topics)
    other_topics: str = ""  # free text, topics separated by 、 , ； or new lines
    held_on: date | None = None
    organiser: str = ""
    location: str = ""
    hours: int | str | None = None  # as typed: checked here, stored as a whole number
    content: str = ""


# --- checks -----------------------------------------------------------------------------


def _text(
    errors: Errors, name: str, value: str, limit: int, *, required: bool = True, multiline=False
) -> str:
    """Trimmed, within its limit, without control characters; a *multiline* text (from a
    text area) may hold line breaks and tabs."""
    return checks.text(
        errors,
        name,
        value,
        limit,
        required=required,
        allowed="\t\r\n" if multiline else "",
        message=N_("不能包含制表符、换行等控制字符。"),
    )


def split_topics(text: str | None) -> list[str]:
    """The topics in *text*, split at 、 , ； / or new lines, trimmed, without repeats."""
    parts = (part.strip() for part in _SPLIT_TOPICS.split(text or ""))
    return list(dict.fromkeys(part for part in parts if part))


def _topics(errors: Errors, data: TrainingInput) -> str:
    """The ticked and typed topics joined by 、; at least one, each short and plain."""
    chosen = split_topics(TOPIC_SEPARATOR.join([*data.topics, data.other_topics or ""]))
    if not chosen:
        errors.add("topics", _("请至少勾选或填写一个培训主题。"))
        return ""
    for topic in chosen:
        if len(topic) > MAX_TOPIC_LENGTH:
            errors.add(
                "other_topics",
                _("每个主题不能超过 %(limit)d 个字符。", limit=MAX_TOPIC_LENGTH),
            )
            return ""
        if any(unicodedata.category(ch) == "Cc" for ch in topic):
            errors.add("other_topics", _("不能包含制表符等控制字符。"))
            return ""
    joined = TOPIC_SEPARATOR.join(chosen)
    if len(joined) > MAX_TOPICS_LENGTH:
        errors.add(
            "other_topics", _("主题合计不能超过 %(limit)d 个字符。", limit=MAX_TOPICS_LENGTH)
        )
        return ""
    return joined


def _hours(errors: Errors, value: int | str | None) -> int | None:
    """A whole number of hours from 1 to 24 (typed full-width digits are read too)."""
    message = _("学时须为 %(low)d 至 %(high)d 之间的整数。", low=MIN_HOURS, high=MAX_HOURS)
    if isinstance(value, bool):
        errors.add("hours", message)
        return None
    if isinstance(value, int):
        number = value
    else:
        text = unicodedata.normalize("NFKC", str(value or "")).strip()
        if not text:
            errors.add("hours", _("必填。"))
            return None
        if not re.fullmatch(r"[0-9]{1,4}", text):
            errors.add("hours", message)
            return None
        number = int(text)
    if not MIN_HOURS <= number <= MAX_HOURS:
        errors.add("hours", message)
        return None
    return number


def latest_date() -> date:
    """The last day a session may be entered for (sessions may be planned a year ahead)."""
    return local_today() + timedelta(days=PLAN_AHEAD_DAYS)


def check_training(data: TrainingInput) -> tuple[Errors, dict]:
    """Every rule a session must meet; returns the errors and the values to store."""
    errors = Errors()
    values = {
        "title": _text(errors, "title", data.title, 200),
        "topics": _topics(errors, data),
        "held_on": data.held_on,
        "organiser": _text(errors, "organiser", data.organiser, 100),
        "location": _text(errors, "location", data.location, 200, required=False),
        "hours": _hours(errors, data.hours),
        "content": _text(errors, "content", data.content, 5000, required=False, multiline=True),
    }
    high = latest_date()
    if data.held_on is None:
        errors.add("held_on", _("必填，格式如 2024-01-31。"))
    elif not EARLIEST <= data.held_on <= high:
        errors.add(
            "held_on",
            _(
                "日期须在 %(low)s 至 %(high)s 之间。",
                low=EARLIEST.isoformat(),
                high=high.isoformat(),
            ),
        )
    return errors, values


# --- sessions ---------------------------------------------------------------------------


def create_training(data: TrainingInput, *, by: User) -> Training:
    """Record a training session (regulators only)."""
    require_role(by, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    errors, values = check_training(data)
    refuse(errors, "training_invalid")
    training = Training(**values)
    db.session.add(training)
    db.session.flush()
    record(
        "training.created",
        "training",
        training.id,
        actor=by,
        title=training.title,
        held_on=training.held_on,
        hours=training.hours,
    )
    return training


def get_training(training_id: int, *, by: User) -> Training:
    """A session, or NotFound."""
    require_role(by, Role.REGULATOR, Role.INSPECTOR, message=_(STAFF_ONLY), slug="staff_only")
    training = db.session.get(Training, training_id)
    if training is None:
        raise NotFound(_("培训记录不存在。"), slug="training_not_found")
    return training


def update_training(training_id: int, data: TrainingInput, *, by: User) -> Training:
    """Correct a session's details (regulators only); the changes are audited."""
    require_role(by, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    training = get_training(training_id, by=by)
    errors, values = check_training(data)
    refuse(errors, "training_invalid")
    changes = {}
    for name, value in values.items():
        old = getattr(training, name)
        if old != value:
            changes[name] = [old, value]
            setattr(training, name, value)
    db.session.flush()
    if changes:
        record("training.updated", "training", training.id, actor=by, changes=changes)
    return training
