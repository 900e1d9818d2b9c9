"""The API the mini-program needed beyond the operators' and inspectors' endpoints: a
workshop's products (to open a batch), finding a workshop (inspectors on site) and filing a
complaint from the scan page."""

from sqlalchemy import func, select

from backend.codes.models import UnitCode
from backend.complaints.models import Complaint, ComplaintChannel

API = "/api/v1"


def complaints(db) -> int:
    return db.session.scalar(select(func.count(Complaint.id)))


def test_a_workshops_products_for_its_operators_inspectors_and_regulators(client, db, shop):
    url = f"{API}/workshops/{shop.workshop.id}/products"
    for headers in (shop.owner_headers, shop.staff_headers, shop.inspector_headers):
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.get_json()
        names = [(p["name"], p["category_code"]) for p in response.get_json()["items"]]
        assert names == [("坊洋黑豆腐", "bean_products"), ("红曲酒", "huangjiu")]
    assert client.get(url, headers=shop.other_headers).status_code == 403
    missing = client.get(f"{API}/workshops/2147483000/products", headers=shop.regulator_headers)
    assert missing.status_code == 404
    assert missing.get_json()["error"] == "workshop_not_found"


def test_inspectors_find_a_workshop_by_part_of_its_name_or_number(client, db, shop):
    found = client.get(f"{API}/workshops?q=黑豆腐", headers=shop.inspector_headers).get_json()
    assert [w["name"] for w in found["items"]] == ["坊洋黑豆腐坊"]
    assert found["total"] == 1 and found["items"][0]["status"] == "active"
    number = shop.other.registration_no[-6:]
    found = client.get(f"{API}/workshops?q={number}", headers=shop.regulator_headers).get_json()
    assert [w["id"] for w in found["items"]] == [shop.other.id]
    too_long = client.get(f"{API}/workshops?q={'豆' * 101}", headers=shop.inspector_headers)
    assert too_long.status_code == 422 and "q" in too_long.get_json()["errors"]["query"]
    refused = client.get(f"{API}/workshops?q=豆", headers=shop.owner_headers)
    assert refused.status_code == 403


def test_a_complaint_from_the_scan_page_is_linked_to_the_code(client, db, wine):
    batch, codes = wine
    response = client.post(
        f"{API}/complaints",
        json={"content": "酒有异味", "code": codes[0], "contact_phone": "138 0013 8000"},
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["reference"].startswith("TS") and body["status"] == "new"
    complaint = db.session.scalar(select(Complaint).where(Complaint.reference == body["reference"]))
    code = db.session.scalar(select(UnitCode).where(UnitCode.code == codes[0]))
    assert complaint.channel is ComplaintChannel.MINIPROGRAM
    assert (complaint.code_id, complaint.batch_id) == (code.id, batch.id)
    assert complaint.workshop_id == batch.workshop_id
    assert complaint.client_hash and len(complaint.client_hash) == 64


def test_bad_complaints_are_refused_next_to_the_field_and_nothing_is_saved(client, db, wine):
    before = complaints(db)
    cases = [
        ({"code": "X"}, "content"),
        ({"content": "  ", "workshop_id": wine[0].workshop_id}, "content"),
        ({"content": "有问题"}, "code"),
        ({"content": "有问题", "code": "0000-0000-0000-0000"}, "code"),
        ({"content": "有问题", "workshop_id": 2147483000}, "workshop_id"),
        ({"content": "有问题", "code": wine[1][0], "contact_phone": "call me"}, "contact_phone"),
        ({"content": "x" * 2001, "code": wine[1][0]}, "content"),
    ]
    for body, field in cases:
        response = client.post(f"{API}/complaints", json=body)
        assert response.status_code == 422, (body, response.get_json())
        errors = response.get_json()["errors"]
        assert field in errors.get("json", errors), (body, errors)
    assert complaints(db) == before


def test_complaints_are_limited_per_client(client, db, wine):
    body = {"content": "酒有异味", "code": wine[1][0]}
    statuses = [client.post(f"{API}/complaints", json=body).status_code for _ in range(6)]
    assert statuses == [201] * 5 + [429]
