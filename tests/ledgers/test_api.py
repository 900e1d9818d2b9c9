"""The daily ledgers through the API: each kind, bad input, photos, corrections, history,
"copy from last time", the checklist, the hash chain and who may do what."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from backend.accounts.models import ApiToken
from backend.batches.models import Batch, BatchState
from backend.core.time import local_today, utcnow
from backend.ledgers.models import Buyer, LedgerAttachment, LedgerEntry, RawMaterialLot, Shipment
from backend.registry.models import Supplier
from tests.factories import BatchFactory, StoredFileFactory
from tests.support.workshop_day import now_iso

API = "/api/v1/workshops"


def entries(db, workshop=None) -> int:
    query = select(func.count(LedgerEntry.id))
    if workshop is not None:
        query = query.where(LedgerEntry.workshop_id == workshop.id)
    return db.session.scalar(query)


def check(person, **overrides):
    line = {
        "staff_id": person.id,
        "temperature": 36.5,
        "symptoms": False,
        "hand_wounds": False,
        "fit_for_work": True,
    }
    return {**line, **overrides}


def released_batch(shop, batch_no="B-REL-1"):
    batch = BatchFactory(
        product=shop.product,
        batch_no=batch_no,
        produced_on=local_today(),
        expires_on=local_today() + timedelta(days=3),
        state=BatchState.RELEASED,
        unit="盒",
    )
    return batch


def valid_bodies(shop) -> dict:
    """A valid body for each ledger kind (what the phone would send); the batches they
    name are made on the first call."""
    if not hasattr(shop, "bodies"):
        shop.bodies = _make_bodies(shop)
    return {kind: dict(body) for kind, body in shop.bodies.items()}


def _make_bodies(shop) -> dict:
    open_batch = BatchFactory(
        product=shop.product, batch_no="B-OPEN-1", state=BatchState.IN_PRODUCTION
    )
    pending = BatchFactory(
        product=shop.product, batch_no="B-PEND-1", state=BatchState.PENDING_RELEASE
    )
    released_batch(shop)
    return {
        "morning_check": {"occurred_at": now_iso(), "checks": [check(shop.lin)]},
        "raw_acceptance": {
            "occurred_at": now_iso(),
            "supplier": {"name": "长泰黑豆合作社二社", "licence_no": "JY135", "address": "长泰"},
            "material_name": "黑豆",
            "quantity": "50",
            "unit": "kg",
            "produced_on": (local_today() - timedelta(days=5)).isoformat(),
            "shelf_life_days": 365,
            "supplier_licence_checked": True,
            "certificate_checked": True,
        },
        "production": {
            "occurred_at": now_iso(),
            "batch_no": open_batch.batch_no,
            "process": "煮浆95℃，5分钟",
        },
        "additive_use": {
            "occurred_at": now_iso(),
            "batch_no": open_batch.batch_no,
            "additive": "盐卤（氯化镁）",
            "amount": "0.8",
            "unit": "kg",
            "purpose": "凝固剂",
        },
        "cleaning": {
            "occurred_at": now_iso(),
            "what": "地面、操作台",
            "how": "清水冲洗后消毒液擦拭",
            "disinfectant": "84消毒液（1:200）",
            "by_staff_id": shop.wang.id,
        },
        "outgoing_inspection": {
            "occurred_at": now_iso(),
            "batch_no": pending.batch_no,
            "inspection_cert_no": "CJ-1",
            "items": ["感官", "净含量"],
            "result": "pass",
        },
        "sale": {
            "occurred_at": now_iso(),
            "buyer": {"name": "半里便民超市", "address": "半里乡", "contact_phone": "0596-1"},
            "items": [{"batch_no": "B-REL-1", "quantity": 20}],
        },
    }


KINDS = [
    "morning_check",
    "raw_acceptance",
    "production",
    "additive_use",
    "cleaning",
    "outgoing_inspection",
    "sale",
]


# -- each kind -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_is_recorded_and_chained(client, db, shop, kind):
    body = valid_bodies(shop)[kind]
    url = f"{API}/{shop.workshop.id}/ledgers/{kind}"
    answer = client.post(url, json=body, headers=shop.staff_headers)
    assert answer.status_code == 201, answer.get_json()
    entry = answer.get_json()
    assert entry["kind"] == kind and entry["seq"] == 1 and entry["prev_hash"] is None
    assert entry["recorded_by"] == "王师傅"
    assert entry["occurred_at"].endswith("+08:00") and entry["received_at"].endswith("+08:00")
    assert entry["business_date"] == local_today().isoformat()
    assert len(entry["entry_hash"]) == 64
    stored = db.session.get(LedgerEntry, entry["id"])
    assert stored.workshop_id == shop.workshop.id and stored.recorded_by_id == shop.staff_user.id


def test_a_morning_check_keeps_each_persons_certificate(client, db, shop):
    body = {
        "occurred_at": now_iso(),
        "recorded_at": now_iso(minutes=1),
        "checks": [
            check(shop.lin),
            check(shop.wang, temperature="37.8", fit_for_work=False, note="回家休息"),
            check(shop.chen, fit_for_work=False),  # expired, but not on duty: fine
        ],
    }
    answer = client.post(
        f"{API}/{shop.workshop.id}/ledgers/morning_check", json=body, headers=shop.staff_headers
    )
    assert answer.status_code == 201, answer.get_json()
    lines = answer.get_json()["payload"]["checks"]
    assert [(c["staff"], c["fit_for_work"]) for c in lines] == [
        ("林德福", True),
        ("王秀英", False),
        ("陈阿明", False),
    ]
    assert lines[0]["health_cert_no"] == "JKZ-林德福"
    assert lines[1]["temperature"] == "37.8" and lines[1]["note"] == "回家休息"
    assert lines[2]["health_cert_no"] is None
    assert "phone_recorded_at" in answer.get_json()["payload"]


def test_nobody_with_an_expired_certificate_is_recorded_on_duty(client, db, shop):
    body = {"occurred_at": now_iso(), "checks": [check(shop.lin), check(shop.chen)]}
    answer = client.post(
        f"{API}/{shop.workshop.id}/ledgers/morning_check", json=body, headers=shop.staff_headers
    )
    assert answer.status_code == 422
    error = answer.get_json()
    assert error["error"] == "health_certificate_expired"
    expired = (local_today() - timedelta(days=3)).isoformat()
    assert "陈阿明" in error["message"] and expired in error["message"]
    assert error["errors"]["checks"]["1"]["fit_for_work"]
    assert entries(db) == 0
    english = client.post(
        f"{API}/{shop.workshop.id}/ledgers/morning_check?lang=en",
        json=body,
        headers=shop.staff_headers,
    ).get_json()
    assert english["message"] == (
        f"The health certificate of 陈阿明 expired on {expired}; "
        "they cannot be recorded as on duty."
    )


def test_nobody_without_a_certificate_or_unwell_is_recorded_on_duty(client, db, shop):
    from tests.support.workshop_day import person

    nocert = person(db, shop.workshop, "赵无证", None)
    url = f"{API}/{shop.workshop.id}/ledgers/morning_check"
    for line, slug in [
        (check(nocert), "health_certificate_missing"),
        (check(shop.wang, temperature=37.5), "unwell_staff_on_duty"),
        (check(shop.wang, symptoms=True), "unwell_staff_on_duty"),
        (check(shop.wang, hand_wounds=True), "unwell_staff_on_duty"),
    ]:
        answer = client.post(
            url, json={"occurred_at": now_iso(), "checks": [line]}, headers=shop.staff_headers
        )
        assert answer.status_code == 422 and answer.get_json()["error"] == slug, line
    assert (
        "赵无证"
        in client.post(
            url,
            json={"occurred_at": now_iso(), "checks": [check(nocert)]},
            headers=shop.staff_headers,
        ).get_json()["message"]
    )
    assert entries(db) == 0


def test_a_morning_check_names_only_this_workshops_staff_once(client, db, shop):
    from tests.support.workshop_day import person

    stranger = person(db, shop.other, "隔壁员工", local_today() + timedelta(days=30))
    url = f"{API}/{shop.workshop.id}/ledgers/morning_check"
    twice = {"occurred_at": now_iso(), "checks": [check(shop.lin), check(shop.lin)]}
    assert client.post(url, json=twice, headers=shop.staff_headers).status_code == 422
    other = {"occurred_at": now_iso(), "checks": [check(stranger)]}
    answer = client.post(url, json=other, headers=shop.staff_headers)
    assert answer.status_code == 422 and answer.get_json()["error"] == "staff_not_found"
    assert entries(db) == 0


def test_a_raw_acceptance_creates_the_lot_and_its_supplier(client, db, shop):
    body = valid_bodies(shop)["raw_acceptance"]
    answer = client.post(
        f"{API}/{shop.workshop.id}/ledgers/raw_acceptance", json=body, headers=shop.staff_headers
    )
    assert answer.status_code == 201, answer.get_json()
    entry = answer.get_json()
    lot = db.session.scalar(select(RawMaterialLot).where(RawMaterialLot.lot_no == entry["lot_no"]))
    assert lot.workshop_id == shop.workshop.id and lot.quantity == Decimal(50)
    assert lot.lot_no == f"YL{local_today():%Y%m%d}-01"
    assert lot.expires_on == lot.produced_on + timedelta(days=365)
    assert lot.accepted_by_id == shop.staff_user.id
    payload = entry["payload"]
    assert payload["supplier"] == "长泰黑豆合作社二社" and payload["supplier_licence_no"] == "JY135"
    assert payload["result"] == "accepted" and payload["licence_checked"] is True
    # The same supplier is found again, not duplicated; lot numbers continue.
    again = client.post(
        f"{API}/{shop.workshop.id}/ledgers/raw_acceptance", json=body, headers=shop.staff_headers
    )
    assert again.get_json()["lot_no"] == f"YL{local_today():%Y%m%d}-02"
    assert (
        db.session.scalar(
            select(func.count(Supplier.id)).where(Supplier.name == "长泰黑豆合作社二社")
        )
        == 1
    )
    # The checklist counts the deliveries as accepted.
    today = client.get(f"{API}/{shop.workshop.id}/today", headers=shop.staff_headers).get_json()
    accepted = [i for i in today["items"] if i["kind"] == "raw_acceptance"]
    assert len(accepted) == 2 and all(i["done"] for i in accepted)


def test_acceptance_needs_the_checks_and_an_unexpired_lot(client, db, shop):
    url = f"{API}/{shop.workshop.id}/ledgers/raw_acceptance"
    base = valid_bodies(shop)["raw_acceptance"]
    unchecked = {**base, "certificate_checked": False}
    answer = client.post(url, json=unchecked, headers=shop.staff_headers)
    assert answer.status_code == 422 and answer.get_json()["error"] == "acceptance_incomplete"
    assert "certificate_checked" in answer.get_json()["errors"]
    stale = {
        **base,
        "produced_on": (local_today() - timedelta(days=40)).isoformat(),
        "shelf_life_days": 30,
    }
    answer = client.post(url, json=stale, headers=shop.staff_headers)
    assert answer.status_code == 422 and answer.get_json()["error"] == "raw_material_expired"
    assert entries(db) == 0
    # A rejected delivery is recorded, but is no lot to produce from.
    rejected = {**unchecked, "result": "rejected", "lot_no": "YL-REJ"}
    assert client.post(url, json=rejected, headers=shop.staff_headers).status_code == 201
    lots = client.get(
        f"{API}/{shop.workshop.id}/raw-lots?available=1", headers=shop.staff_headers
    ).get_json()
    assert "YL-REJ" not in {lot["lot_no"] for lot in lots["items"]}
    taken = client.post(url, json={**base, "lot_no": "YL-REJ"}, headers=shop.staff_headers)
    assert taken.status_code == 409 and taken.get_json()["error"] == "lot_no_taken"


def test_a_sale_creates_buyer_shipment_and_items(client, db, shop):
    body = valid_bodies(shop)["sale"]
    answer = client.post(
        f"{API}/{shop.workshop.id}/ledgers/sale", json=body, headers=shop.staff_headers
    )
    assert answer.status_code == 201, answer.get_json()
    entry = answer.get_json()
    shipment = db.session.scalar(
        select(Shipment).where(Shipment.document_no == entry["document_no"])
    )
    assert shipment.buyer.name == "半里便民超市" and shipment.shipped_on == local_today()
    assert [(i.batch.batch_no, i.quantity, i.unit) for i in shipment.items] == [
        ("B-REL-1", Decimal(20), "盒")
    ]
    payload = entry["payload"]
    assert payload["buyer"] == "半里便民超市" and payload["buyer_contact"] == "0596-1"
    assert payload["items"][0]["batch_no"] == "B-REL-1" and payload["items"][0]["quantity"] == "20"
    # The next sale to the same buyer reuses it (by id or by name).
    buyer = db.session.scalar(select(Buyer).where(Buyer.workshop_id == shop.workshop.id))
    again = {**body, "buyer_id": buyer.id}
    del again["buyer"]
    assert (
        client.post(
            f"{API}/{shop.workshop.id}/ledgers/sale", json=again, headers=shop.staff_headers
        ).status_code
        == 201
    )
    assert db.session.scalar(select(func.count(Buyer.id))) == 1
    today = client.get(f"{API}/{shop.workshop.id}/today", headers=shop.staff_headers).get_json()
    sales = [i for i in today["items"] if i["kind"] == "sale"]
    assert len(sales) == 2 and all(i["done"] for i in sales)


def test_only_released_batches_are_sold(client, db, shop):
    bodies = valid_bodies(shop)
    url = f"{API}/{shop.workshop.id}/ledgers/sale"
    held = BatchFactory(product=shop.product, batch_no="B-HELD", state=BatchState.HELD)
    for batch_no, status, slug in [
        (held.batch_no, 409, "batch_not_released"),
        ("B-PEND-1", 409, "batch_not_released"),
        ("NO-SUCH", 422, "batch_not_found"),
    ]:
        body = {**bodies["sale"], "items": [{"batch_no": batch_no, "quantity": 1}]}
        answer = client.post(url, json=body, headers=shop.staff_headers)
        assert answer.status_code == status and answer.get_json()["error"] == slug
    twice = {
        **bodies["sale"],
        "items": [{"batch_no": "B-REL-1", "quantity": 1}, {"batch_no": "B-REL-1", "quantity": 2}],
    }
    assert client.post(url, json=twice, headers=shop.staff_headers).status_code == 422
    assert entries(db) == 0
    assert db.session.scalar(select(func.count(Shipment.id))) == 0
    assert db.session.scalar(select(func.count(Buyer.id))) == 0


def test_progress_and_inspection_records_need_the_right_batch_state(client, db, shop):
    bodies = valid_bodies(shop)
    url = f"{API}/{shop.workshop.id}/ledgers"
    production = {**bodies["production"], "batch_no": "B-REL-1"}
    answer = client.post(f"{url}/production", json=production, headers=shop.staff_headers)
    assert answer.status_code == 409 and answer.get_json()["error"] == "batch_not_in_production"
    inspection = {**bodies["outgoing_inspection"], "batch_no": "B-OPEN-1"}
    answer = client.post(f"{url}/outgoing_inspection", json=inspection, headers=shop.staff_headers)
    assert answer.status_code == 409
    theirs = BatchFactory(
        product__workshop=shop.other, batch_no="B-THEIRS", state=BatchState.IN_PRODUCTION
    )
    production = {**bodies["production"], "batch_no": theirs.batch_no}
    answer = client.post(f"{url}/production", json=production, headers=shop.staff_headers)
    assert answer.status_code == 422 and answer.get_json()["error"] == "batch_not_found"
    assert entries(db) == 0


# -- bad input -----------------------------------------------------------------------------


def _bad_variants(body: dict, kind: str) -> list[tuple[str, dict]]:
    """Ways to spoil a valid body, each of which must be refused with a 422."""
    variants = [
        ("extra field", {**body, "colour": "red"}),
        ("missing time", {k: v for k, v in body.items() if k != "occurred_at"}),
        ("naive time", {**body, "occurred_at": "2026-11-26T08:00:00"}),
        ("not a time", {**body, "occurred_at": "yesterday"}),
        ("future", {**body, "occurred_at": now_iso(hours=2)}),
        ("years back", {**body, "occurred_at": now_iso(days=-800)}),
        ("phone saved before it happened", {**body, "recorded_at": now_iso(days=-1)}),
        ("photos not a list", {**body, "photos": "1"}),
        ("photo id a string", {**body, "photos": ["1"]}),
        ("too many photos", {**body, "photos": list(range(1, 12))}),
        ("note too long", {**body, "note": "字" * 501}),
        ("not an object", [body]),
    ]
    required = {
        "morning_check": "checks",
        "raw_acceptance": "material_name",
        "production": "process",
        "additive_use": "additive",
        "cleaning": "what",
        "outgoing_inspection": "inspection_cert_no",
        "sale": "items",
    }[kind]
    variants.append(("missing " + required, {k: v for k, v in body.items() if k != required}))
    variants.append(("null " + required, {**body, required: None}))
    if kind == "morning_check":
        line = body["checks"][0]
        variants += [
            ("extra field in a line", {**body, "checks": [{**line, "mood": "ok"}]}),
            ("temperature as text", {**body, "checks": [{**line, "temperature": "hot"}]}),
            ("absurd temperature", {**body, "checks": [{**line, "temperature": 90}]}),
            ("flag as string", {**body, "checks": [{**line, "fit_for_work": "yes"}]}),
            ("flag as number", {**body, "checks": [{**line, "symptoms": 0}]}),
            (
                "staff id as string",
                {**body, "checks": [{**line, "staff_id": str(line["staff_id"])}]},
            ),
            ("no lines", {**body, "checks": []}),
        ]
    if kind == "raw_acceptance":
        variants += [
            ("negative quantity", {**body, "quantity": -5}),
            ("zero quantity", {**body, "quantity": 0}),
            ("absurd quantity", {**body, "quantity": 10**12}),
            ("too precise", {**body, "quantity": "1.0001"}),
            ("quantity as boolean", {**body, "quantity": True}),
            ("quantity NaN", {**body, "quantity": "NaN"}),
            (
                "produced in the future",
                {**body, "produced_on": (local_today() + timedelta(days=3)).isoformat()},
            ),
            ("produced years back", {**body, "produced_on": "2001-01-01", "shelf_life_days": 9000}),
            (
                "purchased a month ago",
                {**body, "purchased_on": (local_today() - timedelta(days=30)).isoformat()},
            ),
            ("both suppliers", {**body, "supplier_id": 1}),
            ("no supplier", {k: v for k, v in body.items() if k != "supplier"}),
            ("unknown supplier field", {**body, "supplier": {**body["supplier"], "x": 1}}),
            ("unknown result", {**body, "result": "maybe"}),
            ("bad lot number", {**body, "lot_no": "批号 1"}),
            ("shelf life as float", {**body, "shelf_life_days": 1.5}),
        ]
    if kind == "additive_use":
        variants += [
            ("negative amount", {**body, "amount": "-1"}),
            ("absurd amount", {**body, "amount": 10**7}),
            ("unknown unit", {**body, "unit": "勺"}),
        ]
    if kind == "sale":
        item = body["items"][0]
        variants += [
            ("negative quantity", {**body, "items": [{**item, "quantity": -1}]}),
            ("absurd quantity", {**body, "items": [{**item, "quantity": 10**9}]}),
            (
                "sold tomorrow",
                {**body, "shipped_on": (local_today() + timedelta(days=1)).isoformat()},
            ),
            (
                "sold last year",
                {**body, "shipped_on": (local_today() - timedelta(days=365)).isoformat()},
            ),
            ("no items", {**body, "items": []}),
        ]
    if kind == "outgoing_inspection":
        variants.append(("unknown result", {**body, "result": "ok"}))
    if kind == "cleaning":
        variants += [
            ("blank what", {**body, "what": "   "}),
            ("someone else's staff", {**body, "by_staff_id": 10**6}),
        ]
    return variants


@pytest.mark.parametrize("kind", KINDS)
def test_bad_input_is_refused_in_one_shape_and_writes_nothing(client, db, shop, kind):
    body = valid_bodies(shop)[kind]
    url = f"{API}/{shop.workshop.id}/ledgers/{kind}"
    lots_before = db.session.scalar(select(func.count(RawMaterialLot.id)))
    for label, bad in _bad_variants(body, kind):
        answer = client.post(url, json=bad, headers=shop.staff_headers)
        assert answer.status_code == 422, (label, answer.status_code, answer.get_json())
        error = answer.get_json()
        assert set(error) == {"code", "status", "error", "message", "errors"}, label
        assert error["code"] == 422 and error["message"], label
    assert entries(db) == 0
    assert db.session.scalar(select(func.count(RawMaterialLot.id))) == lots_before
    assert db.session.scalar(select(func.count(Shipment.id))) == 0
    # After all that, the good body still goes through.
    assert client.post(url, json=body, headers=shop.staff_headers).status_code == 201


def test_bodies_that_are_not_json_or_too_large_are_refused(client, db, shop):
    url = f"{API}/{shop.workshop.id}/ledgers/cleaning"
    garbage = client.post(
        url, data="{not json", headers={**shop.staff_headers, "Content-Type": "application/json"}
    )
    assert garbage.status_code in (400, 422) and garbage.is_json
    huge = client.post(
        url,
        data=b'{"what": "' + b"x" * (10 * 1024 * 1024) + b'"}',
        headers={**shop.staff_headers, "Content-Type": "application/json"},
    )
    assert huge.status_code in (413, 422) and huge.is_json
    assert entries(db) == 0


def test_a_retry_with_the_same_key_returns_the_first_entry(client, db, shop):
    url = f"{API}/{shop.workshop.id}/ledgers/cleaning"
    body = valid_bodies(shop)["cleaning"]
    headers = {**shop.staff_headers, "Idempotency-Key": "clean-1"}
    first = client.post(url, json=body, headers=headers)
    again = client.post(url, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    clash = client.post(url, json={**body, "what": "墙面"}, headers=headers)
    assert clash.status_code == 409 and clash.get_json()["error"] == "idempotency_key_reused"
    assert entries(db) == 1


# -- photos --------------------------------------------------------------------------------


def test_photos_must_be_your_own_uploads_and_are_hashed_into_the_entry(client, db, shop):
    mine = StoredFileFactory(
        uploaded_by_id=shop.staff_user.id, content_type="image/jpeg", sha256="a" * 64
    )
    theirs = StoredFileFactory(uploaded_by_id=shop.owner.id, content_type="image/jpeg")
    url = f"{API}/{shop.workshop.id}/ledgers/raw_acceptance"
    body = valid_bodies(shop)["raw_acceptance"]
    for photos in ([theirs.id], [mine.id, 10**9]):
        answer = client.post(url, json={**body, "photos": photos}, headers=shop.staff_headers)
        assert answer.status_code == 422 and answer.get_json()["error"] == "photo_not_yours"
    assert entries(db) == 0
    answer = client.post(url, json={**body, "photos": [mine.id]}, headers=shop.staff_headers)
    assert answer.status_code == 201
    entry = answer.get_json()
    assert entry["payload"]["photos"] == [{"file_id": mine.id, "sha256": "a" * 64}]
    assert [a["file_id"] for a in entry["attachments"]] == [mine.id]
    links = db.session.scalars(
        select(LedgerAttachment).where(LedgerAttachment.entry_id == entry["id"])
    ).all()
    assert [link.file_id for link in links] == [mine.id]


# -- corrections and history ---------------------------------------------------------------


def _post(client, shop, kind, body, headers=None):
    answer = client.post(
        f"{API}/{shop.workshop.id}/ledgers/{kind}", json=body, headers=headers or shop.staff_headers
    )
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def _correct(client, shop, entry_id, body, headers=None):
    return client.post(
        f"{API}/{shop.workshop.id}/ledgers/entries/{entry_id}/corrections",
        json=body,
        headers=headers or shop.staff_headers,
    )


def test_a_correction_is_a_new_entry_shown_beside_the_original(client, db, shop):
    first = _post(
        client, shop, "morning_check", {"occurred_at": now_iso(), "checks": [check(shop.lin)]}
    )
    fixed = _correct(
        client,
        shop,
        first["id"],
        {"reason": "体温记错了", "changes": {"checks": [check(shop.lin, temperature="36.2")]}},
    )
    assert fixed.status_code == 201, fixed.get_json()
    correction = fixed.get_json()
    assert correction["corrects_id"] == first["id"] and correction["seq"] == 2
    assert correction["occurred_at"] == first["occurred_at"]
    assert correction["business_date"] == first["business_date"]
    assert correction["payload"]["checks"][0]["temperature"] == "36.2"
    assert correction["payload"]["correction"] == {
        "reason": "体温记错了",
        "corrects_seq": 1,
        "fields": ["checks"],
    }
    # The original is untouched.
    original = db.session.get(LedgerEntry, first["id"])
    assert original.payload["checks"][0]["temperature"] == "36.5"
    assert original.entry_hash == first["entry_hash"]
    # The history shows one line with its correction beside it.
    history = client.get(
        f"{API}/{shop.workshop.id}/ledgers?kind=morning_check", headers=shop.staff_headers
    ).get_json()
    assert history["total"] == 1
    (line,) = history["items"]
    assert line["id"] == first["id"]
    assert [c["id"] for c in line["corrections"]] == [correction["id"]]
    assert line["current"]["checks"][0]["temperature"] == "36.2"
    # Only the latest version can be corrected again.
    again = _correct(client, shop, first["id"], {"reason": "再改", "changes": {"note": "补充说明"}})
    assert again.status_code == 409 and again.get_json()["error"] == "already_corrected"
    assert again.get_json()["errors"]["latest_id"] == correction["id"]
    third = _correct(
        client, shop, correction["id"], {"reason": "补充", "changes": {"note": "复测正常"}}
    )
    assert third.status_code == 201
    history = client.get(f"{API}/{shop.workshop.id}/ledgers", headers=shop.staff_headers).get_json()
    assert [c["seq"] for c in history["items"][0]["corrections"]] == [2, 3]
    assert history["items"][0]["current"]["note"] == "复测正常"


def test_corrections_follow_the_same_rules_and_refuse_bad_changes(client, db, shop):
    first = _post(
        client, shop, "morning_check", {"occurred_at": now_iso(), "checks": [check(shop.lin)]}
    )
    for body, slug in [
        (
            {"reason": "改正", "changes": {"checks": [check(shop.chen)]}},
            "health_certificate_expired",
        ),
        ({"reason": "改一下", "changes": {"colour": "red"}}, "validation_failed"),
        ({"reason": "改一下", "changes": {}}, "nothing_to_correct"),
        ({"reason": "改一下", "changes": {"checks": "all fine"}}, "validation_failed"),
        ({"reason": "改一下", "changes": {"note": "x"}, "extra": 1}, "validation_failed"),
        ({"changes": {"note": "x"}}, "validation_failed"),
        (
            {"reason": "改一下", "changes": {"note": "x"}, "occurred_at": now_iso(days=-30)},
            "time_too_old",
        ),
    ]:
        answer = _correct(client, shop, first["id"], body)
        assert answer.status_code == 422 and answer.get_json()["error"] == slug, body
    assert entries(db) == 1


def test_staff_correct_their_own_entries_the_owner_anyones(client, db, shop):
    by_owner = _post(
        client, shop, "cleaning", valid_bodies(shop)["cleaning"], headers=shop.owner_headers
    )
    by_staff = _post(client, shop, "cleaning", {**valid_bodies(shop)["cleaning"], "what": "墙"})
    change = {"reason": "写错了", "changes": {"how": "蒸汽消毒"}}
    refused = _correct(client, shop, by_owner["id"], change)
    assert refused.status_code == 403 and refused.get_json()["error"] == "owner_only"
    assert _correct(client, shop, by_staff["id"], change).status_code == 201
    fixed = _correct(client, shop, by_owner["id"], change, headers=shop.owner_headers)
    assert fixed.status_code == 201
    assert fixed.get_json()["payload"]["how"] == "蒸汽消毒"
    assert fixed.get_json()["payload"]["what"] == by_owner["payload"]["what"]


def test_correcting_an_acceptance_corrects_the_lot_but_not_below_what_was_used(client, db, shop):
    entry = _post(client, shop, "raw_acceptance", valid_bodies(shop)["raw_acceptance"])
    lot = db.session.scalar(select(RawMaterialLot).where(RawMaterialLot.lot_no == entry["lot_no"]))
    opened = client.post(
        f"{API}/{shop.workshop.id}/batches",
        json={
            "occurred_at": now_iso(),
            "product_id": shop.product.id,
            "inputs": [{"raw_lot_id": lot.id, "quantity": 30}],
        },
        headers=shop.staff_headers,
    )
    assert opened.status_code == 201, opened.get_json()
    too_little = _correct(
        client, shop, entry["id"], {"reason": "数量记错", "changes": {"quantity": 20}}
    )
    assert too_little.status_code == 409 and too_little.get_json()["error"] == "quantity_below_used"
    fixed = _correct(
        client,
        shop,
        entry["id"],
        {"reason": "数量记错", "changes": {"quantity": "45.5", "supplier_batch_no": "20261120-3"}},
    )
    assert fixed.status_code == 201, fixed.get_json()
    db.session.expire_all()
    lot = db.session.get(RawMaterialLot, lot.id)
    assert lot.quantity == Decimal("45.5") and lot.supplier_batch_no == "20261120-3"
    assert fixed.get_json()["payload"]["quantity"] == "45.5"
    assert fixed.get_json()["lot_no"] == lot.lot_no


def test_a_neighbour_cannot_correct_my_entries_by_any_path(client, db, shop):
    mine = _post(
        client,
        shop,
        "cleaning",
        {"occurred_at": now_iso(), "what": "地面", "how": "冲洗"},
        headers=shop.owner_headers,
    )
    # Through the neighbour's own workshop path: the entry is not there.
    answer = client.post(
        f"{API}/{shop.other.id}/ledgers/entries/{mine['id']}/corrections",
        json={"reason": "改一下", "changes": {"how": "x"}},
        headers=shop.other_headers,
    )
    assert answer.status_code == 404
    # Through this workshop's path: not their workshop.
    answer = _correct(
        client, shop, mine["id"], {"reason": "改一下", "changes": {"how": "x"}}, shop.other_headers
    )
    assert answer.status_code == 403
    assert entries(db) == 1


def test_history_filters_by_kind_and_day_and_pages(client, db, shop):
    for n in range(3):
        _post(
            client,
            shop,
            "cleaning",
            {"occurred_at": now_iso(minutes=-n), "what": f"区{n}", "how": "冲洗"},
        )
    _post(
        client,
        shop,
        "cleaning",
        {"occurred_at": now_iso(days=-2), "what": "前天", "how": "冲洗"},
    )
    _post(client, shop, "morning_check", {"occurred_at": now_iso(), "checks": [check(shop.lin)]})
    url = f"{API}/{shop.workshop.id}/ledgers"
    everything = client.get(url, headers=shop.staff_headers).get_json()
    assert everything["total"] == 5
    today = local_today().isoformat()
    page = client.get(
        f"{url}?kind=cleaning&date={today}&per_page=2&page=1", headers=shop.staff_headers
    ).get_json()
    assert page["total"] == 3 and len(page["items"]) == 2
    assert [i["payload"]["what"] for i in page["items"]] == ["区0", "区1"]
    last = client.get(
        f"{url}?kind=cleaning&date={today}&per_page=2&page=2", headers=shop.staff_headers
    ).get_json()
    assert [i["payload"]["what"] for i in last["items"]] == ["区2"]
    for bad in ("kind=nonsense", "date=yesterday", "per_page=1000", "page=0"):
        assert client.get(f"{url}?{bad}", headers=shop.staff_headers).status_code == 422, bad


def test_copy_from_last_time(client, db, shop):
    url = f"{API}/{shop.workshop.id}/ledgers"
    none = client.get(f"{url}/morning_check/last", headers=shop.staff_headers)
    assert none.status_code == 404 and none.get_json()["error"] == "no_previous_entry"
    assert client.get(f"{url}/nonsense/last", headers=shop.staff_headers).status_code == 404
    first = _post(
        client,
        shop,
        "morning_check",
        {
            "occurred_at": now_iso(minutes=-5),
            "checks": [check(shop.lin), check(shop.wang), check(shop.chen, fit_for_work=False)],
        },
    )
    _correct(
        client,
        shop,
        first["id"],
        {
            "reason": "王秀英体温",
            "changes": {"checks": [check(shop.lin), check(shop.wang, temperature="36.3")]},
        },
    )
    template = client.get(f"{url}/morning_check/last", headers=shop.staff_headers).get_json()
    assert template["kind"] == "morning_check"
    # The corrected version, with only the people on duty today.
    assert template["template"]["checks"] == [
        check(shop.lin, temperature="36.5"),
        check(shop.wang, temperature="36.3"),
    ]
    # Posting the template back with a new time is a valid morning check.
    again = {"occurred_at": now_iso(), **template["template"]}
    assert (
        client.post(f"{url}/morning_check", json=again, headers=shop.staff_headers).status_code
        == 201
    )

    _post(client, shop, "raw_acceptance", valid_bodies(shop)["raw_acceptance"])
    accepted = client.get(f"{url}/raw_acceptance/last", headers=shop.staff_headers).get_json()
    assert accepted["template"]["material_name"] == "黑豆"
    assert accepted["template"]["supplier_id"]
    body = {
        "occurred_at": now_iso(),
        "produced_on": (local_today() - timedelta(days=2)).isoformat(),
        **accepted["template"],
    }
    assert (
        client.post(f"{url}/raw_acceptance", json=body, headers=shop.staff_headers).status_code
        == 201
    )


# -- today ---------------------------------------------------------------------------------


def test_today_lists_what_is_due_and_done(client, db, shop):
    url = f"{API}/{shop.workshop.id}/today"
    before = client.get(url, headers=shop.staff_headers).get_json()
    assert before["date"] == local_today().isoformat()
    assert before["complete"] is False
    assert [(i["kind"], i["subject"]) for i in before["items"]] == [
        ("morning_check", "林德福"),
        ("morning_check", "王秀英"),
        ("cleaning", ""),
    ]
    assert before["items"][0]["kind_name"] == "晨检"
    _post(
        client,
        shop,
        "morning_check",
        {"occurred_at": now_iso(), "checks": [check(shop.lin), check(shop.wang)]},
    )
    cleaning = _post(
        client, shop, "cleaning", {"occurred_at": now_iso(), "what": "地面", "how": "冲洗"}
    )
    after = client.get(url, headers=shop.owner_headers).get_json()
    assert after["complete"] is True and after["missing"] == []
    assert after["done"] == after["total"] == 3
    assert after["items"][-1]["entry_id"] == cleaning["id"]
    english = client.get(f"{url}?lang=en", headers=shop.owner_headers).get_json()
    assert english["items"][0]["kind_name"] == "Morning health check"
    yesterday = (local_today() - timedelta(days=1)).isoformat()
    past = client.get(f"{url}?date={yesterday}", headers=shop.owner_headers).get_json()
    assert past["date"] == yesterday and past["complete"] is False
    tomorrow = (local_today() + timedelta(days=1)).isoformat()
    assert client.get(f"{url}?date={tomorrow}", headers=shop.owner_headers).status_code == 422
    assert client.get(f"{url}?date=soon", headers=shop.owner_headers).status_code == 422


# -- the hash chain ------------------------------------------------------------------------


def test_an_edited_row_is_named_by_ledger_verify(client, db, shop, runner):
    _post(client, shop, "morning_check", {"occurred_at": now_iso(), "checks": [check(shop.lin)]})
    target = _post(client, shop, "cleaning", valid_bodies(shop)["cleaning"])
    _post(client, shop, "cleaning", {**valid_bodies(shop)["cleaning"], "what": "墙面"})
    registration = shop.workshop.registration_no
    ok = runner.invoke(args=["ledger", "verify", "--workshop", registration])
    assert ok.exit_code == 0 and "3 entries, chain intact" in ok.output

    # Someone with database access rewrites history.
    db.session.execute(
        text("UPDATE ledger_entries SET payload = :p WHERE id = :id"),
        {"p": '{"what": "全部都消毒了", "how": "认真"}', "id": target["id"]},
    )
    db.session.expire_all()
    for name in (registration, str(shop.workshop.id)):
        outcome = runner.invoke(args=["ledger", "verify", "--workshop", name])
        assert outcome.exit_code == 1
        assert registration in outcome.output
        assert f"workshop id {shop.workshop.id}" in outcome.output
        assert f"BROKEN at entry {target['seq']} (entry id {target['id']})" in outcome.output
        assert "content does not match its hash" in outcome.output
    everyone = runner.invoke(args=["ledger", "verify"])
    assert everyone.exit_code == 1 and registration in everyone.output


# -- who may do what -----------------------------------------------------------------------


def test_operators_cannot_read_or_write_another_workshop(client, db, shop):
    bodies = valid_bodies(shop)
    mine = _post(client, shop, "cleaning", bodies["cleaning"])
    theirs = shop.other_headers
    base = f"{API}/{shop.workshop.id}"
    for path in ("/today", "/ledgers", "/ledgers/cleaning/last"):
        answer = client.get(base + path, headers=theirs)
        assert answer.status_code == 403 and answer.get_json()["error"] == "not_your_workshop"
    for kind in KINDS:
        answer = client.post(f"{base}/ledgers/{kind}", json=bodies[kind], headers=theirs)
        assert answer.status_code == 403, kind
    answer = client.post(
        f"{base}/ledgers/entries/{mine['id']}/corrections",
        json={"reason": "改一下", "changes": {"how": "x"}},
        headers=theirs,
    )
    assert answer.status_code == 403
    assert entries(db) == 1


def test_regulators_read_but_do_not_write_inspectors_do_neither(client, db, shop):
    bodies = valid_bodies(shop)
    base = f"{API}/{shop.workshop.id}"
    _post(client, shop, "cleaning", bodies["cleaning"])
    for path in ("/today", "/ledgers", "/ledgers/cleaning/last"):
        assert client.get(base + path, headers=shop.regulator_headers).status_code == 200, path
        assert client.get(base + path, headers=shop.inspector_headers).status_code == 403, path
        missing = client.get(f"{API}/999999{path}", headers=shop.regulator_headers)
        assert missing.status_code == 404, path
    for headers in (shop.regulator_headers, shop.inspector_headers):
        answer = client.post(f"{base}/ledgers/cleaning", json=bodies["cleaning"], headers=headers)
        assert answer.status_code == 403 and answer.get_json()["error"] == "operators_only"
    assert entries(db) == 1


def test_no_token_or_an_expired_one_is_401(client, db, shop):
    base = f"{API}/{shop.workshop.id}"
    body = valid_bodies(shop)["cleaning"]
    assert client.get(f"{base}/today").status_code == 401
    assert client.post(f"{base}/ledgers/cleaning", json=body).status_code == 401
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == shop.staff_user.id))
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.flush()
    for answer in (
        client.get(f"{base}/today", headers=shop.staff_headers),
        client.post(f"{base}/ledgers/cleaning", json=body, headers=shop.staff_headers),
        client.get(f"{base}/ledgers", headers=shop.staff_headers),
    ):
        assert answer.status_code == 401 and answer.get_json()["error"] == "token_expired"
    assert entries(db) == 0


def test_a_left_member_loses_access(client, db, shop):
    from backend.accounts.models import WorkshopMembership

    membership = db.session.scalar(
        select(WorkshopMembership).where(WorkshopMembership.user_id == shop.staff_user.id)
    )
    membership.active = False
    db.session.flush()
    answer = client.get(f"{API}/{shop.workshop.id}/today", headers=shop.staff_headers)
    assert answer.status_code == 403


def test_a_refused_additive_writes_nothing(client, db, shop):
    bodies = valid_bodies(shop)
    before = db.session.scalar(select(func.count(Batch.id)))
    bad = {**bodies["additive_use"], "additive": "苯甲酸钠"}
    answer = client.post(
        f"{API}/{shop.workshop.id}/ledgers/additive_use", json=bad, headers=shop.staff_headers
    )
    assert answer.status_code == 422 and answer.get_json()["error"] == "additive_not_permitted"
    assert db.session.scalar(select(func.count(Batch.id))) == before
    assert entries(db) == 0
