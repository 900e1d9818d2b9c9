"""Additive uses judged by amount against the rule base, over the API.

Each case is written from a row of backend/rules/data/standards.csv (the row's limit,
unit, category and clause are in the expected message) and asserts the exact answer:
over the limit, at it, under it, unit conversions (mg, g, kg; g/kg, g/L), combined limits
(Σ used/limit ≤ 1), not permitted in the category, non-food substances (refused and
reported), names by alias, E-number, pinyin, stray spaces and full width, and bad input.
Unverified rows never refuse by their number: they record the use and ask for review.
"""

import pytest
from sqlalchemy import func, select

from backend.batches.models import AdditiveUse
from backend.ledgers.models import LedgerEntry
from backend.registry.models import ProductCategory
from backend.rules.models import NonFoodIncident
from tests.factories import ProductFactory
from tests.rules.additive_cases import CASES, SIZES
from tests.support.workshop_day import now_iso

API = "/api/v1"


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture()
def batches(client, db, shop):
    """One open batch per category of SIZES, numbers by category."""
    made = {}
    for code, (name, spec, quantity, unit) in SIZES.items():
        category = db.session.get(ProductCategory, code)
        if category not in shop.workshop.product_types:
            shop.workshop.product_types.append(category)
        product = ProductFactory(
            workshop=shop.workshop, category=category, name=name, specification=spec
        )
        db.session.commit()
        answer = client.post(
            f"{API}/workshops/{shop.workshop.id}/batches",
            json={
                "occurred_at": now_iso(),
                "product_id": product.id,
                "planned_quantity": quantity,
                "unit": unit,
                "process": "按工艺生产",
                "inputs": [{"raw_lot_id": shop.beans.id, "quantity": 1}],
            },
            headers=shop.staff_headers,
        )
        assert answer.status_code == 201, answer.get_json()
        made[code] = answer.get_json()["batch_no"]
    return made


def add(client, shop, batch_no, additive, amount, unit, **extra):
    return client.post(
        f"{API}/batches/{batch_no}/additives",
        json={
            "occurred_at": now_iso(),
            "additive": additive,
            "amount": amount,
            "unit": unit,
            **extra,
        },
        headers=shop.staff_headers,
    )


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_an_additive_use_is_judged_by_the_rule_base(client, db, shop, batches, case):
    uses, entries = count(db, AdditiveUse), count(db, LedgerEntry)
    answer = add(client, shop, batches[case.category], case.additive, case.amount, case.unit)
    body = answer.get_json()
    assert answer.status_code == case.status, body
    if case.status == 201:
        assert body["check"]["status"] == case.outcome, body
        if case.message:
            assert body["check"]["message"] == case.message
        if case.outcome == "review":
            assert body["check"]["warnings"] and body["limit"]["verified"] is False
        if case.outcome == "within":
            assert body["limit"]["verified"] is True and body["check"]["warnings"] == []
        assert count(db, AdditiveUse) == uses + 1
    else:
        assert body["error"] == case.outcome, body
        if case.message:
            assert body["message"] == case.message
        assert count(db, AdditiveUse) == uses and count(db, LedgerEntry) == entries
        if case.outcome in ("additive_over_limit", "additive_not_permitted"):
            assert body["errors"]["standard"] == "GB 2760-2024" and body["errors"]["clause"]
            assert body["errors"]["verified"] is True
        if case.outcome == "non_food_substance":
            incident = db.session.scalars(select(NonFoodIncident)).one()
            assert incident.workshop_id == shop.workshop.id
            assert incident.substance_code == body["errors"]["item_code"]
            assert incident.entered_name == case.additive


def test_the_refusal_names_the_amount_per_kg_the_limit_and_the_clause(client, shop, batches):
    body = add(client, shop, batches["cakes"], "安赛蜜", "51", "g").get_json()
    assert body["errors"]["amount_per_kg"] == "0.51" and body["errors"]["limit"] == "0.5"
    assert body["errors"]["unit"] == "g/kg" and body["errors"]["gb2760_category"] == "07.02"


def test_combined_preservatives_may_use_at_most_their_limits_share(client, db, shop, batches):
    cake = batches["cakes"]
    assert add(client, shop, cake, "乳酸链球菌素", "20", "g").status_code == 201  # 0.2/0.3
    refused = add(client, shop, cake, "纳他霉素", "15", "g")  # + 0.15/0.3 → 1.1667
    body = refused.get_json()
    assert refused.status_code == 422 and body["error"] == "additive_combined_over_limit"
    assert body["message"] == (
        "糕点中同一功能的添加剂混合使用，各自用量占其最大使用量的比例之和为 1.166667，超过 1"
        "（依据：GB 2760-2024 使用原则）。"
    )
    assert add(client, shop, cake, "纳他霉素", "10", "g").status_code == 201  # exactly 1


