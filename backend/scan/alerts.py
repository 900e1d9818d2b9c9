"""What the consumer must read first: recall or hold, expiry, counterfeit evidence, and this
scan's number.

Signals are honest (issue 15): a visitor's own repeat scans are not another consumer's; the
region comes from the client's address on the server (backend/scan/regions.py), never
from the client; the counterfeit warning fires only on evidence and names it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import current_app

from backend.batches.models import BatchState
from backend.core.errors import NotFound
from backend.core.i18n import current_locale_id
from backend.core.i18n import gettext as _
from backend.core.time import SHANGHAI, local_today
from backend.scan import regions
from backend.scan.history import ScanState
from backend.scan.story import iso

NOT_RELEASED = frozenset({BatchState.DRAFT, BatchState.IN_PRODUCTION, BatchState.PENDING_RELEASE})


class VoidedCode(NotFound):
    """A voided code was scanned: answered like an unknown code (404, ``code_not_found``:
    it no longer speaks for any product), with the counterfeit warning that names why in
    its message and in ``errors.alerts``."""

    def __init__(self):
        alert = counterfeit_alert([evidence("voided_code")])
        super().__init__(alert["message"], slug="code_not_found", errors={"alerts": [alert]})


def scan_section(state: ScanState, now: datetime, *, recorded: bool = True) -> dict:
    """This scan's number, the first scan's time and a neutral notice (第 N 次查询，首次查询于
    <day>; the exact time is in first_scanned_at): how often a code was looked up is a fact,
    not a warning. *visitor_repeat* says this
    visitor looked it up before; *recorded* is false for a request that was not a scan."""
    first_at = _aware(state.first_at)
    repeat = state.count > 1 and first_at is not None and first_at < now
    first = first_at if repeat or not recorded else now
    section = {
        "number": state.count,
        "first_scanned_at": iso(first),
        "repeat": repeat,
        "visitor_repeat": state.visitor_before,
        "recorded": recorded,
        "notice": None,
    }
    if repeat:
        section["notice"] = _(
            "第 %(n)s 次查询，首次查询于 %(date)s",
            n=state.count,
            date=_day_text(first.astimezone(SHANGHAI)),
        )
    return section


def _aware(moment: datetime | None) -> datetime | None:
    """*moment* with a time zone (SQLite hands back naive UTC times)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _day_text(day: datetime) -> str:
    """A day as the reader writes it: 2026年12月05日 in Chinese, 2026-12-05 otherwise."""
    if current_locale_id().startswith("zh"):
        return f"{day.year}年{day.month:02d}月{day.day:02d}日"
    return day.date().isoformat()


# -- counterfeit evidence ---------------------------------------------------------------


def evidence(kind: str, **facts) -> dict:
    """One piece of counterfeit evidence: its kind and the sentence that names it."""
    if kind == "voided_code":
        message = _("此码已被生产者作废，不应出现在在售商品上。")
    elif kind == "not_released":
        message = _("该批次尚未放行，其产品不应已在市场上出售。")
    elif kind == "many_visitors":
        message = _(
            "此码已被来自 %(n)s 个不同网络的访客查询（超过 %(limit)s 个），"
            "一件商品通常不会经过这么多人之手。",
            n=facts["networks"],
            limit=facts["limit"],
        )
    elif kind == "distant_regions":
        message = _(
            "此码在 %(hours)s 小时内分别在%(first)s和%(second)s被查询，两地相距约 %(km)s 公里。",
            hours=facts["hours"],
            first=_province_name(facts["provinces"][0]),
            second=_province_name(facts["provinces"][1]),
            km=facts["km"],
        )
    else:  # pragma: no cover - every kind is named above
        raise ValueError(kind)
    return {"kind": kind, "message": message, **facts}


def _province_name(name: str) -> str:
    """A province as the reader names it."""
    if current_locale_id().startswith("zh"):
        return name
    province = regions.provinces().get(name)
    return province.name_en if province else name


def counterfeit_alert(found: list[dict]) -> dict:
    """The counterfeit warning, its message naming every piece of *found* evidence."""
    sentences = " ".join(item["message"] for item in found)
    return {
        "level": "warning",
        "kind": "counterfeit_suspected",
        "message": _("谨防假冒：%(evidence)s", evidence=sentences),
        "reason": "",
        "evidence": found,
    }


def distant_facts(pair: tuple[str, str] | None) -> dict | None:
    """The facts of a far-apart pair of provinces (their distance, the window), or None."""
    if pair is None:
        return None
    km = regions.distance_km(*pair) or 0
    hours = current_app.config["SCAN_DISTANT_HOURS"]
    return {"provinces": list(pair), "km": int(round(km, -1)), "hours": hours}


def counterfeit_evidence(view: dict, state: ScanState, kind: str) -> list[dict]:
    """Evidence that this code is copied: its batch not yet released; a unit code scanned
    from more than SCAN_WARNING_THRESHOLD distinct networks; scans from far-apart provinces
    within hours. A handful of requests from one client (one network, one province) can
    never produce any of them."""
    found = []
    if view["batch"]["state"] in NOT_RELEASED:
        found.append(evidence("not_released"))
    limit = current_app.config["SCAN_WARNING_THRESHOLD"]
    if kind == "unit" and state.networks > limit:
        found.append(evidence("many_visitors", networks=state.networks, limit=limit))
    pair = distant_facts(state.distant)
    if pair is not None:
        found.append(evidence("distant_regions", **pair))
    return found


def alerts(view: dict, state: ScanState, kind: str = "unit") -> list[dict]:
    """What the consumer must read first: recall or hold, expiry, counterfeit evidence."""
    out = []
    batch = view["batch"]
    if batch["state"] == BatchState.RECALLED:
        out.append(
            {
                "level": "danger",
                "kind": "recalled",
                "message": _("该批次产品已召回，请勿食用，可联系经营者退货。"),
                "reason": batch["hold_reason"],
            }
        )
    elif batch["state"] == BatchState.HELD:
        out.append(
            {
                "level": "danger",
                "kind": "held",
                "message": _("该批次产品已暂停销售，正在等待复检结果，请暂勿食用。"),
                "reason": batch["hold_reason"],
            }
        )
    if batch["expires_on"] and date.fromisoformat(batch["expires_on"]) < local_today():
        out.append(
            {
                "level": "warning",
                "kind": "expired",
                "message": _("该产品已超过保质期（%(date)s 到期）。", date=batch["expires_on"]),
                "reason": "",
            }
        )
    found = counterfeit_evidence(view, state, kind)
    if found:
        out.append(counterfeit_alert(found))
    return out
