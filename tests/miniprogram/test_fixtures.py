"""Recorded API answers for the mini-program's tests, produced by the real API.

Each journey of the mini-program (a consumer scanning a normal, a held and a recalled batch,
an operator logging in with WeChat, binding with an invite, reading today's checklist,
filling a ledger, opening a batch, issuing codes and printing labels, an inspector finding a
workshop and recording a sample with results, a complaint) is driven through the test client
and every answer is written to ``miniprogram/test/fixtures/<journey>.json``, together with
the OpenAPI document (``openapi.json``). The jest suite feeds these answers to the pages and
checks the API client's fields against the document.

The tests FAIL when a committed fixture differs from what the server answers now (after ids,
times, tokens, codes and hashes are normalised), so client and server cannot drift apart.
``UPDATE_MINIPROGRAM_FIXTURES=1`` rewrites them instead.
"""

from __future__ import annotations

import difflib
import io
import json
import os
import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
import time_machine
from PIL import Image
from sqlalchemy import select

from backend.batches.models import AdditiveUse, Batch
from backend.cameras.models import Camera, CameraArea
from backend.codes.models import UnitCode
from backend.core.time import SHANGHAI, local_today
from tests import factories
from tests.support.workshop_day import now_iso

API = "/api/v1"
FIXTURES = Path(__file__).resolve().parents[2] / "miniprogram" / "test" / "fixtures"
UPDATE = os.environ.get("UPDATE_MINIPROGRAM_FIXTURES") == "1"
# Dates are shifted so that "today" reads as this day, whatever day the suite runs on.
FIXED_TODAY = date(2026, 11, 26)

DATETIME = re.compile(
    r"\b(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
)
DATE = re.compile(r"\b(20\d{2})-(\d{2})-(\d{2})\b")
COMPACT_DATE = re.compile(r"(?<!\d)(20\d{2})(\d{2})(\d{2})(?!\d)")
CHINESE_DATE = re.compile(r"(20\d{2})年(\d{2})月(\d{2})日")
HASH_KEYS = {"sha256", "entry_hash", "prev_hash", "payload_hash"}
SECRET_KEYS = {"token"}
SIGNED_URL_KEYS = {"playback_url", "snapshot_url"}
ID_SEGMENT = re.compile(r"/(\d+)(?=/|$|\?)")


class Normaliser:
    """Turns an answer into what is the same on every run and every database.

    Ids are numbered per place in the document (``items[].id``) in order of appearance;
    dates move with today; datetimes keep their (shifted) date only; tokens, hashes,
    signed links and random codes become stable placeholders.
    """

    def __init__(self, replacements: dict[str, str]):
        """*replacements*: random texts (codes, invite codes) and their stable stand-ins."""
        self.replacements = sorted(replacements.items(), key=lambda kv: -len(kv[0]))
        self.shift = FIXED_TODAY - local_today()
        self.ids: dict[str, dict[int, int]] = {}

    def _id(self, place: str, value: int) -> int:
        """The stable number of id *value* at *place*."""
        seen = self.ids.setdefault(place, {})
        return seen.setdefault(value, len(seen) + 1)

    def _day(self, year: str, month: str, day: str) -> date:
        """A date moved by the shift."""
        return date(int(year), int(month), int(day)) + self.shift

    def _moment(self, text: str) -> date:
        """The Shanghai day of a written datetime, moved by the shift.

        A time with an offset (``2026-12-07T20:14:00+00:00``) is read in Asia/Shanghai, where
        "today" is counted, so 20:14 UTC is the next day's morning, as the server says.
        """
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is not None:
            moment = moment.astimezone(SHANGHAI)
        return moment.date() + self.shift

    def text(self, value: str) -> str:
        """A string with its random parts replaced and its dates shifted.

        Stand-ins are put in only after the shift, so dates inside them stay as written.
        """
        for index, (old, _new) in enumerate(self.replacements):
            value = value.replace(old, f"\x00{index}\x00")
        value = DATETIME.sub(
            lambda m: f"{self._moment(m.group(0)).isoformat()}T09:00:00+08:00", value
        )
        value = DATE.sub(lambda m: self._day(*m.groups()).isoformat(), value)
        value = COMPACT_DATE.sub(lambda m: self._day(*m.groups()).strftime("%Y%m%d"), value)
        value = CHINESE_DATE.sub(lambda m: self._day(*m.groups()).strftime("%Y年%m月%d日"), value)
        for index, (_old, new) in enumerate(self.replacements):
            value = value.replace(f"\x00{index}\x00", new)
        return value

    def __call__(self, value, place: str = ""):
        """*value* normalised; *place* is its path without list indices."""
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                where = f"{place}.{key}" if place else key
                if key in SECRET_KEYS and isinstance(item, str):
                    out[key] = "<token>"
                elif key in HASH_KEYS and isinstance(item, str):
                    out[key] = "<sha256>"
                elif key in SIGNED_URL_KEYS and isinstance(item, str):
                    out[key] = f"https://yipin.example.cn/signed/{key}"
                elif key.endswith("_url") and isinstance(item, str):
                    # Ids in links (print-jobs/<id>/file) are numbered like the ids themselves.
                    out[key] = ID_SEGMENT.sub(
                        lambda m, where=where: f"/{self._id(where, int(m.group(1)))}",
                        self.text(item),
                    )
                elif (key == "id" or key.endswith("_id")) and isinstance(item, int):
                    out[key] = self._id(where, item)
                elif key.endswith("_ids") and isinstance(item, list):
                    out[key] = [self._id(where, i) if isinstance(i, int) else i for i in item]
                elif key == "photos" and isinstance(item, list):
                    out[key] = [
                        self._id(where, i) if isinstance(i, int) else self(i, where) for i in item
                    ]
                else:
                    out[key] = self(item, where)
            return out
        if isinstance(value, list):
            return [self(item, f"{place}[]") for item in value]
        if isinstance(value, str):
            return self.text(value)
        return value


