"""The public complaint form: CSRF, throttling, WeChat's content check, links to the code,
batch or workshop, and the complaint showing in the console."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from backend.complaints.models import Complaint, ComplaintChannel
from tests.support.console import csrf_token, logged_in, submit


def complaint_count(db) -> int:
    return db.session.scalar(select(func.count(Complaint.id)))


def test_a_complaint_about_a_scanned_code_is_filed_and_seen_in_the_console(client, db, wine):
    batch, codes = wine
    form = f"/complaints/new?batch={batch.batch_no}&via=scan&code={codes[0]}"
    html = client.get(form).get_data(as_text=True)
    assert "半里林氏红曲酒坊" in html and batch.batch_no in html
    response = submit(
        client,
        form,
        {
            "content": "酒里有沉淀，味道发酸。",
            "code": codes[0],
            "batch_no": batch.batch_no,
            "source": "scan",
            "contact_phone": "13800138000",
        },
        action="/complaints/new",
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    done = client.get(response.headers["Location"]).get_data(as_text=True)
    complaint = db.session.scalar(select(Complaint))
    assert complaint.reference in done
    assert complaint.channel is ComplaintChannel.SCAN_PAGE
    assert complaint.batch_id == batch.id and complaint.code_id is not None
    assert complaint.workshop_id == batch.workshop_id
    assert complaint.client_hash and "127.0.0.1" not in complaint.client_hash
    logged_in(client)
    listing = client.get("/console/complaints/").get_data(as_text=True)
    assert complaint.reference in listing


def test_a_complaint_about_a_workshop_from_the_portal(client, db, wine):
    batch, _codes = wine
    page = f"/complaints/new?workshop={batch.workshop_id}"
    response = submit(
        client,
        page,
        {"content": "车间门口有积水。", "workshop_id": str(batch.workshop_id)},
        action="/complaints/new",
    )
    assert response.status_code == 303
    complaint = db.session.scalar(select(Complaint))
    assert complaint.channel is ComplaintChannel.PORTAL
    assert complaint.workshop_id == batch.workshop_id and complaint.batch_id is None


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"content": "", "code": "X"}, "content", "必填"),
        ({"content": "太长" * 1001, "code": ""}, "content", ""),
        ({"content": "有问题"}, "code", "请填写产品上的码"),
        ({"content": "有问题", "code": "0000000000000000Z"}, "code", ""),
        ({"content": "有问题", "workshop_id": "999999"}, "code", "作坊不存在"),
        ({"content": "有问题", "batch_no": "NO-SUCH-BATCH"}, "code", "批次不存在"),
        (
            {"content": "有问题", "workshop_id": "1", "contact_phone": "call me"},
            "contact_phone",
            "电话只能包含",
        ),
    ],  # fmt: skip
)
def test_bad_complaints_are_refused_next_to_the_field(client, db, wine, fields, field, message):
    response = submit(client, "/complaints/new", fields, action="/complaints/new")
    html = response.get_data(as_text=True)
    assert response.status_code == 422, html[:500]
    assert f'id="{field}"' in html and 'aria-invalid="true"' in html
    assert message in html
    assert complaint_count(db) == 0


def test_a_complaint_without_the_csrf_token_is_refused(client, db, wine):
    batch, _codes = wine
    response = client.post(
        "/complaints/new", data={"content": "x", "workshop_id": str(batch.workshop_id)}
    )
    assert response.status_code == 400
    assert "<html" in response.get_data(as_text=True)
    assert complaint_count(db) == 0


def test_complaints_are_throttled_per_client(client, db, wine, app, monkeypatch):
    monkeypatch.setitem(app.config, "COMPLAINT_RATE_LIMIT", "2/hour")
    batch, _codes = wine
    data = {"content": "重复投诉", "workshop_id": str(batch.workshop_id)}
    for _ in range(2):
        assert submit(client, "/complaints/new", data).status_code == 303
    token = csrf_token(client, "/complaints/new")
    refused = client.post("/complaints/new", data={**data, "csrf_token": token})
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert complaint_count(db) == 2
    other = client.post(
        "/complaints/new",
        data={**data, "csrf_token": token},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert other.status_code == 303


def test_wechat_checks_the_text_when_configured(client, db, wine, fake_wechat):
    batch, _codes = wine
    data = {"workshop_id": str(batch.workshop_id)}
    risky = submit(client, "/complaints/new", {**data, "content": "加微信看违规广告"})
    assert risky.status_code == 422
    assert "内容未通过微信内容安全检测" in risky.get_data(as_text=True)
    assert complaint_count(db) == 0
    fine = submit(client, "/complaints/new", {**data, "content": "豆腐有异味"})
    assert fine.status_code == 303
    checked = fake_wechat.calls_to("/wxa/msg_sec_check")
    assert [c["body"]["content"] for c in checked] == ["加微信看违规广告", "豆腐有异味"]


def test_wechat_unreachable_keeps_the_text_and_files_nothing(
    client, db, wine, fake_wechat, app, monkeypatch
):
    batch, _codes = wine
    fake_wechat.delay_next(3)
    monkeypatch.setitem(app.config, "WECHAT_TIMEOUT", 0.5)
    response = submit(
        client,
        "/complaints/new",
        {"workshop_id": str(batch.workshop_id), "content": "豆腐有异味"},
    )
    assert response.status_code == 504
    assert "豆腐有异味" in response.get_data(as_text=True)
    assert complaint_count(db) == 0


def test_without_wechat_nothing_is_sent_anywhere(client, db, wine):
    batch, _codes = wine
    response = submit(
        client, "/complaints/new", {"workshop_id": str(batch.workshop_id), "content": "问题"}
    )
    assert response.status_code == 303


def test_the_scan_page_links_to_the_complaint_form(client, wine):
    batch, codes = wine
    html = client.get(f"/t/{codes[0]}").get_data(as_text=True)
    assert f"/complaints/new?batch={batch.batch_no}&amp;via=scan" in html


def test_the_filed_page_without_a_complaint_goes_to_the_form(client, db):
    response = client.get("/complaints/filed")
    assert response.status_code == 302 and response.headers["Location"] == "/complaints/new"
