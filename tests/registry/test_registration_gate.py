"""Registration validity is a gate (issue 15): a workshop whose certificate expired, or that
a regulator suspended or cancelled, cannot open, produce, release or sell batches, issue
codes or accept raw materials; the refusal names the status and the date, in one shape,
and writes nothing. Morning checks, cleaning and regulators' holds stay open. Reactivated
or renewed, the workshop works again. The public profile and the scan say why."""

from datetime import UTC, date, datetime, timedelta
from datetime import time as clock

import pytest
import time_machine
from sqlalchemy import func, select

from backend.batches.models import Batch, BatchState
from backend.codes.models import CodeIssuance, UnitCode
from backend.codes.services import issue_codes
from backend.core import cache as cache_module
from backend.core.time import SHANGHAI, local_today
from backend.ledgers.models import Buyer, LedgerEntry, RawMaterialLot, Shipment
from backend.registry import filing
from backend.registry.models import Supplier, WorkshopStatus
from backend.registry.standing import (
    Standing,
    made_after_expiry,
    registration_standing,
    until_midnight,
)
from tests.factories import BatchFactory, RegulatorFactory, WorkshopFactory
from tests.support.workshop_day import now_iso

API = "/api/v1"
EXPIRED_DAYS_AGO = 10
STATES = ["expired", "suspended", "cancelled"]
SLUGS = {
    "expired": "registration_expired",
    "suspended": "workshop_suspended",
    "cancelled": "workshop_cancelled",
}


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def zh(day: str) -> str:
    """A day as the public sentences write it in Chinese (2026年9月1日)."""
    d = date.fromisoformat(day)
    return f"{d.year}年{d.month}月{d.day}日"


def en(day: str) -> str:
    """A day as the public sentences write it in English (September 1, 2026)."""
    d = date.fromisoformat(day)
    return f"{d:%B} {d.day}, {d.year}"


def put_in(db, workshop, state: str) -> str:
    """Put *workshop* in *state* the way it happens; return the date the refusal names."""
    today = local_today()
    if state == "expired":
        workshop.cert_valid_until = today - timedelta(days=EXPIRED_DAYS_AGO)
        db.session.flush()
        return workshop.cert_valid_until.isoformat()
    action = {"suspended": "suspend", "cancelled": "cancel"}[state]
    filing.change_status(workshop.id, action, by=RegulatorFactory(), reason="检查发现问题")
    db.session.flush()
    return today.isoformat()


def restore(db, workshop, state: str) -> None:
    """Renew the certificate, or let the suspended workshop produce again."""
    if state == "expired":
        workshop.cert_valid_until = local_today() + timedelta(days=3 * 365)
    else:
        filing.change_status(workshop.id, "reactivate", by=RegulatorFactory(), reason="整改完成")
    db.session.flush()


def acceptance_body(**overrides) -> dict:
    body = {
        "occurred_at": now_iso(),
        "supplier": {"name": "长泰黑豆合作社三社", "licence_no": "JY136", "address": "长泰"},
        "material_name": "黑豆",
        "quantity": "50",
        "unit": "kg",
        "produced_on": (local_today() - timedelta(days=5)).isoformat(),
        "shelf_life_days": 365,
        "supplier_licence_checked": True,
        "certificate_checked": True,
    }
    return {**body, **overrides}


def sale_body(batch_no: str) -> dict:
    return {
        "occurred_at": now_iso(),
        "buyer": {"name": "半里便民超市", "address": "半里乡", "contact_phone": "0596-1"},
        "items": [{"batch_no": batch_no, "quantity": 5}],
    }


def open_body(shop) -> dict:
    return {
        "occurred_at": now_iso(),
        "product_id": shop.product.id,
        "planned_quantity": 120,
        "unit": "盒",
        "process": "黑豆浸泡8小时→磨浆→煮浆95℃→点卤→压制成型",
        "inputs": [{"raw_lot_id": shop.beans.id, "quantity": 20}],
    }