class Recorder:
    """Sends requests through the test client and keeps each answer for one fixture file."""

    def __init__(self, client, name: str):
        """Record into ``<name>.json``."""
        self.client, self.name, self.calls = client, name, {}
        self.secrets: dict[str, str] = {}

    def call(
        self,
        label: str,
        method: str,
        template: str,
        path: str,
        status: int,
        *,
        volatile=(),
        **kwargs,
    ):
        """Send *method* *path* (the OpenAPI *template*), expect *status*, keep the answer.

        *volatile* maps top-level keys of the answer whose value changes from run to run
        (a PDF's size) to the stable value kept instead.
        """
        response = self.client.open(API + path, method=method, **kwargs)
        body = response.get_json(silent=True)
        assert response.status_code == status, (label, response.status_code, body)
        for key, stand_in in dict(volatile).items():
            if body.get(key) is not None:
                body[key] = stand_in
        request = kwargs.get("json")
        if request is None and "data" in kwargs:
            request = {"<multipart>": sorted(kwargs["data"])}
        self.calls[label] = {
            "operation": f"{method} {API}{template}",
            "request": request,
            "status": status,
            "body": body,
        }
        return body

    def secret(self, text: str, stand_in: str) -> None:
        """Replace the random *text* by *stand_in* in the fixture."""
        self.secrets[text] = stand_in

    def check(self) -> None:
        """Compare with the committed fixture (or rewrite it when asked)."""
        document = Normaliser(self.secrets)(self.calls)
        written = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        compare(FIXTURES / f"{self.name}.json", written)


def compare(path: Path, written: str) -> None:
    """Fail when *path* differs from *written*, unless fixtures are being rewritten."""
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(written, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing: run with UPDATE_MINIPROGRAM_FIXTURES=1"
    committed = path.read_text(encoding="utf-8")
    if committed != written:
        diff = "".join(
            difflib.unified_diff(
                committed.splitlines(True), written.splitlines(True), "committed", "server now"
            )
        )
        pytest.fail(
            f"{path.name} no longer matches what the API answers; if the change is meant, "
            f"rerun with UPDATE_MINIPROGRAM_FIXTURES=1 and update the mini-program:\n{diff[:6000]}"
        )


@pytest.fixture()
def stable(db):
    """Factory sequences from zero, so names and numbers do not depend on earlier tests."""
    for name in dir(factories):
        item = getattr(factories, name)
        if isinstance(item, type) and hasattr(item, "reset_sequence") and name.endswith("Factory"):
            try:
                item.reset_sequence(0, force=True)
            except Exception:  # noqa: BLE001 - abstract factories have no sequence
                pass


@pytest.fixture()
def day(stable, request, app, tmp_path, monkeypatch):
    """The tofu workshop of the operator's day, uploads in a scratch directory."""
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))
    shop = request.getfixturevalue("shop")
    today = local_today()  # the factory's certificate dates are fixed; these move with today
    shop.workshop.cert_issued_on = today - timedelta(days=400)
    shop.workshop.cert_valid_until = today + timedelta(days=330)
    request.getfixturevalue("db").session.flush()
    return shop


