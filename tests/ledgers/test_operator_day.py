"""An operator's day, through the API only: log in with WeChat (the fake server), bind to the
workshop with an invite, fill the morning check, accept a delivery with a photo, open a batch
from it, record additives and production, issue codes, and scan one to see that day's lot
and additives."""

import io
from datetime import timedelta

from PIL import Image
from sqlalchemy import select

from backend.batches.models import Batch
from backend.codes.models import UnitCode
from backend.core.time import local_today
from tests.support.workshop_day import now_iso

API = "/api/v1"


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (30, 30, 30)).save(buffer, format="JPEG")
    return buffer.getvalue()


def ok(response, status=201) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_json()


def test_an_operators_day(client, db, shop, fake_wechat, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))
    workshop = shop.workshop

    # Morning: log in with WeChat and bind to the workshop with the regulator's invite.
    login = ok(client.post(f"{API}/auth/wechat/login", json={"code": "lin-morning"}), 200)
    me = {"Authorization": f"Bearer {login['token']}"}
    ok(client.get(f"{API}/workshops/{workshop.id}/today", headers=me), 403)  # not bound yet
    invite = ok(
        client.post(
            f"{API}/workshops/{workshop.registration_no}/invites",
            json={"role": "owner", "days": 7},
            headers=shop.regulator_headers,
        )
    )
    ok(client.post(f"{API}/invites/redeem", json={"code": invite["code"]}, headers=me), 200)

    # What is due: the morning check of the two people on duty, and cleaning.
    today = ok(client.get(f"{API}/workshops/{workshop.id}/today", headers=me), 200)
    assert [(i["kind"], i["subject"]) for i in today["missing"]] == [
        ("morning_check", "林德福"),
        ("morning_check", "王秀英"),
        ("cleaning", ""),
    ]
    line = {"temperature": "36.4", "symptoms": False, "hand_wounds": False, "fit_for_work": True}
    ok(
        client.post(
            f"{API}/workshops/{workshop.id}/ledgers/morning_check",
            json={
                "occurred_at": now_iso(minutes=-30),
                "checks": [
                    {"staff_id": shop.lin.id, **line},
                    {"staff_id": shop.wang.id, **line},
                ],
            },
            headers={**me, "Idempotency-Key": "day-check"},
        )
    )

    # A delivery of black beans, accepted with a photo of the certificate.
    photo = ok(
        client.post(
            f"{API}/uploads",
            data={"file": (io.BytesIO(jpeg()), "合格证.jpg")},
            headers=me,
            content_type="multipart/form-data",
        )
    )
    accepted = ok(
        client.post(
            f"{API}/workshops/{workshop.id}/ledgers/raw_acceptance",
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
            headers={**me, "Idempotency-Key": "day-delivery"},
        )
    )
    assert accepted["payload"]["photos"] == [{"file_id": photo["id"], "sha256": photo["sha256"]}]
    lots = ok(client.get(f"{API}/workshops/{workshop.id}/raw-lots?available=1", headers=me), 200)
    lot = next(item for item in lots["items"] if item["lot_no"] == accepted["lot_no"])
    assert lot["remaining"] == "50.000"

    # A batch of black bean tofu from today's beans, with its coagulant and a process step.
    batch = ok(
        client.post(
            f"{API}/workshops/{workshop.id}/batches",
            json={
                "occurred_at": now_iso(minutes=-10),
                "product_id": shop.product.id,
                "planned_quantity": 200,
                "unit": "盒",
                "process": "黑豆浸泡8小时→磨浆→煮浆",
                "inputs": [{"raw_lot_id": lot["id"], "quantity": 30}],
            },
            headers={**me, "Idempotency-Key": "day-batch"},
        )
    )
    number = batch["batch_no"]
    additive = ok(
        client.post(
            f"{API}/batches/{number}/additives",
            json={
                "occurred_at": now_iso(minutes=-5),
                "additive": "盐卤（氯化镁）",
                "amount": "0.8",
                "unit": "kg",
                "purpose": "凝固剂",
            },
            headers=me,
        )
    )
    assert additive["additive"]["additive"] == "盐卤（氯化镁）"
    ok(
        client.post(
            f"{API}/workshops/{workshop.id}/ledgers/production",
            json={"occurred_at": now_iso(), "batch_no": number, "process": "点卤，压制成型"},
            headers=me,
        )
    )

    # Codes for the batch, and a consumer scanning one sees today's lot and additive.
    issued = ok(client.post(f"{API}/batches/{number}/codes", json={"count": 3}, headers=me))
    assert issued["count"] == 3
    batch_id = db.session.scalar(select(Batch.id).where(Batch.batch_no == number))
    code = db.session.scalar(select(UnitCode.code).where(UnitCode.batch_id == batch_id))
    view = ok(client.get(f"{API}/scan/{code}"), 200)
    assert view["batch"]["batch_no"] == number
    (material,) = view["batch"]["raw_materials"]
    assert material["lot_no"] == accepted["lot_no"]
    assert material["purchased_on"] == local_today().isoformat()
    assert material["acceptance"]["result"] == "accepted"
    assert [a["name"] for a in view["batch"]["additives"]] == ["盐卤（氯化镁）"]

    # Only the cleaning is left for today.
    today = ok(client.get(f"{API}/workshops/{workshop.id}/today", headers=me), 200)
    assert [(i["kind"], i["subject"]) for i in today["missing"]] == [("cleaning", "")]
    history = ok(client.get(f"{API}/workshops/{workshop.id}/ledgers", headers=me), 200)
    assert [i["kind"] for i in history["items"]] == [
        "production",
        "additive_use",
        "production",
        "raw_acceptance",
        "morning_check",
    ]