@pytest.fixture()
def batches(db, shop):
    """A pending, a released and an in-production batch of the tofu workshop."""
    today = local_today()
    made = {"produced_on": today, "expires_on": today + timedelta(days=3), "unit": "盒"}
    return {
        "pending": BatchFactory(
            product=shop.product, batch_no="G-PEND", state=BatchState.PENDING_RELEASE, **made
        ),
        "released": BatchFactory(
            product=shop.product, batch_no="G-REL", state=BatchState.RELEASED, **made
        ),
        "making": BatchFactory(
            product=shop.product, batch_no="G-MAKE", state=BatchState.IN_PRODUCTION, **made
        ),
    }


def attempts(client, shop, batches):
    """Every trading action an operator takes, as (action, response)."""
    ws = shop.workshop.id
    yield (
        "open_batch",
        client.post(
            f"{API}/workshops/{ws}/batches", json=open_body(shop), headers=shop.staff_headers
        ),
    )
    yield (
        "produce",
        client.post(
            f"{API}/workshops/{ws}/ledgers/production",
            json={"occurred_at": now_iso(), "batch_no": "G-MAKE", "process": "煮浆95℃"},
            headers=shop.staff_headers,
        ),
    )
    yield (
        "produce",
        client.post(
            f"{API}/workshops/{ws}/ledgers/additive_use",
            json={
                "occurred_at": now_iso(),
                "batch_no": "G-MAKE",
                "additive": "盐卤（氯化镁）",
                "amount": "0.8",
                "unit": "kg",
                "purpose": "凝固剂",
            },
            headers=shop.staff_headers,
        ),
    )
    yield (
        "produce",
        client.post(
            f"{API}/batches/G-MAKE/state",
            json={"occurred_at": now_iso(), "to": "pending_release"},
            headers=shop.staff_headers,
        ),
    )
    yield (
        "release",
        client.post(
            f"{API}/batches/G-PEND/state",
            json={
                "occurred_at": now_iso(),
                "to": "released",
                "inspection": {"inspection_cert_no": "CJ-G", "items": ["感官"], "result": "pass"},
            },
            headers=shop.owner_headers,
        ),
    )
    yield (
        "sell",
        client.post(
            f"{API}/workshops/{ws}/ledgers/sale",
            json=sale_body("G-REL"),
            headers=shop.staff_headers,
        ),
    )
    yield (
        "issue_codes",
        client.post(f"{API}/batches/G-REL/codes", json={"count": 5}, headers=shop.owner_headers),
    )
    yield (
        "accept_raw",
        client.post(
            f"{API}/workshops/{ws}/ledgers/raw_acceptance",
            json=acceptance_body(),
            headers=shop.staff_headers,
        ),
    )


def snapshot(db) -> tuple:
    """Counts of every row a trading action writes."""
    return tuple(
        count(db, model)
        for model in (
            Batch,
            LedgerEntry,
            Shipment,
            Buyer,
            UnitCode,
            CodeIssuance,
            RawMaterialLot,
            Supplier,
        )
    )


# -- the gate ------------------------------------------------------------------------------


@pytest.mark.parametrize("state", STATES)
def test_every_trading_action_is_refused_naming_the_status_and_date(
    client, db, shop, batches, state
):
    when = put_in(db, shop.workshop, state)
    before = snapshot(db)
    seen = set()
    for action, answer in attempts(client, shop, batches):
        body = answer.get_json()
        assert answer.status_code == 409, (action, body)
        assert body["error"] == SLUGS[state], (action, body)
        assert body["code"] == 409 and body["status"] == "Conflict"
        assert when in body["message"], body["message"]
        assert body["errors"]["registration"]["state"] == state
        assert body["errors"]["registration"]["action"] == action
        seen.add(action)
    assert seen == {"open_batch", "produce", "release", "sell", "issue_codes", "accept_raw"}
    # Nothing half-written: no batch, entry, shipment, buyer, code, lot or supplier.
    assert snapshot(db) == before
    for batch in batches.values():
        db.session.refresh(batch)
    assert {b.batch_no: b.state for b in batches.values()} == {
        "G-PEND": BatchState.PENDING_RELEASE,
        "G-REL": BatchState.RELEASED,
        "G-MAKE": BatchState.IN_PRODUCTION,
    }