def jpeg() -> bytes:
    """A small photo."""
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (30, 30, 30)).save(buffer, format="JPEG")
    return buffer.getvalue()


def codes_of(db, batch_no: str) -> list[str]:
    """The batch's codes by serial."""
    batch_id = db.session.scalar(select(Batch.id).where(Batch.batch_no == batch_no))
    return list(
        db.session.scalars(
            select(UnitCode.code).where(UnitCode.batch_id == batch_id).order_by(UnitCode.serial)
        )
    )


def operator_day(client, db, shop, fake_wechat) -> tuple[Recorder, dict]:
    """Login, invite, checklist, ledgers, a batch, codes and labels; returns what it made."""
    rec = Recorder(client, "operator")
    w = shop.workshop.id
    login = rec.call(
        "login",
        "POST",
        "/auth/wechat/login",
        "/auth/wechat/login",
        200,
        json={"code": "lin-morning"},
    )
    me = {"Authorization": f"Bearer {login['token']}"}
    rec.call(
        "today_unbound",
        "GET",
        "/workshops/{workshop_id}/today",
        f"/workshops/{w}/today",
        403,
        headers=me,
    )
    invite = client.post(
        f"{API}/workshops/{shop.workshop.registration_no}/invites",
        json={"role": "owner", "days": 7},
        headers=shop.regulator_headers,
    ).get_json()
    rec.secret(invite["code"], "ABCD2345")
    rec.call(
        "redeem_wrong",
        "POST",
        "/invites/redeem",
        "/invites/redeem",
        404,
        json={"code": "WXYZ9876"},
        headers=me,
    )
    rec.call(
        "redeem",
        "POST",
        "/invites/redeem",
        "/invites/redeem",
        200,
        json={"code": invite["code"]},
        headers=me,
    )
    rec.call("me", "GET", "/me", "/me", 200, headers=me)
    rec.call(
        "today", "GET", "/workshops/{workshop_id}/today", f"/workshops/{w}/today", 200, headers=me
    )
    rec.call(
        "last_morning_check_none",
        "GET",
        "/workshops/{workshop_id}/ledgers/{kind}/last",
        f"/workshops/{w}/ledgers/morning_check/last",
        404,
        headers=me,
    )
    line = {"temperature": 36.4, "symptoms": False, "hand_wounds": False, "fit_for_work": True}
    template = "/workshops/{workshop_id}/ledgers/morning_check"
    rec.call(
        "morning_check_refused",
        "POST",
        template,
        f"/workshops/{w}/ledgers/morning_check",
        422,
        json={
            "occurred_at": now_iso(minutes=-30),
            "checks": [{"staff_id": shop.chen.id, **line}],
        },
        headers={**me, "Idempotency-Key": "mp-check-refused"},
    )
    rec.call(
        "morning_check",
        "POST",
        template,
        f"/workshops/{w}/ledgers/morning_check",
        201,
        json={
            "occurred_at": now_iso(minutes=-30),
            "checks": [{"staff_id": shop.lin.id, **line}, {"staff_id": shop.wang.id, **line}],
        },
        headers={**me, "Idempotency-Key": "mp-check-1"},
    )
    rec.call(
        "last_morning_check",
        "GET",
        "/workshops/{workshop_id}/ledgers/{kind}/last",
        f"/workshops/{w}/ledgers/morning_check/last",
        200,
        headers=me,
    )
    photo = rec.call(
        "upload",
        "POST",
        "/uploads",
        "/uploads",
        201,
        data={"file": (io.BytesIO(jpeg()), "合格证.jpg")},
        headers={**me, "Idempotency-Key": "mp-photo-1"},
        content_type="multipart/form-data",
    )
    accepted = rec.call(
        "raw_acceptance",
        "POST",
        "/workshops/{workshop_id}/ledgers/raw_acceptance",
        f"/workshops/{w}/ledgers/raw_acceptance",
        201,
        json={
            "occurred_at": now_iso(minutes=-20),
            "supplier_id": shop.supplier.id,
            "material_name": "黑豆",
            "specification": "25kg/袋",
            "quantity": 50,
            "unit": "kg",
            "supplier_batch_no": "HD-1120",
            "produced_on": (local_today() - timedelta(days=6)).isoformat(),
            "shelf_life_days": 365,
            "supplier_licence_checked": True,
            "certificate_checked": True,
            "photos": [photo["id"]],
        },
        headers={**me, "Idempotency-Key": "mp-delivery-1"},
    )
    rec.call(
        "cleaning",
        "POST",
        "/workshops/{workshop_id}/ledgers/cleaning",
        f"/workshops/{w}/ledgers/cleaning",
        201,
        json={
            "occurred_at": now_iso(minutes=-15),
            "what": "磨浆机、地面",
            "how": "清水冲洗后消毒液擦拭",
            "disinfectant": "84消毒液",
        },
        headers={**me, "Idempotency-Key": "mp-cleaning-1"},
    )
    lots = rec.call(
        "raw_lots",
        "GET",
        "/workshops/{workshop_id}/raw-lots",
        f"/workshops/{w}/raw-lots?available=1",
        200,
        headers=me,
    )
    lot = next(item for item in lots["items"] if item["lot_no"] == accepted["lot_no"])
    rec.call(
        "products",
        "GET",
        "/workshops/{workshop_id}/products",
        f"/workshops/{w}/products",
        200,
        headers=me,
    )
    opened = rec.call(
        "open_batch",
        "POST",
        "/workshops/{workshop_id}/batches",
        f"/workshops/{w}/batches",
        201,
        json={
            "occurred_at": now_iso(minutes=-10),
            "product_id": shop.product.id,
            "planned_quantity": 200,
            "unit": "盒",
            "process": "黑豆浸泡8小时→磨浆→煮浆",
            "inputs": [{"raw_lot_id": lot["id"], "quantity": 30}],
            "start": True,
        },
        headers={**me, "Idempotency-Key": "mp-batch-1"},
    )
    number = opened["batch_no"]
    rec.call(
        "open_batch_overspent",
        "POST",
        "/workshops/{workshop_id}/batches",
        f"/workshops/{w}/batches",
        422,
        json={
            "occurred_at": now_iso(minutes=-9),
            "product_id": shop.product.id,
            "inputs": [{"raw_lot_id": lot["id"], "quantity": 1000}],
        },
        headers={**me, "Idempotency-Key": "mp-batch-2"},
    )
    moves = {
        "pending_release": {"to": "pending_release", "quantity": 180},
        "released": {
            "to": "released",
            "inspection": {
                "inspection_cert_no": "CC-001",
                "items": ["感官", "净含量"],
                "result": "pass",
            },
        },
    }
    for state, body in moves.items():
        rec.call(
            f"state_{state}",
            "POST",
            "/batches/{batch_no}/state",
            f"/batches/{number}/state",
            200,
            json=body,
            headers={**me, "Idempotency-Key": f"mp-state-{state}"},
        )
    issued = rec.call(
        "issue_codes",
        "POST",
        "/batches/{batch_no}/codes",
        f"/batches/{number}/codes",
        201,
        json={"count": 3, "kind": "unit"},
        headers={**me, "Idempotency-Key": "mp-codes-1"},
    )
    job = rec.call(
        "labels",
        "POST",
        "/issuances/{issuance_id}/labels",
        f"/issuances/{issued['id']}/labels",
        202,
        headers=me,
        volatile={"size": 24000},
    )
    rec.call(
        "print_job",
        "GET",
        "/print-jobs/{job_id}",
        f"/print-jobs/{job['id']}",
        200,
        headers=me,
        volatile={"size": 24000},
    )
    secret_batch(rec, db, number)
    return rec, {"batch_no": number, "me": me}


