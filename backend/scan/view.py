"""The consumer scan: one code in, the whole story of its batch out.

On Redis the path is built for load: the code's identity and its batch's view are cached
(and invalidated when a batch changes state or a code is voided), the scan is counted in one
round trip and written to the database by the flusher, off the request path
(backend/scan/fastpath.py). Without Redis it is built to be right with several workers:
the scan is numbered and written in the database in one transaction, and each worker's copy
of the view is checked against the batch's generation read in the same statement.

Signals are honest (issue 15): a visitor's own repeat scans are not another consumer's; the
region comes from the client's address on the server (backend/scan/regions.py), never
from the client; the counterfeit warning fires only on evidence and names it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.batches.models import Batch, BatchInput, BatchState
from backend.cameras.public import workshop_cameras
from backend.codes.gs1 import is_valid_gtin14
from backend.codes.models import CodeStatus, ScanChannel, ScanGeneration, UnitCode
from backend.codes.services import parse_code
from backend.codes.urls import digital_link, scan_url
from backend.core import ratelimit
from backend.core.cache import cache, get_or_set
from backend.core.errors import NotFound, ValidationError
from backend.core.i18n import current_locale_id
from backend.core.i18n import gettext as _
from backend.core.time import SHANGHAI, local_today, utcnow
from backend.extensions import db
from backend.inspections.models import Inspection
from backend.observability.metrics import count_scan
from backend.registry.models import Product, Workshop, WorkshopStatus
from backend.registry.standing import made_after_expiry, registration_standing, until_midnight
from backend.samples.holds import batch_quality
from backend.samples.models import Sample, TestResult, Verdict
from backend.scan import fastpath, regions
from backend.scan.caching import batch_key
from backend.scan.recorder import (
    History,
    ScanState,
    base_state,
    count_in_database,
    ensure_flusher,
    record_in_database,
    writer_lock,
)

log = logging.getLogger(__name__)
MAX_LINK_LENGTH = 2048
DIGITAL_LINK = re.compile(r"^/01/(\d{14})/10/([^/]{1,20})/21/([^/]{1,64})/?$")
NOT_RELEASED = frozenset({BatchState.DRAFT, BatchState.IN_PRODUCTION, BatchState.PENDING_RELEASE})


@dataclass(frozen=True)
class CodeInfo:
    """What the scan path needs to know of a code (cached)."""

    id: int
    code: str
    batch_id: int
    kind: str
    serial: int


@dataclass(frozen=True)
class ScanResult:
    """A scan's answer: the code, the alerts, this scan, and the batch's view."""

    code: CodeInfo
    alerts: list[dict]
    scan: dict
    view: dict
    view_json: str
    pages: dict[str, list[str]] | None = None  # this worker's rendered pages of the batch

    def to_json(self) -> str:
        """The API body; the cached batch view is spliced in, not serialised again."""
        head = json.dumps(
            {"code": self.code_json(), "alerts": self.alerts, "scan": self.scan},
            ensure_ascii=False,
        )
        return head[:-1] + "," + self.view_json[1:]

    def code_json(self) -> dict:
        """The code section."""
        gtin = self.view["product"]["gtin"]
        return {
            "code": self.code.code,
            "kind": self.code.kind,
            "serial": self.code.serial,
            "url": scan_url(self.code.code),
            "digital_link": digital_link(gtin, self.view["batch"]["batch_no"], self.code.code)
            if gtin
            else None,
        }


# -- parsing what the consumer's scanner gives us ----------------------------------------


def parse_link(link: str) -> tuple[str, ScanChannel, tuple[str, str] | None]:
    """The code in a printed link (as the mini-program's `q` gives it).

    Returns the code, the channel, and (gtin, batch number) for a GS1 Digital Link. Links of
    other hosts are refused.
    """
    if not isinstance(link, str) or not link or len(link) > MAX_LINK_LENGTH:
        raise ValidationError(_("链接无效。"), slug="bad_link")
    if "%" in link:  # `q` arrives URL-encoded; decoding twice is harmless for our links
        link = unquote(link)
    parts = urlsplit(link.strip())
    host = current_app.config["PUBLIC_HOST"].lower()
    if parts.scheme not in ("http", "https") or parts.netloc.lower() != host:
        raise ValidationError(_("这不是本平台的追溯码链接。"), slug="foreign_link")
    if parts.path.startswith("/t/"):
        return parse_code(parts.path[3:], strict=True), ScanChannel.MINIPROGRAM, None
    match = DIGITAL_LINK.match(parts.path)
    if match:
        gtin, batch_no, code = match.groups()
        check_gtin(gtin)
        return parse_code(code, strict=True), ScanChannel.MINIPROGRAM, (gtin, batch_no)
    raise ValidationError(_("这不是本平台的追溯码链接。"), slug="foreign_link")


def check_gtin(gtin: str) -> None:
    """Refuse a GTIN-14 with a wrong check digit."""
    if not is_valid_gtin14(gtin):
        raise ValidationError(_("商品条码（GTIN）校验位错误。"), slug="bad_gtin")


def visitor_hash(identity: str) -> str:
    """A salted hash of an openid or client address; the raw value is never kept."""
    salt = current_app.config["SCAN_SALT"] or current_app.config["SECRET_KEY"]
    keyed = _keyed_hmac(salt).copy()
    keyed.update(identity.encode())
    return keyed.hexdigest()


AGENTS_FILE = Path(__file__).resolve().parent / "data" / "link_preview_agents.txt"


@lru_cache(maxsize=1)
def link_preview_agents() -> tuple[str, ...]:
    """User-agent tokens of link-preview fetchers and crawlers, lower-cased."""
    tokens = []
    for line in AGENTS_FILE.read_text(encoding="utf-8").splitlines():
        token = line.split("#", 1)[0].strip()
        if token:
            tokens.append(token.lower())
    return tuple(tokens)


@lru_cache(maxsize=1024)
def is_link_preview(user_agent: str | None) -> bool:
    """Whether *user_agent* names a link-preview fetcher or crawler (not a scan)."""
    agent = (user_agent or "").lower()
    return any(token in agent for token in link_preview_agents())


@lru_cache(maxsize=4)
def _keyed_hmac(salt: str) -> hmac.HMAC:
    """An HMAC-SHA256 keyed with *salt*, copied for each hash (keying costs as much as
    hashing a short text)."""
    return hmac.new(salt.encode(), digestmod=hashlib.sha256)


# -- the cached parts ---------------------------------------------------------------------


class VoidedCode(NotFound):
    """A voided code was scanned: answered like an unknown code (404, ``code_not_found``:
    it no longer speaks for any product), with the counterfeit warning that names why in
    its message and in ``errors.alerts``."""

    def __init__(self):
        alert = counterfeit_alert([evidence("voided_code")])
        super().__init__(alert["message"], slug="code_not_found", errors={"alerts": [alert]})


def refuse_missing(code: str) -> None:
    """Raise why no active code *code* exists: VoidedCode, or NotFound."""
    status = db.session.scalar(select(UnitCode.status).where(UnitCode.code == code))
    if status is CodeStatus.VOIDED:
        raise VoidedCode()
    raise NotFound(_("此码不是本平台发放的追溯码。"), slug="code_not_found")


def _code_from_database(code: str) -> dict:
    """The active code *code* as the database has it; NotFound (VoidedCode) otherwise."""
    columns = (UnitCode.id, UnitCode.batch_id, UnitCode.kind, UnitCode.serial, UnitCode.status)
    row = db.session.execute(
        select(*columns, UnitCode.scan_count, UnitCode.first_scanned_at).where(
            UnitCode.code == code
        )
    ).first()
    if row is None:
        raise NotFound(_("此码不是本平台发放的追溯码。"), slug="code_not_found")
    if row.status is CodeStatus.VOIDED:
        raise VoidedCode()
    return {
        "id": row.id,
        "code": code,
        "batch_id": row.batch_id,
        "kind": str(row.kind),
        "serial": row.serial,
        "scanned": row.scan_count > 0,
        "count": row.scan_count,
        "first_at": row.first_scanned_at,
    }


def batch_view(batch_id: int) -> dict:
    """The batch's consumer view and its JSON text, cached: in Redis for SCAN_VIEW_TTL
    (and dropped on change); without Redis, this worker's copy checked against the batch's
    generations in the database (so another worker's hold shows at once)."""
    if getattr(cache(), "client", None) is None:
        entry = _checked_view(batch_id, read_generations(batch_id))
        return {"view": entry.view, "json": entry.json}
    ttl = until_midnight(current_app.config["SCAN_VIEW_TTL"])
    return get_or_set(batch_key(batch_id), lambda: _build_view(batch_id), ttl)


def read_generations(batch_id: int) -> tuple[int, int]:
    """The batch's view generations in the database (batch, every batch); 0 when never
    raised."""
    rows = db.session.execute(
        select(ScanGeneration.batch_id, ScanGeneration.value).where(
            ScanGeneration.batch_id.in_((batch_id, 0))
        )
    ).all()
    found = {row.batch_id: row.value for row in rows}
    return found.get(batch_id, 0), found.get(0, 0)


def batch_view_under(batch_id: int, generations: tuple[bytes, bytes]) -> fastpath.ViewEntry:
    """The batch's view as of *generations* (read before this): the shared copy when it was
    built under the same generations, else built from the database and shared.

    Every scan checks the generations, so these copies live longer than SCAN_VIEW_TTL:
    SCAN_VIEW_CHECKED_TTL, at most half as long as the playback links they hand out work.
    """
    config = current_app.config
    ttl = until_midnight(min(config["SCAN_VIEW_CHECKED_TTL"], config["PLAYBACK_LINK_TTL"] // 2))
    tag = [g.decode() for g in generations]
    cached = cache().get(batch_key(batch_id))
    if cached is None or cached.get("generations") != tag:
        cached = {**_build_view(batch_id), "generations": tag}
        cache().set(batch_key(batch_id), cached, ttl)
    expires = time.monotonic() + ttl
    return fastpath.ViewEntry(cached["view"], cached["json"], generations, expires)


def _iso(value: datetime | date | None) -> str | None:
    """ISO 8601; times with the Asia/Shanghai offset."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).isoformat()
    return value.isoformat()


def _num(value) -> str | None:
    """A decimal as text, without trailing zeros."""
    if value is None:
        return None
    text = format(value.normalize(), "f") if hasattr(value, "normalize") else str(value)
    return text


def _build_view(batch_id: int) -> dict:
    """Read everything the consumer sees about a batch."""
    batch = db.session.scalar(
        select(Batch)
        .where(Batch.id == batch_id)
        .options(
            selectinload(Batch.inputs).selectinload(BatchInput.raw_lot),
            selectinload(Batch.additive_uses),
            selectinload(Batch.product).selectinload(Product.brand),
            selectinload(Batch.product).selectinload(Product.category),
            selectinload(Batch.workshop).selectinload(Workshop.zone),
            selectinload(Batch.workshop).selectinload(Workshop.brand),
        )
    )
    product, workshop = batch.product, batch.workshop
    standing = registration_standing(workshop)  # as of today: the view lives until midnight
    view = {
        "product": {
            "name": product.name,
            "name_en": product.name_en,
            "category": {
                "code": product.category.code,
                "name_zh": product.category.name_zh,
                "name_en": product.category.name_en,
            },
            "specification": product.specification,
            "ingredients": product.ingredients,
            "storage": product.storage,
            "standard_executed": product.standard_executed,
            "shelf_life_days": product.shelf_life_days,
            "labelled_alcohol": product.labelled_alcohol,
            "gtin": product.gtin,
            "brand": _brand(product.brand),
        },
        "workshop": {
            "name": workshop.name,
            "registration_no": workshop.registration_no,
            "operator_name": workshop.operator_name,
            "address": workshop.address,
            "contact_phone": workshop.contact_phone,
            "township": workshop.township,
            "status": str(workshop.status),
            "zone": {
                "code": workshop.zone.code,
                "name_zh": workshop.zone.name_zh,
                "name_en": workshop.zone.name_en,
            }
            if workshop.zone
            else None,
            "brand": _brand(workshop.brand),
            "upgraded": workshop.status is WorkshopStatus.UPGRADED,
            "licence_no": workshop.licence_no,
            "trademark": workshop.trademark,
            "certificate": {
                "issuing_authority": workshop.issuing_authority,
                "issued_on": _iso(workshop.cert_issued_on),
                "valid_until": _iso(workshop.cert_valid_until),
                "long_term": workshop.cert_long_term,
            },
            "registration": standing.as_dict(),
        },
        "batch": {
            "batch_no": batch.batch_no,
            "state": str(batch.state),
            "produced_on": _iso(batch.produced_on),
            "expires_on": _iso(batch.expires_on),
            "quantity": _num(batch.planned_quantity),
            "unit": batch.unit,
            "process": batch.process_notes,
            "hold_reason": batch.hold_reason,
            "made_after_expiry": made_after_expiry(workshop, batch.produced_on),
            "raw_materials": [_raw_material(i) for i in batch.inputs],
            "additives": [
                {
                    "name": a.additive_name,
                    "purpose": a.purpose,
                    "amount": _num(a.amount),
                    "unit": a.unit,
                }
                for a in batch.additive_uses
            ],
        },
        "tests": _tests(batch.id),
        "verdict": _verdict(batch),
        "inspection": _last_inspection(workshop.id),
        "cameras": _cameras(workshop.id),
    }
    return {"view": view, "json": json.dumps(view, ensure_ascii=False)}


def _brand(brand) -> dict | None:
    if brand is None:
        return None
    return {"code": brand.code, "name_zh": brand.name_zh, "name_en": brand.name_en}


def _raw_material(batch_input: BatchInput) -> dict:
    lot = batch_input.raw_lot
    return {
        "material": lot.material_name,
        "lot_no": lot.lot_no,
        "supplier": {"name": lot.supplier.name, "licence_no": lot.supplier.licence_no},
        "quantity_used": _num(batch_input.quantity),
        "unit": batch_input.unit,
        "purchased_on": _iso(lot.purchased_on),
        "produced_on": _iso(lot.produced_on),
        "expires_on": _iso(lot.expires_on),
        "acceptance": {
            "result": str(lot.result),
            "licence_checked": lot.supplier_licence_checked,
            "certificate_checked": lot.certificate_checked,
        },
    }


def _tests(batch_id: int) -> list[dict]:
    """Decided results of the batch's samples, newest first, superseded ones left out."""
    results = db.session.scalars(
        select(TestResult)
        .join(Sample, TestResult.sample_id == Sample.id)
        .where(Sample.batch_id == batch_id, TestResult.verdict != Verdict.PENDING)
        .options(selectinload(TestResult.sample), selectinload(TestResult.standard_limit))
        .order_by(TestResult.tested_at.desc(), TestResult.id)
    ).all()
    superseded = {r.supersedes_id for r in results if r.supersedes_id}
    out = []
    for result in results:
        if result.id in superseded:
            continue
        limit = result.standard_limit
        out.append(
            {
                "item_code": result.item_code,
                "item": limit.item_name_zh if limit else result.item_code,
                "item_en": limit.item_name_en if limit else result.item_code,
                "kind": str(result.sample.kind),
                "method": result.method,
                "value": _num(result.value),
                "qualitative": str(result.qualitative) if result.qualitative else None,
                "unit": result.unit,
                "limit": {
                    "comparison": str(limit.comparison),
                    "value": _num(limit.limit_value),
                    "unit": limit.unit,
                    "standard": limit.standard,
                    "verified": limit.verified,
                }
                if limit
                else None,
                "verdict": str(result.verdict),
                "tested_at": _iso(result.tested_at),
                "agency": result.sample.testing_agency,
                "sample_no": result.sample.sample_no,
            }
        )
    return out


def _verdict(batch: Batch) -> dict:
    """The batch's public test verdict for the status panel: "fail" on a standing lab fail,
    "pending" while a positive rapid screen awaits the lab (or when nothing was tested),
    "pass" when every standing result passes; with the day of the deciding result.

    Only results judged against a verified limit decide: a result whose limit nobody has
    checked against the official text is no public verdict: its passes count for nothing,
    and a fail against it keeps the batch "pending".
    """
    quality = batch_quality(batch)
    live = [
        r
        for r in quality.results
        if r.id not in quality.superseded_ids and r.verdict is not Verdict.PENDING
    ]

    def verified(result: TestResult) -> bool:
        return result.standard_limit is not None and result.standard_limit.verified

    def day(results: list[TestResult]) -> str | None:
        return _iso(max(r.tested_at for r in results).astimezone(SHANGHAI).date())

    fails = [r for r in quality.lab_fails if verified(r)]
    if fails:
        return {"result": "fail", "date": day(fails)}
    if quality.open_screens:
        return {"result": "pending", "date": day(quality.open_screens)}
    answered = {s.id for s in quality.results if s.verdict is Verdict.POSITIVE_SCREEN}
    deciding = [r for r in live if r.id not in answered]
    doubtful = [r for r in deciding if r.verdict is not Verdict.PASS]
    if doubtful:  # a fail against a limit nobody has checked: no public verdict either way
        return {"result": "pending", "date": day(doubtful)}
    passes = [r for r in deciding if verified(r)]
    if not passes:
        return {"result": "pending", "date": None}
    return {"result": "pass", "date": day(passes)}


def _last_inspection(workshop_id: int) -> dict | None:
    inspection = db.session.scalar(
        select(Inspection)
        .where(Inspection.workshop_id == workshop_id, Inspection.outcome.is_not(None))
        .order_by(Inspection.inspected_on.desc(), Inspection.id.desc())
        .limit(1)
    )
    if inspection is None:
        return None
    return {
        "date": _iso(inspection.inspected_on),
        "outcome": str(inspection.outcome),
        "summary": inspection.summary,
    }


def _cameras(workshop_id: int) -> list[dict]:
    """The workshop's cameras: live ones with a signed playback link, the others with their
    hours (the view is cached for SCAN_VIEW_TTL and dropped when a camera goes live or dark;
    links outlive the cache, see PLAYBACK_LINK_TTL)."""
    return workshop_cameras(workshop_id)


# -- the scan -----------------------------------------------------------------------------


def scan_event(channel: ScanChannel, visitor: str, address: str | None, now: datetime) -> dict:
    """What is recorded of a scan: when, the channel, the region the server reads from the
    client's address, and salted hashes of the visitor and of the client's network."""
    region = regions.region_of(address)
    network = regions.network_of(address)
    return {
        "scanned_at": now,
        "channel": str(channel),
        "region": region.text if region else None,
        "visitor_hash": visitor_hash(visitor),
        "network_hash": visitor_hash(f"network|{network}") if network else None,
    }


def scan(  # noqa: PLR0913 - what a scan carries
    code_text: str,
    *,
    channel: ScanChannel,
    visitor: str,
    address: str | None = None,
    link: tuple[str, str] | None = None,
    limits: ratelimit.Deferred | None = None,
    record: bool = True,
) -> ScanResult:
    """Resolve a code, count this scan and answer with the batch's view.

    *visitor* names who scans (the mini-program user, the H5 page's visitor cookie, or the
    client address and user agent); *address* is the client's address, from which the
    server reads the region and network. Only salted hashes of both are kept.
    *link* is (gtin, batch number) from a GS1 Digital Link, which must match the code.
    *limits* are the request's rate limits, not yet counted: on Redis they are counted in
    the scan's one round trip, otherwise before the code is looked up.
    With *record* false (a HEAD request, a link-preview crawler) the scan is answered but
    neither counted nor recorded.
    """
    code_text = parse_code(code_text, strict=True)
    now = utcnow()
    if not record:
        return peek(code_text, link=link, limits=limits)
    event = scan_event(channel, visitor, address, now)
    fast = current_app.extensions.get("scan_fast_path")
    if fast is not None:
        from redis import RedisError

        try:
            result = _scan_fast(fast, code_text, event, link, limits)
        except RedisError as exc:
            log.warning("scan without Redis (limits fail open, written directly): %s", exc)
        else:
            if result is not None:
                count_scan(str(channel))
                return result
    if limits is not None:
        limits.apply()
    result = _scan_in_database(code_text, event, link)
    count_scan(str(channel))
    return result


def visitor_since(now: datetime) -> datetime:
    """The start of the window in which a visitor's scans are repeats of their own."""
    return now - timedelta(seconds=current_app.config["SCAN_VISITOR_WINDOW"])


def _scan_in_database(code_text: str, event: dict, link: tuple[str, str] | None) -> ScanResult:
    """The scan without Redis (or while it does not answer): numbered from the code's
    counter row and written in one transaction, committed here.

    The statement that counts the scan also reads the batch view's generations, which every
    change the view shows raises in its own transaction: a worker's copy built under older
    ones is rebuilt, so a hold or recall shows on the very next scan in every worker.
    """
    now = event["scanned_at"]
    with writer_lock.held():
        try:
            counted = count_in_database(code_text, now)
            if counted is None:
                refuse_missing(code_text)
            entry = _checked_view(counted.batch_id, counted.generations)
            if link is not None:
                check_link(entry.view, link)
            event = {"code_id": counted.id, **event}
            state = record_in_database(counted, event, visitor_since(now))
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
    code = CodeInfo(counted.id, code_text, counted.batch_id, counted.kind, counted.serial)
    view = entry.view
    section = scan_section(state, now)
    return ScanResult(code, alerts(view, state, code.kind), section, view, entry.json, entry.pages)


def _checked_view(batch_id: int, generations: tuple[int, int]) -> fastpath.ViewEntry:
    """The batch's view for the database path.

    Without Redis: this worker's copy when it was built under *generations* (read in the
    scan's statement), else built now and kept. With Redis configured but not answering:
    the shared copy (a miss while Redis is away: built from the database).
    """
    if getattr(cache(), "client", None) is not None:
        ttl = until_midnight(current_app.config["SCAN_VIEW_TTL"])
        cached = get_or_set(batch_key(batch_id), lambda: _build_view(batch_id), ttl)
        return fastpath.ViewEntry(cached["view"], cached["json"], (b"-", b"-"), 0.0, None)
    tag = tuple(str(g).encode() for g in generations)
    local = fastpath.entries()
    entry = local.view(batch_id)
    if entry is None or entry.generations != tag:
        config = current_app.config
        ttl = until_midnight(min(config["SCAN_VIEW_CHECKED_TTL"], config["PLAYBACK_LINK_TTL"] // 2))
        built = _build_view(batch_id)
        entry = fastpath.ViewEntry(built["view"], built["json"], tag, time.monotonic() + ttl)
        local.keep_view(batch_id, entry)
    return entry


def peek(
    code_text: str, *, link: tuple[str, str] | None, limits: ratelimit.Deferred | None
) -> ScanResult:
    """Answer a request that is not a scan (HEAD, a link-preview crawler): the code and its
    batch's current view, its counters as they stand; nothing counted or recorded."""
    if limits is not None:
        limits.apply()
    row = _code_from_database(code_text)
    count, first_at = row.pop("count"), row.pop("first_at")
    row.pop("scanned")
    code = CodeInfo(**row)
    built = _build_view(code.batch_id)
    view = built["view"]
    if link is not None:
        check_link(view, link)
    state = ScanState(count, first_at)
    section = scan_section(state, utcnow(), recorded=False)
    return ScanResult(code, alerts(view, state, code.kind), section, view, built["json"], None)


def check_link(view: dict, link: tuple[str, str]) -> None:
    """NotFound unless a Digital Link's (gtin, batch number) are the code's own."""
    gtin, batch_no = link
    check_gtin(gtin)
    if view["product"]["gtin"] != gtin or view["batch"]["batch_no"] != batch_no:
        raise NotFound(_("此码不是本平台发放的追溯码。"), slug="code_not_found")


def _scan_fast(
    fast: fastpath.FastPath,
    code_text: str,
    event: dict,
    link: tuple[str, str] | None,
    limits: ratelimit.Deferred | None,
) -> ScanResult | None:
    """The scan in one Redis round trip when this worker's copies are current
    (backend/scan/fastpath.py); None when they kept going stale (the caller goes on
    without them)."""
    local = fastpath.entries()
    base = None
    for _attempt in range(fastpath.ATTEMPTS):
        script_limits = fastpath.ScriptLimits.of(limits, ratelimit.clock())
        held = local.code(code_text)
        if held is None:
            # counted before any look-up: unknown codes cannot be guessed quickly
            generation = fast.admit(script_limits)
            script_limits = fastpath.ScriptLimits.of(None, 0)
            row = _code_from_database(code_text)
            for name in ("count", "first_at"):
                del row[name]
            if not row.pop("scanned"):  # never scanned (as far as the database knows)
                base = History(0, None, {}, {}, set())
            held = (CodeInfo(**row), generation)
            local.keep_code(code_text, *held)
        code, code_generation = held
        entry = local.view(code.batch_id)
        if entry is not None and link is not None:
            check_link(entry.view, link)
        try:
            state = fast.record(
                code,
                {"code_id": code.id, **event},
                code_generation=code_generation,
                view=entry,
                limits=script_limits,
                base=base,
                since=visitor_since(event["scanned_at"]),
            )
        except fastpath.Stale as stale:
            if stale.codes != code_generation:
                local.forget_codes()
            else:
                generations = (stale.batches, stale.batch)
                local.keep_view(code.batch_id, batch_view_under(code.batch_id, generations))
            continue
        except fastpath.NeedsBase:
            base = base_state(code.id, visitor_since(event["scanned_at"]))
            continue
        ensure_flusher(current_app._get_current_object())
        now = event["scanned_at"]
        view = entry.view
        return ScanResult(
            code,
            alerts(view, state, code.kind),
            scan_section(state, now),
            view,
            entry.json,
            entry.pages,
        )
    return None


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
        "first_scanned_at": _iso(first),
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