def test_the_messages_say_what_was_refused_and_when(client, db, shop, batches):
    put_in(db, shop.workshop, "expired")
    until = shop.workshop.cert_valid_until.isoformat()
    answer = client.post(
        f"{API}/workshops/{shop.workshop.id}/batches",
        json=open_body(shop),
        headers=shop.staff_headers,
    )
    assert answer.get_json()["message"] == f"本作坊的登记证已于 {until} 过期，换证前不能开批次。"
    english = client.post(
        f"{API}/batches/G-REL/codes",
        json={"count": 5},
        headers={**shop.owner_headers, "Accept-Language": "en"},
    )
    assert english.get_json()["message"] == (
        f"Your registration certificate expired on {until}: "
        "you cannot issue trace codes until it is renewed."
    )
    restore(db, shop.workshop, "expired")
    put_in(db, shop.workshop, "suspended")
    answer = client.post(
        f"{API}/workshops/{shop.workshop.id}/ledgers/sale",
        json=sale_body("G-REL"),
        headers=shop.staff_headers,
    )
    assert answer.get_json()["message"] == (
        f"本作坊已于 {local_today().isoformat()} 被责令停产整改，恢复生产前不能销售出货。"
    )


@pytest.mark.parametrize("state", STATES)
def test_ledgers_the_law_still_requires_stay_open(client, db, shop, state):
    put_in(db, shop.workshop, state)
    ws = shop.workshop.id
    morning = client.post(
        f"{API}/workshops/{ws}/ledgers/morning_check",
        json={
            "occurred_at": now_iso(),
            "checks": [
                {
                    "staff_id": shop.lin.id,
                    "temperature": 36.5,
                    "symptoms": False,
                    "hand_wounds": False,
                    "fit_for_work": True,
                }
            ],
        },
        headers=shop.staff_headers,
    )
    assert morning.status_code == 201, morning.get_json()
    cleaning = client.post(
        f"{API}/workshops/{ws}/ledgers/cleaning",
        json={
            "occurred_at": now_iso(),
            "what": "地面、操作台",
            "how": "清水冲洗后消毒液擦拭",
            "disinfectant": "84消毒液（1:200）",
            "by_staff_id": shop.wang.id,
        },
        headers=shop.staff_headers,
    )
    assert cleaning.status_code == 201, cleaning.get_json()
    # Turning a delivery away is a record, not trading.
    refused = client.post(
        f"{API}/workshops/{ws}/ledgers/raw_acceptance",
        json=acceptance_body(result="rejected", note="停产整改期间拒收"),
        headers=shop.staff_headers,
    )
    assert refused.status_code == 201, refused.get_json()


@pytest.mark.parametrize("state", ["expired", "suspended"])
def test_regulators_still_hold_and_recall(client, db, shop, batches, state):
    put_in(db, shop.workshop, state)
    held = client.post(
        f"{API}/batches/G-REL/state",
        json={"to": "held", "reason": "停产整改期间暂控在售批次"},
        headers=shop.regulator_headers,
    )
    assert held.status_code == 200, held.get_json()
    recalled = client.post(
        f"{API}/batches/G-REL/state",
        json={"to": "recalled", "reason": "召回"},
        headers=shop.regulator_headers,
    )
    assert recalled.status_code == 200 and recalled.get_json()["state"] == "recalled"


@pytest.mark.parametrize("state", ["expired", "suspended"])
def test_renewed_or_reactivated_the_workshop_works_again(client, db, shop, batches, state):
    put_in(db, shop.workshop, state)
    refused = [a.status_code for _, a in attempts(client, shop, batches)]
    assert set(refused) == {409}
    restore(db, shop.workshop, state)
    assert registration_standing(shop.workshop).valid
    answers = {}
    for action, answer in attempts(client, shop, batches):
        answers.setdefault(action, []).append(answer.status_code)
        assert answer.status_code in (200, 201), (action, answer.get_json())
    assert set(answers) == {"open_batch", "produce", "release", "sell", "issue_codes", "accept_raw"}
    db.session.refresh(batches["pending"])
    assert batches["pending"].state is BatchState.RELEASED
    assert count(db, Shipment) == 1 and count(db, UnitCode) == 5