def secret_batch(rec: Recorder, db, number: str) -> None:
    """Stand-ins for the batch number (it holds the workshop's id) and its random codes."""
    rec.secret(number, f"W1-{FIXED_TODAY:%Y%m%d}-{number.rsplit('-', 1)[-1]}")
    for serial, code in enumerate(codes_of(db, number), start=1):
        rec.secret(code, f"TESTC0DE{serial:08d}X")


# The hours at which UTC and Shanghai disagree about the date (16:00-24:00 UTC) and a quiet
# hour when they agree: the journeys must record the same answers at any of them.
CLOCKS = {
    "now": None,
    "23:30Z": time(23, 30),
    "00:30Z": time(0, 30),
}


def _travel(moment: time):
    """Travel to *moment* of today's UTC date, the clock ticking from there."""
    start = datetime.combine(datetime.now(UTC).date(), moment, tzinfo=UTC)
    return start, time_machine.travel(start, tick=True)


@pytest.fixture(params=list(CLOCKS))
def clock(request):
    """The wall clock at one of CLOCKS (today's UTC date), ticking from there; "now" is real.

    Requested before the workshop is built, so every date of the journey is read at that hour.
    """
    moment = CLOCKS[request.param]
    if moment is None:
        yield None
        return
    start, travel = _travel(moment)
    with travel:
        yield start


