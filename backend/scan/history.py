"""A code's scan history: what is known of its earlier scans, how the database has it, and
how Redis keeps it (a hash per code, see backend/scan/lua/scan.lua).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from flask import current_app
from sqlalchemy import bindparam, select

from backend.codes.models import ScanEvent, UnitCode
from backend.extensions import db
from backend.scan.regions import farthest_within

STATE_TTL = 7 * 24 * 3600
HISTORY = 500  # newest events of a code read for its signals on the database path
MAX_NETWORKS = 64  # distinct networks remembered per code (far above any threshold)
MAX_VISITORS = 256  # visitors remembered per code for recognising their repeat scans


@dataclass
class ScanState:
    """What is known of one code's scans, this scan included.

    *provinces* maps each province the code was scanned from to its latest scan there;
    *visitor_before* says this scan's visitor scanned the code before (within
    SCAN_VISITOR_WINDOW); *networks* counts the distinct client networks that scanned it.
    """

    count: int
    first_at: datetime | None
    provinces: dict[str, datetime] = field(default_factory=dict)
    visitor_before: bool = False
    networks: int = 0
    distant: tuple[str, str] | None = None  # once scanned far apart within hours: kept


@dataclass
class History:
    """A code's earlier scans as the database has them (for a fresh Redis state, or the
    database path's signals)."""

    count: int
    first_at: datetime | None
    provinces: dict[str, datetime]
    visitors: dict[str, datetime]
    networks: set[str]
    distant: tuple[str, str] | None = None


def province_of(region: str | None) -> str | None:
    """The province-level part of a coarse region ("福建省漳州市" → "福建省")."""
    if not region:
        return None
    for marker in ("自治区", "特别行政区", "省", "市"):
        index = region.find(marker)
        if index != -1:
            return region[: index + len(marker)]
    return region


@lru_cache(maxsize=1)
def _history_statement():
    """The newest HISTORY events of a code (built once: building costs more than running)."""
    events = ScanEvent.__table__
    return (
        select(events.c.visitor_hash, events.c.network_hash, events.c.region, events.c.scanned_at)
        .where(events.c.code_id == bindparam("code_id"))
        .order_by(events.c.scanned_at.desc())
        .limit(HISTORY)
    )


def history_rows(code_id: int):
    """The newest HISTORY events of a code."""
    return db.session.connection().execute(_history_statement(), {"code_id": code_id}).all()


def distant_in(scans: list[tuple[datetime, str]]) -> tuple[str, str] | None:
    """Two provinces at least SCAN_DISTANT_KM apart that *scans* ((time, province)) reached
    within SCAN_DISTANT_HOURS of each other, or None."""
    config = current_app.config
    window = timedelta(hours=config["SCAN_DISTANT_HOURS"])
    return farthest_within(scans, window, config["SCAN_DISTANT_KM"])


def province_scans(rows) -> list[tuple[datetime, str]]:
    """(time, province) of the *rows* that have a province."""
    found = []
    for row in rows:
        province = province_of(row.region)
        if province:
            found.append((utc(row.scanned_at), province))
    return found


def history_of(rows, since: datetime) -> tuple[dict, dict, set]:
    """(provinces → latest time, visitors seen after *since* → latest time, networks) of
    *rows* (newest first)."""
    provinces: dict[str, datetime] = {}
    visitors: dict[str, datetime] = {}
    networks: set[str] = set()
    for row in rows:
        at = utc(row.scanned_at)
        province = province_of(row.region)
        if province and province not in provinces:
            provinces[province] = at
        if row.visitor_hash and at >= since and row.visitor_hash not in visitors:
            if len(visitors) < MAX_VISITORS:
                visitors[row.visitor_hash] = at
        if row.network_hash and len(networks) < MAX_NETWORKS:
            networks.add(row.network_hash)
    return provinces, visitors, networks


def base_state(code_id: int, since: datetime | None = None) -> History:
    """A code's flushed counters and recent history, from the database."""
    row = db.session.execute(
        select(UnitCode.scan_count, UnitCode.first_scanned_at).where(UnitCode.id == code_id)
    ).one()
    since = since or datetime.min.replace(tzinfo=UTC)
    rows = history_rows(code_id)
    provinces, visitors, networks = history_of(rows, since)
    distant = distant_in(province_scans(rows))
    return History(row.scan_count, row.first_scanned_at, provinces, visitors, networks, distant)


def state_fields(history: History) -> dict[str, str | int | float]:
    """A code's Redis hash fields for its *history* (count, first scan, provinces and
    visitors with their latest scans as Unix times, networks)."""
    fields: dict[str, str | int | float] = {"count": history.count}
    if history.first_at:
        fields["first"] = utc(history.first_at).isoformat()
    if history.provinces:
        fields["pl"] = provinces_text(history.provinces)
    if history.distant:
        fields["dr"] = "\t".join(history.distant)
    for visitor, at in history.visitors.items():
        fields[f"v:{visitor}"] = utc(at).timestamp()
    fields["nv"] = len(history.visitors)
    for network in history.networks:
        fields[f"n:{network}"] = 1
    fields["nn"] = len(history.networks)
    return fields


def distant_of(text: bytes | str | None) -> tuple[str, str] | None:
    """The kept far-apart pair of a Redis state ("A<TAB>B"), or None."""
    if isinstance(text, bytes):
        text = text.decode()
    if not text or "\t" not in text:
        return None
    first, second = text.split("\t", 1)
    return first, second


def keep_distant(client, key: str, state: ScanState) -> None:
    """On Redis: when this scan's provinces (each at its latest scan) show a far-apart pair
    for the first time, keep it in the code's state, so the evidence outlives later scans.
    One more round trip, once per code."""
    if state.distant is not None:
        return
    state.distant = distant_in([(at, name) for name, at in state.provinces.items()])
    if state.distant is not None:
        client.hset(key, "dr", "\t".join(state.distant))


def provinces_text(provinces: dict[str, datetime]) -> str:
    """Provinces and their latest scans as Redis keeps them: "name<TAB>unix time" lines."""
    return "\n".join(f"{name}\t{utc(at).timestamp()}" for name, at in provinces.items())


def provinces_from(text: bytes | str | None) -> dict[str, datetime]:
    """:func:`provinces_text` read back."""
    if isinstance(text, bytes):
        text = text.decode()
    found = {}
    for line in filter(None, (text or "").split("\n")):
        name, _, at = line.partition("\t")
        found[name] = datetime.fromtimestamp(float(at), UTC)
    return found


def state_after(history: History, event: dict, count: int, first_at, since: datetime) -> ScanState:
    """The state of a code after *event*, from its earlier *history*."""
    provinces = dict(history.provinces)
    province = province_of(event.get("region"))
    if province:
        provinces[province] = event["scanned_at"]
    visitor = event.get("visitor_hash")
    seen = history.visitors.get(visitor) if visitor else None
    networks = set(history.networks)
    if event.get("network_hash"):
        networks.add(event["network_hash"])
    return ScanState(
        count,
        first_at or event["scanned_at"],
        provinces,
        visitor_before=seen is not None and seen >= since,
        networks=len(networks),
        distant=history.distant,
    )


def utc(moment: datetime) -> datetime:
    """*moment* as an aware UTC time (SQLite may hand back naive ones)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def visitor_since(now: datetime) -> datetime:
    """The start of the window in which a visitor's scans are repeats of their own."""
    return now - timedelta(seconds=current_app.config["SCAN_VISITOR_WINDOW"])
