"""Workshops' own self-checks through /api/v1: operators record rapid screens of their own
batches, judged by the standards table with the same hold rule; inspectors and regulators
read them but never write them, and may not claim the task source ``self_check``."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from backend.batches.models import BatchState, BatchStateChange
from backend.batches.states import change_state
from backend.codes.models import UnitCode
from backend.codes.services import issue_codes
from backend.core.time import local_today, utcnow
from backend.samples.models import Sample, TaskSource, TestKind, TestResult
from tests.factories import BatchFactory, ProductFactory
from tests.support.workshop_day import now_iso

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
NEGATIVE = {"item_code": "benzoic_acid", "method": "快检试纸法", "qualitative": "negative"}
POSITIVE = {"item_code": "benzoic_acid", "method": "快检试纸法", "qualitative": "positive"}


@pytest.fixture()
def site(db, shop, app, tmp_path, monkeypatch):
    """The tofu workshop with a released batch (and codes), and a batch of the neighbour."""
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))
    batch = BatchFactory(product=shop.product, produced_on=local_today())
    for state in (BatchState.IN_PRODUCTION, BatchState.PENDING_RELEASE, BatchState.RELEASED):
        change_state(batch, state)
    issue_codes(batch, 2)
    neighbours = BatchFactory(
        product=ProductFactory(workshop_id=shop.other.id, category=shop.product.category),
        produced_on=local_today(),
    )
    db.session.flush()
    code = db.session.scalar(select(UnitCode.code).where(UnitCode.batch_id == batch.id))
    return shop, batch, neighbours, code


def url(shop, workshop_id=None) -> str:
    return f"/api/v1/workshops/{workshop_id or shop.workshop.id}/self-checks"


def body(batch, *results, **extra) -> dict:
    return {
        "batch_no": batch.batch_no,
        "sampled_at": now_iso(minutes=-30),
        "station": "作坊检验台",
        "results": list(results),
        **extra,
    }


def counts(db) -> tuple[int, int, int]:
    return (
        db.session.scalar(select(func.count(Sample.id))),
        db.session.scalar(select(func.count(TestResult.id))),
        db.session.scalar(select(func.count(BatchStateChange.id))),
    )


def refused(response, status: int, error: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    answer = response.get_json()
    assert set(answer) == {"code", "status", "error", "message", "errors"}
    assert answer["error"] == error, answer
    return answer


# -- recording ---------------------------------------------------------------------------------


def test_the_owner_records_a_negative_self_check(client, db, site):
    shop, batch, _n, _code = site
    response = client.post(url(shop), json=body(batch, NEGATIVE), headers=shop.owner_headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    answer = response.get_json()
    sample = answer["sample"]
    assert sample["task_source"] == "self_check" and sample["kind"] == "rapid"
    assert sample["sample_no"].startswith("KJ") and sample["batch_no"] == batch.batch_no
    assert sample["testing_agency"] == "坊洋黑豆腐坊（作坊自检）"
    assert sample["station"] == "作坊检验台" and sample["status"] == "completed"
    result = answer["results"][0]
    assert result["verdict"] == "pass" and result["limit"]["verified"] is True
    assert answer["held"] is False and answer["batch"]["state"] == "released"
    assert answer["confirmation_sample_no"] is None
    stored = db.session.scalar(select(Sample).where(Sample.sample_no == sample["sample_no"]))
    assert stored.sampled_by_id == shop.owner.id and stored.task_source is TaskSource.SELF_CHECK


def test_a_positive_self_check_holds_the_batch_until_the_lab_answers(client, db, site):
    shop, batch, _n, code = site
    response = client.post(url(shop), json=body(batch, POSITIVE), headers=shop.staff_headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    answer = response.get_json()
    number = answer["sample"]["sample_no"]
    assert answer["results"][0]["verdict"] == "positive_screen"
    assert answer["held"] is True and answer["batch"]["state"] == "held"
    assert answer["confirmation_sample_no"] == f"{number}-FJ"
    alert = client.get(f"/api/v1/scan/{code}").get_json()["alerts"][0]
    assert alert["kind"] == "held" and "作坊自检" in alert["reason"] and number in alert["reason"]
    assert "该批次产品已暂停销售" in client.get(f"/t/{code}").get_data(as_text=True)

    # the confirmation belongs to the inspection alliance's laboratory
    task = client.get(f"/api/v1/samples/{number}-FJ", headers=shop.inspector_headers).get_json()
    assert task["task_source"] == "alliance" and task["kind"] == "lab"
    assert task["confirms_sample_no"] == number
    release = f"/api/v1/batches/{batch.batch_no}/release"
    early = client.post(release, json={"reason": "放行"}, headers=shop.regulator_headers)
    refused(early, 409, "awaiting_lab_confirmation")
    lab = client.post(
        f"/api/v1/samples/{number}-FJ/results",
        json={"results": [{"item_code": "benzoic_acid", "method": "GB 5009.28", "value": "0"}]},
        headers=shop.inspector_headers,
    )
    assert lab.status_code == 201 and lab.get_json()["results"][0]["verdict"] == "pass"
    released = client.post(
        release, json={"reason": "实验室复检合格"}, headers=shop.regulator_headers
    )
    assert released.status_code == 200 and released.get_json()["state"] == "released"
    assert client.get(f"/api/v1/scan/{code}").get_json()["alerts"] == []


def test_results_may_follow_the_sample(client, db, site):
    shop, batch, _n, _code = site
    created = client.post(url(shop), json=body(batch), headers=shop.owner_headers)
    assert created.status_code == 201, created.get_data(as_text=True)
    number = created.get_json()["sample"]["sample_no"]
    assert created.get_json()["results"] == []
    assert created.get_json()["sample"]["status"] == "collected"
    results = f"/api/v1/samples/{number}/results"
    reading = {"results": [NEGATIVE]}
    before = counts(db)
    for who, error in (
        (shop.inspector_headers, "self_check_operators_only"),
        (shop.regulator_headers, "self_check_operators_only"),
        (shop.other_headers, "not_your_workshop"),
    ):
        refused(client.post(results, json=reading, headers=who), 403, error)
    assert counts(db) == before
    added = client.post(results, json=reading, headers=shop.staff_headers)
    assert added.status_code == 201, added.get_data(as_text=True)
    assert added.get_json()["sample"]["status"] == "completed"
    report = f"/api/v1/samples/{number}/report"
    for who in (shop.inspector_headers, shop.other_headers):
        denied = client.post(
            report,
            data={"file": (io.BytesIO(PDF), "r.pdf")},
            content_type="multipart/form-data",
            headers=who,
        )
        assert denied.status_code == 403
    attached = client.post(
        report,
        data={"file": (io.BytesIO(PDF), "自检记录.pdf")},
        content_type="multipart/form-data",
        headers=shop.owner_headers,
    )
    assert attached.status_code == 201, attached.get_data(as_text=True)


def test_a_retried_post_records_once(client, db, site):
    shop, batch, _n, _code = site
    headers = {**shop.owner_headers, "Idempotency-Key": "self-check-1"}
    sent = body(batch, NEGATIVE)  # a retry resends the same body (times and all)
    first = client.post(url(shop), json=sent, headers=headers)
    again = client.post(url(shop), json=sent, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert first.get_json()["sample"]["sample_no"] == again.get_json()["sample"]["sample_no"]
    assert (
        db.session.scalar(
            select(func.count(Sample.id)).where(Sample.task_source == TaskSource.SELF_CHECK)
        )
        == 1
    )


# -- crossings ---------------------------------------------------------------------------------


def test_only_the_workshops_operators_record_its_self_checks(client, db, site):
    shop, batch, neighbours, _code = site
    before = counts(db)
    for headers, error in (
        (shop.inspector_headers, "self_check_operators_only"),
        (shop.regulator_headers, "self_check_operators_only"),
        (shop.other_headers, "not_your_workshop"),
    ):
        refused(client.post(url(shop), json=body(batch, POSITIVE), headers=headers), 403, error)
    # an owner posting to the neighbour's workshop, or naming the neighbour's batch
    refused(
        client.post(
            url(shop, shop.other.id), json=body(neighbours, POSITIVE), headers=shop.owner_headers
        ),
        403,
        "not_your_workshop",
    )
    answer = refused(
        client.post(url(shop), json=body(neighbours, POSITIVE), headers=shop.owner_headers),
        422,
        "batch_not_found",
    )
    assert "batch_no" in answer["errors"]
    assert counts(db) == before
    db.session.expire_all()
    assert batch.state is BatchState.RELEASED and neighbours.state is BatchState.DRAFT


def test_inspectors_may_not_claim_a_self_check(client, db, site):
    shop, batch, _n, _code = site
    before = counts(db)
    for headers in (shop.inspector_headers, shop.regulator_headers):
        answer = refused(
            client.post(
                "/api/v1/samples",
                json={
                    "kind": "rapid",
                    "batch_no": batch.batch_no,
                    "task_source": "self_check",
                    "testing_agency": "快检车",
                },
                headers=headers,
            ),
            422,
            "self_check_is_the_workshops",
        )
        assert "task_source" in answer["errors"] and "作坊自检" in answer["message"]
    assert counts(db) == before


@pytest.mark.parametrize(
    ("who", "extra", "status", "error"),
    [
        ("owner", {"task_source": "routine"}, 403, "inspectors_only"),
        ("owner", {"task_source": "district", "kind": "lab"}, 403, "inspectors_only"),
        ("owner", {"kind": "lab"}, 422, "self_check_rapid_only"),
        ("owner", {"batch_no": None, "product_id": "product"}, 422, "batch_no_needed"),
        ("neighbour", {}, 403, "not_your_workshop"),
        ("owner", {"batch_no": "neighbours"}, 403, "not_your_workshop"),
    ],
)
def test_operators_use_the_samples_endpoint_only_for_their_own_self_checks(
    client, db, site, who, extra, status, error
):
    shop, batch, neighbours, _code = site
    data = {
        "kind": "rapid",
        "batch_no": batch.batch_no,
        "task_source": "self_check",
        "sampled_at": now_iso(minutes=-10),
        **extra,
    }
    if data.get("product_id") == "product":
        data["product_id"] = shop.product.id
    if data.get("batch_no") == "neighbours":
        data["batch_no"] = neighbours.batch_no
    data = {k: v for k, v in data.items() if v is not None}
    headers = shop.owner_headers if who == "owner" else shop.other_headers
    before = counts(db)
    refused(client.post("/api/v1/samples", json=data, headers=headers), status, error)
    assert counts(db) == before


def test_the_samples_endpoint_takes_an_operators_own_self_check(client, db, site):
    shop, batch, _n, _code = site
    response = client.post(
        "/api/v1/samples",
        json={"kind": "rapid", "batch_no": batch.batch_no, "task_source": "self_check"},
        headers=shop.staff_headers,
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["testing_agency"] == "坊洋黑豆腐坊（作坊自检）"


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        (
            {"results": [{**NEGATIVE, "qualitative": None, "value": "abc"}]},
            422,
            "validation_failed",
        ),
        ({"results": [{**NEGATIVE, "verdict": "pass"}]}, 422, "validation_failed"),
        ({"kind": "lab"}, 422, "validation_failed"),  # not a field of a self-check
        ({"batch_no": ""}, 422, "validation_failed"),
        ({"batch_no": "NO-SUCH-BATCH"}, 422, "batch_not_found"),
        ({"sampled_at": "yesterday"}, 422, "validation_failed"),
        ({"sampled_at": now_iso(days=2)}, 422, "time_in_future"),
        ({"sampled_at": now_iso(days=-400)}, 422, "time_too_old"),
        ({"results": [{**NEGATIVE, "item_code": "unobtainium"}]}, 422, "no_standard_for_item"),
        ({"results": [{**NEGATIVE, "value": "-1", "qualitative": None}]}, 422, "negative_value"),
        ({"results": [NEGATIVE, NEGATIVE]}, 422, "duplicate_item"),
        (
            {"results": [{**NEGATIVE, "tested_at": now_iso(hours=-5)}]},
            422,
            "tested_before_sampled",
        ),
    ],
)
def test_bad_self_checks_are_refused_and_write_nothing(client, db, site, change, status, error):
    shop, batch, _n, _code = site
    before = counts(db)
    data = {**body(batch, NEGATIVE), **change}
    response = client.post(url(shop), json=data, headers=shop.owner_headers)
    refused(response, status, error)
    assert counts(db) == before
    db.session.expire_all()
    assert batch.state is BatchState.RELEASED


def test_a_bad_value_is_named_in_the_errors(client, db, site):
    shop, batch, _n, _code = site
    response = client.post(
        url(shop),
        json=body(batch, {**NEGATIVE, "qualitative": None, "value": "-0.5", "unit": "g/kg"}),
        headers=shop.owner_headers,
    )
    answer = refused(response, 422, "negative_value")
    assert answer["errors"] == {"results": {"0": {"value": ["negative"]}}}


# -- reading -----------------------------------------------------------------------------------


def test_the_workshops_self_checks_are_listed(client, db, site):
    shop, batch, _n, _code = site
    for _ in range(2):
        client.post(url(shop), json=body(batch, NEGATIVE), headers=shop.owner_headers)
    official = Sample(
        sample_no="CJ-OFFICIAL-1",
        kind=TestKind.LAB,
        workshop_id=shop.workshop.id,
        product_id=shop.product.id,
        batch_id=batch.id,
        task_source=TaskSource.DISTRICT,
        sampled_at=utcnow() - timedelta(hours=3),
        testing_agency="半星红酒厂实验室",
    )
    db.session.add(official)
    db.session.flush()
    for headers in (shop.owner_headers, shop.staff_headers, shop.inspector_headers):
        listed = client.get(url(shop), headers=headers)
        assert listed.status_code == 200, listed.get_data(as_text=True)
        answer = listed.get_json()
        assert answer["total"] == 2 and len(answer["items"]) == 2
        assert {i["task_source"] for i in answer["items"]} == {"self_check"}
        assert answer["items"][0]["results"][0]["verdict"] == "pass"
    paged = client.get(f"{url(shop)}?per_page=1&page=2", headers=shop.regulator_headers)
    assert paged.get_json()["page"] == 2 and len(paged.get_json()["items"]) == 1
    refused(client.get(url(shop), headers=shop.other_headers), 403, "not_your_workshop")
    refused(client.get(url(shop, 99999), headers=shop.regulator_headers), 404, "workshop_not_found")
    refused(client.get(url(shop, 2**40), headers=shop.regulator_headers), 404, "workshop_not_found")
    refused(client.get(url(shop)), 401, "token_missing")
    refused(
        client.get(f"{url(shop)}?per_page=1000", headers=shop.owner_headers),
        422,
        "validation_failed",
    )


def test_the_endpoints_are_documented(client, db):
    spec = client.get("/api/v1/openapi.json").get_json()
    path = spec["paths"]["/api/v1/workshops/{workshop_id}/self-checks"]
    assert {"get", "post"} <= set(path)