@pytest.mark.parametrize("moment", [time(23, 30), time(0, 30)])
def test_clock_moves_shanghai_days(moment):
    """The travelling clock really sets the hour: 23:30 UTC is the next morning in Shanghai."""
    start, travel = _travel(moment)
    with travel:
        now = datetime.now(UTC)
        assert now.replace(second=0, microsecond=0) == start
        expected = start.date() + timedelta(days=1 if moment.hour >= 16 else 0)
        assert local_today() == now.astimezone(SHANGHAI).date() == expected


def test_operator_journey(clock, client, db, day, fake_wechat):
    rec, _ = operator_day(client, db, day, fake_wechat)
    rec.check()


def test_consumer_journey(clock, client, db, day, fake_wechat):
    """Scans of the operator's batch: normal (with its coagulant and a passing lab test), by
    link and by code, then held by a positive rapid screen, then recalled after the lab's
    fail — the status panel's three states and verdicts (pass, pending, fail)."""
    _, made = operator_day(client, db, day, fake_wechat)
    number = made["batch_no"]
    batch = db.session.scalar(select(Batch).where(Batch.batch_no == number))
    db.session.add(
        AdditiveUse(
            batch_id=batch.id,
            additive_name="盐卤（氯化镁）",
            purpose="凝固剂",
            amount=Decimal("0.5"),
            unit="kg",
        )
    )
    db.session.flush()
    lab_pass = inspect(client, day, number, "lab", -8, {"qualitative": "negative"})
    db.session.add(
        Camera(
            workshop_id=day.workshop.id,
            area=CameraArea.PRODUCTION,
            name="生产加工区",
            stream_name="fy-production",
            stream_key="k",
            is_live=True,
        )
    )
    db.session.flush()
    codes = codes_of(db, number)
    rec = Recorder(client, "consumer")
    secret_batch(rec, db, number)
    link = f"http://yipin.test/t/{codes[0]}"
    first = rec.call("scan_link", "GET", "/scan", f"/scan?q={quote(link, safe='')}", 200)
    rec.call("scan_code", "GET", "/scan/{code}", f"/scan/{codes[1]}", 200)
    rec.call("scan_malformed", "GET", "/scan/{code}", "/scan/0000000000000000Z", 422)
    rec.call(
        "complaint",
        "POST",
        "/complaints",
        "/complaints",
        201,
        json={
            "content": "豆腐有酸味",
            "code": codes[0],
            "contact_name": "陈女士",
            "contact_phone": "13800138000",
        },
    )
    rec.call(
        "complaint_refused",
        "POST",
        "/complaints",
        "/complaints",
        422,
        json={"content": "", "code": codes[0]},
    )
    for _ in range(20):  # one client's reloads: no warning
        client.get(f"{API}/scan/{codes[2]}")
    client.get(f"{API}/scan/{codes[2]}", environ_base={"REMOTE_ADDR": "202.106.0.20"})  # 北京
    rec.call(  # and then from 新疆 (the server reads the region from the address): a warning
        "scan_repeated",
        "GET",
        "/scan/{code}",
        f"/scan/{codes[2]}",
        200,
        environ_base={"REMOTE_ADDR": "61.128.114.133"},
    )
    screen = inspect(client, day, number, "rapid", -6, {"qualitative": "positive"})
    rec.secret(screen, "KJ-TEST-0001")  # the hold's reason names the sample
    held = rec.call("scan_held", "GET", "/scan/{code}", f"/scan/{codes[0]}", 200)
    lab_fail = inspect(client, day, number, "lab", -4, {"value": "0.12", "unit": "g/kg"})
    client.post(
        f"{API}/batches/{number}/recall",
        json={"reason": "实验室确认不合格"},
        headers=day.regulator_headers,
    )
    recalled = rec.call("scan_recalled", "GET", "/scan/{code}", f"/scan/{codes[0]}", 200)
    assert first["batch"]["batch_no"] == number
    assert first["batch"]["additives"][0]["name"] == "盐卤（氯化镁）"
    assert (first["batch"]["state"], first["verdict"]["result"]) == ("released", "pass")
    assert (held["batch"]["state"], held["verdict"]["result"]) == ("held", "pending")
    assert (recalled["batch"]["state"], recalled["verdict"]["result"]) == ("recalled", "fail")
    assert lab_pass != lab_fail
    rec.check()


