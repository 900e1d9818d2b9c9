"""Bad samples, results and reasons are refused in the one error shape, and change nothing."""

import pytest

from backend.batches.models import BatchState
from tests.samples.api.calls import (
    assert_error_shape,
    counts,
    positive,
    post_results,
    post_sample,
)

MISSING = object()


@pytest.mark.parametrize(
    ("change", "status", "slug"),
    [
        ({"kind": MISSING}, 422, "validation_failed"),
        ({"kind": None}, 422, "validation_failed"),
        ({"kind": "visual"}, 422, "validation_failed"),
        ({"kind": 1}, 422, "validation_failed"),
        ({"colour": "red"}, 422, "validation_failed"),  # unknown field
        ({"product_id": "3"}, 422, "validation_failed"),  # strings are not ids
        ({"product_id": 10**12}, 422, "validation_failed"),
        ({"product_id": True}, 422, "validation_failed"),
        ({"sampled_at": "tomorrow"}, 422, "validation_failed"),
        ({"sampled_at": "2099-01-01T10:00:00+08:00"}, 422, "time_in_future"),
        ({"sampled_at": "2019-01-01T10:00:00+08:00"}, 422, "time_too_old"),
        ({"sample_no": "KJ 1/2"}, 422, "bad_sample_no"),
        ({"sample_no": "X" * 37}, 422, "validation_failed"),
        ({"task_source": "household"}, 422, "validation_failed"),
        ({"task_source": MISSING}, 422, "task_source_needed"),
        ({"testing_agency": ""}, 422, "validation_failed"),
        ({"testing_agency": MISSING}, 422, "testing_agency_needed"),
        ({"batch_no": MISSING}, 422, "batch_or_product_needed"),
        ({"batch_no": "NO-SUCH-BATCH"}, 404, "batch_not_found"),
        ({"batch_no": MISSING, "product_id": 999999}, 404, "product_not_found"),
        ({"plan_id": 999999}, 404, "plan_not_found"),
    ],
)
def test_bad_samples_are_refused(client, db, site, change, status, slug):
    before = counts(db)
    body = {
        "kind": "rapid",
        "batch_no": site.batch.batch_no,
        "task_source": "routine",
        "testing_agency": "快检车",
        **change,
    }
    body = {key: value for key, value in body.items() if value is not MISSING}
    response = client.post("/api/v1/samples", json=body, headers=site.headers["inspector"])
    assert assert_error_shape(response, status)["error"] == slug
    assert counts(db) == before


def test_bodies_that_are_not_objects_are_refused(client, db, site):
    headers = site.headers["inspector"]
    for data, content_type in [("[1, 2]", "application/json"), ("{not json", "application/json")]:
        response = client.post(
            "/api/v1/samples", data=data, content_type=content_type, headers=headers
        )
        assert response.status_code in (400, 422)
        assert_error_shape(response, response.status_code)


@pytest.mark.parametrize(
    ("item", "status", "where"),
    [
        ({"item_code": "lead", "method": "m", "value": True}, 422, "value"),
        ({"item_code": "lead", "method": "m", "value": "abc"}, 422, "value"),
        ({"item_code": "lead", "method": "m", "value": "NaN"}, 422, "value"),
        ({"item_code": "lead", "method": "m", "value": -1}, 422, "negative_value"),
        ({"item_code": "lead", "method": "m", "value": 1e9}, 422, "absurd_value"),
        ({"item_code": "lead", "method": "m", "value": "1e-9"}, 422, "too_many_places"),
        ({"item_code": "lead", "method": "m", "qualitative": "maybe"}, 422, "qualitative"),
        ({"item_code": "lead", "method": "m"}, 422, "reading_missing"),
        ({"item_code": "lead", "value": 0.1}, 422, "method"),
        ({"item_code": "melamine", "method": "m", "value": 0}, 422, "no_standard_for_item"),
        ({"item_code": "lead", "method": "m", "value": 0.1, "note": "x"}, 422, "note"),
        (
            {"item_code": "lead", "method": "m", "value": 0.1, "tested_at": "2099-01-01"},
            422,
            "time_in_future",
        ),
        (
            {"item_code": "lead", "method": "m", "value": 0.1, "supersedes_id": 10**10},
            422,
            "supersedes_id",
        ),
        (
            {"item_code": "lead", "method": "m", "value": 0.1, "supersedes_id": 999999},
            422,
            "superseded_not_found",
        ),
    ],
)
def test_a_bad_item_refuses_the_whole_post(client, db, site, item, status, where):
    sample_no = post_sample(client, site).get_json()["sample_no"]
    before = counts(db)
    response = post_results(client, site, sample_no, [positive(), item])
    body = assert_error_shape(response, status)
    if body["error"] == "validation_failed":  # refused by the schema: the field is named
        assert where in body["errors"]["json"]["results"]["1"]
    else:
        assert body["error"] == where and "1" in body["errors"]["results"]
    db.session.expire_all()
    assert counts(db) == before and site.batch.state is BatchState.RELEASED
    scan = client.get(f"/api/v1/scan/{site.codes[0]}").get_json()
    assert scan["alerts"] == []  # the positive item in the refused post held nothing


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"results": []},
        {"results": "lead"},
        {"results": [positive()] * 51},
        {"results": [positive()], "complete": "maybe"},
    ],
)
def test_result_posts_need_one_to_fifty_items(client, db, site, body):
    sample_no = post_sample(client, site).get_json()["sample_no"]
    response = client.post(
        f"/api/v1/samples/{sample_no}/results", json=body, headers=site.headers["inspector"]
    )
    assert_error_shape(response, 422)


def test_unknown_samples_and_batches_are_404(client, db, site):
    headers = site.headers["regulator"]
    for method, url in [
        ("get", "/api/v1/samples/NO-SUCH"),
        ("get", "/api/v1/samples/%E4%B8%80"),
        ("post", "/api/v1/samples/NO-SUCH/publish"),
        ("get", "/api/v1/samples/NO-SUCH/report"),
        ("get", "/api/v1/batches/NO-SUCH/results"),
    ]:
        assert_error_shape(getattr(client, method)(url, headers=headers), 404)
    missing = post_results(client, site, "NO-SUCH", [positive()])
    assert assert_error_shape(missing, 404)["error"] == "sample_not_found"
    for action in ("hold", "release", "recall"):
        response = client.post(
            f"/api/v1/batches/NO-SUCH/{action}", json={"reason": "x"}, headers=headers
        )
        assert assert_error_shape(response, 404)["error"] == "batch_not_found"


@pytest.mark.parametrize(
    "body",
    [{}, {"reason": ""}, {"reason": 5}, {"reason": "x", "force": True}, {"reason": "x" * 501}],
)
def test_regulator_actions_need_a_reason(client, db, site, body):
    response = client.post(
        f"/api/v1/batches/{site.batch.batch_no}/recall",
        json=body,
        headers=site.headers["regulator"],
    )
    assert_error_shape(response, 422)
    assert site.batch.state is BatchState.RELEASED


def test_state_conflicts_are_409(client, db, site):
    url = f"/api/v1/batches/{site.batch.batch_no}"
    headers = site.headers["regulator"]
    released = client.post(f"{url}/release", json={"reason": "x"}, headers=headers)
    assert assert_error_shape(released, 409)["error"] == "batch_state_conflict"
    assert client.post(f"{url}/recall", json={"reason": "召回"}, headers=headers).status_code == 200
    again = client.post(f"{url}/hold", json={"reason": "x"}, headers=headers)
    assert assert_error_shape(again, 409)["error"] == "batch_state_conflict"
