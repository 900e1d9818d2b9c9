"""Who may do what in the samples API, action by action and role by role."""

from io import BytesIO

import pytest

from backend.batches.models import BatchState
from backend.samples.models import Sample
from tests.samples.api.calls import PDF, assert_error_shape, counts, post_results, post_sample

ROLES = ["anonymous", "operator", "other_operator", "inspector", "regulator"]


def _request(client, db, site, role, action):
    headers = site.headers[role]
    batch = f"/api/v1/batches/{site.batch.batch_no}"
    if action == "record sample":
        return post_sample(client, site, role)
    if action == "record results":
        return post_results(
            client, site, "CJ-1", [{"item_code": "lead", "method": "m", "value": 0.1}], role
        )
    if action == "read sample":
        return client.get("/api/v1/samples/CJ-1", headers=headers)
    if action == "read batch results":
        return client.get(f"{batch}/results", headers=headers)
    if action == "attach report":
        return client.post(
            "/api/v1/samples/CJ-1/report",
            data={"file": (BytesIO(PDF), "r.pdf")},
            content_type="multipart/form-data",
            headers=headers,
        )
    if action in ("hold", "recall"):
        return client.post(f"{batch}/{action}", json={"reason": "核查"}, headers=headers)
    if action == "release":
        site.batch.state = BatchState.HELD
        db.session.flush()
        return client.post(f"{batch}/release", json={"reason": "核查无误"}, headers=headers)
    if action == "publish":
        return client.post("/api/v1/samples/CJ-1/publish", headers=headers)
    if action == "announcements":
        return client.get("/api/v1/announcements", headers=headers)
    raise AssertionError(action)


ALLOWED = {
    "record sample": {"inspector": 201, "regulator": 201},
    "record results": {"inspector": 201, "regulator": 201},
    "attach report": {"inspector": 201, "regulator": 201},
    "read sample": {"operator": 200, "inspector": 200, "regulator": 200},
    "read batch results": {"operator": 200, "inspector": 200, "regulator": 200},
    "hold": {"regulator": 200},
    "release": {"regulator": 200},
    "recall": {"regulator": 200},
    "publish": {"regulator": 200},
    "announcements": dict.fromkeys(ROLES, 200),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(ALLOWED))
def test_permission_matrix(client, db, site, completed, action, role):
    before = counts(db)
    state = site.batch.state if action != "release" else BatchState.HELD
    response = _request(client, db, site, role, action)
    expected = ALLOWED[action].get(role, 401 if role == "anonymous" else 403)
    if expected >= 400:
        assert_error_shape(response, expected)
        db.session.expire_all()
        assert counts(db) == before  # a refusal changes nothing
        assert site.batch.state is state
        assert db.session.get(Sample, completed.id).published_at is None
    else:
        assert response.status_code == expected, response.get_data(as_text=True)


def test_operators_see_their_own_samples_only(client, db, site):
    own = client.get("/api/v1/samples/CJ-1", headers=site.headers["operator"])
    assert own.status_code == 200 and own.get_json()["results"][0]["item_code"] == "lead"
    other = client.get("/api/v1/samples/CJ-1", headers=site.headers["other_operator"])
    assert assert_error_shape(other, 403)["error"] == "not_your_workshop"
    mine = post_sample(client, site, "operator", task_source="routine")
    assert assert_error_shape(mine, 403)["error"] == "inspectors_only"