def test_the_bureau_command_line_cannot_issue_codes_for_a_suspended_workshop(db, shop, batches):
    from backend.core.errors import Conflict

    put_in(db, shop.workshop, "suspended")
    with pytest.raises(Conflict) as refused:
        issue_codes(batches["released"], 3)
    assert refused.value.slug == "workshop_suspended"
    assert count(db, UnitCode) == 0


# -- the rule ------------------------------------------------------------------------------


def test_the_standing_of_each_kind_of_workshop(db):
    today = local_today()
    last_day = WorkshopFactory(cert_valid_until=today)
    assert registration_standing(last_day).state is Standing.VALID  # valid through the day
    assert registration_standing(last_day, today + timedelta(days=1)).state is Standing.EXPIRED
    long_term = WorkshopFactory(cert_long_term=True, cert_valid_until=None)
    standing = registration_standing(long_term, date(2099, 1, 1))
    assert standing.valid and standing.valid_until is None
    # An upgraded enterprise produces under its licence, whatever its old certificate says.
    upgraded = WorkshopFactory(
        status=WorkshopStatus.UPGRADED,
        licence_no="SC11535062500099",
        cert_valid_until=today - timedelta(days=400),
    )
    assert registration_standing(upgraded).valid
    # A merely filed workshop's registration is valid; it may not make food yet.
    filed = WorkshopFactory(status=WorkshopStatus.FILED)
    assert registration_standing(filed).valid
    # Suspended without a recorded history: refused all the same, without a date.
    bare = WorkshopFactory(status=WorkshopStatus.SUSPENDED)
    standing = registration_standing(bare)
    assert standing.state is Standing.SUSPENDED and standing.since is None
    assert standing.message() == "该作坊正在停产整改。"


def test_batches_made_after_expiry(db):
    today = local_today()
    workshop = WorkshopFactory(cert_valid_until=today - timedelta(days=10))
    assert made_after_expiry(workshop, today - timedelta(days=9))
    assert not made_after_expiry(workshop, today - timedelta(days=10))
    assert not made_after_expiry(workshop, None)
    assert not made_after_expiry(WorkshopFactory(cert_long_term=True, cert_valid_until=None), today)


def test_a_cached_answer_built_today_is_gone_by_midnight():
    with time_machine.travel(datetime(2027, 3, 1, 23, 59, 50, tzinfo=SHANGHAI), tick=False):
        assert until_midnight(600) == 11
    with time_machine.travel(datetime(2027, 3, 1, 12, 0, tzinfo=SHANGHAI), tick=False):
        assert until_midnight(600) == 600


# -- what the public sees ------------------------------------------------------------------


@pytest.fixture()
def coded(db, shop):
    """Two released batches with codes: made 20 and 5 days ago (codes issued while valid)."""
    today = local_today()
    out = {}
    for name, days in (("before", 20), ("after", 5)):
        batch = BatchFactory(
            product=shop.product,
            batch_no=f"G-{name.upper()}",
            state=BatchState.RELEASED,
            produced_on=today - timedelta(days=days),
            unit="盒",
        )
        issue_codes(batch, 1)
        out[name] = db.session.scalar(select(UnitCode.code).where(UnitCode.batch_id == batch.id))
    db.session.flush()
    return out


def test_the_scan_says_the_registration_expired_and_flags_batches_made_after(
    client, db, shop, coded
):
    fresh = client.get(f"{API}/scan/{coded['after']}").get_json()
    assert fresh["workshop"]["registration"]["valid"] is True
    assert fresh["workshop"]["registration"]["message"] is None
    assert fresh["batch"]["made_after_expiry"] is False
    # The certificate's date is corrected: the cached view goes at once.
    until = put_in(db, shop.workshop, "expired")
    after = client.get(f"{API}/scan/{coded['after']}").get_json()
    registration = after["workshop"]["registration"]
    assert registration["valid"] is False and registration["state"] == "expired"
    assert registration["valid_until"] == until
    assert registration["message"] == f"该作坊的登记证已于 {zh(until)} 过期，尚未换证。"
    assert registration["message_en"].startswith("This workshop's registration certificate")
    assert after["batch"]["made_after_expiry"] is True
    before = client.get(f"{API}/scan/{coded['before']}").get_json()
    assert before["workshop"]["registration"]["state"] == "expired"
    assert before["batch"]["made_after_expiry"] is False
    page = client.get(f"/t/{coded['after']}").get_data(as_text=True)
    assert f"该作坊的登记证已于 {zh(until)} 过期，尚未换证。" in page
    assert "该批次生产时，作坊的登记证已过期。" in page
    english = client.get(f"/t/{coded['after']}?lang=en").get_data(as_text=True)
    assert f"registration certificate expired on {en(until)}" in english