def test_propionate_and_nisin_share_the_preservative_limit(client, shop, batches):
    cake = batches["cakes"]
    assert add(client, shop, cake, "丙酸钙", "125", "g").status_code == 201  # 1.25/2.5 = 0.5
    assert add(client, shop, cake, "乳酸链球菌素", "15", "g").status_code == 201  # +0.5 = 1
    refused = add(client, shop, cake, "纳他霉素", "1", "g")  # + 0.01/0.3
    assert refused.get_json()["error"] == "additive_combined_over_limit"


def test_sweeteners_are_not_a_combined_group(client, shop, batches):
    cake = batches["cakes"]
    assert add(client, shop, cake, "安赛蜜", "50", "g").status_code == 201  # 100 % of its limit
    assert add(client, shop, cake, "阿斯巴甜", "170", "g").status_code == 201  # and of this one


def test_a_batch_without_mass_is_refused_until_the_mass_is_entered(client, db, shop):
    cakes = db.session.get(ProductCategory, "cakes")
    shop.workshop.product_types.append(cakes)
    loose = ProductFactory(
        workshop=shop.workshop, category=cakes, name="散装糕", specification="散装"
    )
    db.session.commit()
    batch_no = client.post(
        f"{API}/workshops/{shop.workshop.id}/batches",
        json={
            "occurred_at": now_iso(),
            "product_id": loose.id,
            "planned_quantity": 10,
            "unit": "件",
            "process": "蒸制",
            "inputs": [{"raw_lot_id": shop.beans.id, "quantity": 1}],
        },
        headers=shop.staff_headers,
    ).get_json()["batch_no"]
    refused = add(client, shop, batch_no, "安赛蜜", "5", "g")
    assert refused.status_code == 422 and refused.get_json()["error"] == "batch_mass_unknown"
    assert count(db, AdditiveUse) == 0
    entered = add(client, shop, batch_no, "安赛蜜", "5", "g", batch_mass_kg="10")
    assert entered.status_code == 201 and entered.get_json()["check"]["amount_per_kg"] == "0.5"
    over_ = add(client, shop, batch_no, "安赛蜜", "6", "g", batch_mass_kg="10")
    assert over_.get_json()["error"] == "additive_over_limit"


@pytest.mark.parametrize(
    ("label", "amount", "unit"),
    [
        ("zero", "0", "g"),
        ("negative", "-1", "g"),
        ("too large", "1000000", "kg"),
        ("unknown unit", "1", "桶"),
        ("not a number", "abc", "g"),
    ],
)
def test_bad_amounts_are_refused_and_nothing_is_written(
    client, db, shop, batches, label, amount, unit
):
    entries = count(db, LedgerEntry)
    answer = add(client, shop, batches["cakes"], "安赛蜜", amount, unit)
    assert answer.status_code == 422, label
    assert count(db, AdditiveUse) == 0 and count(db, LedgerEntry) == entries


def test_a_non_food_substance_through_the_ledger_endpoint_is_reported(client, db, shop, batches):
    answer = client.post(
        f"{API}/workshops/{shop.workshop.id}/ledgers/additive_use",
        json={
            "occurred_at": now_iso(),
            "batch_no": batches["cakes"],
            "additive": "苏丹红",
            "amount": "1",
            "unit": "g",
        },
        headers=shop.staff_headers,
    )
    assert answer.status_code == 422 and answer.get_json()["error"] == "non_food_substance"
    assert count(db, NonFoodIncident) == 1 and count(db, AdditiveUse) == 0


def test_the_refusal_reads_in_english(client, shop, batches):
    answer = client.post(
        f"{API}/batches/{batches['cakes']}/additives?lang=en",
        json={"occurred_at": now_iso(), "additive": "安赛蜜", "amount": "51", "unit": "g"},
        headers=shop.staff_headers,
    )
    assert answer.get_json()["message"] == (
        "安赛蜜（乙酰磺胺酸钾）: 0.51 g/kg in the batch exceeds the maximum use level "
        "of 0.5 g/kg in 糕点 (GB 2760-2024 表A.1 安赛蜜（CNS 19.011） 07.02 糕点)."
    )