def inspect(client, day, number: str, kind: str, minutes: int, reading: dict) -> str:
    """An inspector's sample of the batch with a benzoic acid result; its sample number."""
    me = day.inspector_headers
    sample = client.post(
        f"{API}/samples",
        json={
            "kind": kind,
            "batch_no": number,
            "task_source": "district" if kind == "lab" else "routine",
            "testing_agency": "长泰区检验检测中心" if kind == "lab" else "长泰区快检车",
            "sampled_at": now_iso(minutes=minutes),
        },
        headers=me,
    )
    assert sample.status_code == 201, sample.get_json()
    no = sample.get_json()["sample_no"]
    method = "液相色谱法" if kind == "lab" else "胶体金法"
    recorded = client.post(
        f"{API}/samples/{no}/results",
        json={"results": [{"item_code": "benzoic_acid", "method": method, **reading}]},
        headers=me,
    )
    assert recorded.status_code == 201, recorded.get_json()
    return no


def test_inspector_journey(client, db, day, fake_wechat):
    """An inspector finds the workshop, samples the batch on site and records a screen."""
    _, made = operator_day(client, db, day, fake_wechat)
    number = made["batch_no"]
    me = day.inspector_headers
    rec = Recorder(client, "inspector")
    secret_batch(rec, db, number)
    found = rec.call("find_workshops", "GET", "/workshops", "/workshops?q=黑豆腐", 200, headers=me)
    w = found["items"][0]["id"]
    rec.call(
        "products",
        "GET",
        "/workshops/{workshop_id}/products",
        f"/workshops/{w}/products",
        200,
        headers=me,
    )
    sample = rec.call(
        "sample",
        "POST",
        "/samples",
        "/samples",
        201,
        json={
            "kind": "rapid",
            "batch_no": number,
            "task_source": "routine",
            "testing_agency": "长泰区快检车",
            "station": "快检车 KJC-03",
            "sampling_place": "坊洋黑豆腐坊成品区",
            "sampled_at": now_iso(minutes=-5),
        },
        headers={**me, "Idempotency-Key": "mp-sample-1"},
    )
    rec.secret(sample["sample_no"], "KJ-TEST-0001")
    no = sample["sample_no"]
    rec.call(
        "results_refused",
        "POST",
        "/samples/{sample_no}/results",
        f"/samples/{no}/results",
        422,
        json={
            "results": [{"item_code": "made_up", "method": "胶体金法", "qualitative": "negative"}]
        },
        headers={**me, "Idempotency-Key": "mp-results-0"},
    )
    rec.call(
        "results",
        "POST",
        "/samples/{sample_no}/results",
        f"/samples/{no}/results",
        201,
        json={
            "results": [
                {
                    "item_code": "benzoic_acid",
                    "method": "胶体金法",
                    "qualitative": "negative",
                    "device_no": "KJ-03",
                },
                {"item_code": "aluminium", "method": "分光光度法", "value": 20.5, "unit": "mg/kg"},
            ]
        },
        headers={**me, "Idempotency-Key": "mp-results-1"},
    )
    rec.call("sample_detail", "GET", "/samples/{sample_no}", f"/samples/{no}", 200, headers=me)
    positive = client.post(
        f"{API}/samples",
        json={
            "kind": "rapid",
            "batch_no": number,
            "task_source": "routine",
            "testing_agency": "长泰区快检车",
            "sampled_at": now_iso(minutes=-4),
        },
        headers=me,
    ).get_json()
    rec.secret(positive["sample_no"], "KJ-TEST-0002")
    rec.call(
        "results_positive",
        "POST",
        "/samples/{sample_no}/results",
        f"/samples/{positive['sample_no']}/results",
        201,
        json={
            "results": [
                {"item_code": "benzoic_acid", "method": "胶体金法", "qualitative": "positive"}
            ]
        },
        headers={**me, "Idempotency-Key": "mp-results-2"},
    )
    rec.check()


def test_the_openapi_document(client, db):
    """The document the contract test reads."""
    document = client.get(f"{API}/openapi.json").get_json()
    written = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    compare(FIXTURES / "openapi.json", written)