def test_the_scan_says_the_workshop_was_suspended_at_once(client, db, shop, coded):
    assert client.get(f"{API}/scan/{coded['after']}").get_json()["workshop"]["registration"][
        "valid"
    ]
    today = put_in(db, shop.workshop, "suspended")
    registration = client.get(f"{API}/scan/{coded['after']}").get_json()["workshop"]["registration"]
    assert registration["state"] == "suspended" and registration["since"] == today
    assert registration["message"] == f"该作坊已于 {zh(today)} 被责令停产整改。"
    page = client.get(f"/t/{coded['after']}").get_data(as_text=True)
    assert f"该作坊已于 {zh(today)} 被责令停产整改。" in page
    restore(db, shop.workshop, "suspended")
    registration = client.get(f"{API}/scan/{coded['after']}").get_json()["workshop"]["registration"]
    assert registration["valid"] is True


def test_a_certificate_expiring_with_the_day_shows_after_midnight(
    client, db, shop, coded, monkeypatch
):
    """No row changes at midnight: the cached view must not outlive the day it was built."""
    last_day = date(2027, 3, 1)
    shop.workshop.cert_valid_until = last_day
    db.session.flush()
    with time_machine.travel(datetime.combine(last_day, clock(23, 59, 50), SHANGHAI), tick=False):
        registration = client.get(f"{API}/scan/{coded['after']}").get_json()["workshop"][
            "registration"
        ]
        assert registration["valid"] is True and registration["checked_on"] == "2027-03-01"
    # Twenty seconds later: past midnight, well inside SCAN_VIEW_TTL (30 s).
    real = cache_module.time.monotonic
    monkeypatch.setattr(cache_module.time, "monotonic", lambda: real() + 20)
    with time_machine.travel(datetime(2027, 3, 1, 16, 0, 10, tzinfo=UTC), tick=False):
        registration = client.get(f"{API}/scan/{coded['after']}").get_json()["workshop"][
            "registration"
        ]
    assert registration["valid"] is False and registration["state"] == "expired"
    assert registration["checked_on"] == "2027-03-02"


def test_the_public_profile_says_why(client, db, shop):
    url = f"/workshops/{shop.workshop.id}"
    fine = client.get(url).get_data(as_text=True)
    assert "在产" in fine and "registration-alert" not in fine
    until = put_in(db, shop.workshop, "expired")
    expired = client.get(url).get_data(as_text=True)
    assert f"该作坊的登记证已于 {zh(until)} 过期，尚未换证。" in expired
    assert "登记证已过期" in expired and "在产" not in expired
    directory = client.get("/workshops/").get_data(as_text=True)
    assert directory.count("registration-tag") == 1 and "登记证已过期" in directory
    restore(db, shop.workshop, "expired")
    today = put_in(db, shop.workshop, "suspended")
    suspended = client.get(url).get_data(as_text=True)
    assert f"该作坊已于 {zh(today)} 被责令停产整改。" in suspended
    assert "停产整改" in suspended and "在产" not in suspended
    english = client.get(f"{url}?lang=en").get_data(as_text=True)
    assert f"ordered on {en(today)} to stop production" in english


def test_the_console_tells_the_regulator_the_gate_is_closed(client, db, shop):
    from tests.support.console import logged_in

    logged_in(client)
    url = f"/console/registry/{shop.workshop.id}"
    assert "registration-closed" not in client.get(url).get_data(as_text=True)
    until = put_in(db, shop.workshop, "expired")
    page = client.get(url).get_data(as_text=True)
    assert "registration-closed" in page
    assert f"该作坊的登记证已于 {zh(until)} 过期，尚未换证。" in page
