"""The quality API: inspectors post samples and results from phones, regulators hold, release,
recall and publish, anyone reads the announcement; consumers see holds and recalls at once."""

from datetime import timedelta
from io import BytesIO

import pytest
from sqlalchemy import func, select

from backend.accounts.models import MemberRole
from backend.accounts.tokens import issue_token
from backend.batches.models import BatchState, BatchStateChange
from backend.core.time import utcnow
from backend.files.models import StoredFile
from backend.samples.models import Sample, SampleStatus, TestResult
from tests.factories import (
    InspectorFactory,
    RegulatorFactory,
    UserFactory,
    WorkshopMembershipFactory,
)

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def bearer(user) -> dict:
    return {"Authorization": f"Bearer {issue_token(user)}"}


@pytest.fixture()
def uploads(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))


@pytest.fixture()
def site(db, wine, uploads):
    """The wine batch, and a token for each kind of caller."""
    batch, codes = wine
    owner = UserFactory()
    WorkshopMembershipFactory(user=owner, workshop_id=batch.workshop_id, role=MemberRole.OWNER)
    stranger = UserFactory()
    WorkshopMembershipFactory(user=stranger, role=MemberRole.OWNER)

    class Site:
        pass

    site = Site()
    site.batch, site.codes = batch, codes
    site.headers = {
        "anonymous": {},
        "operator": bearer(owner),
        "other_operator": bearer(stranger),
        "inspector": bearer(InspectorFactory()),
        "regulator": bearer(RegulatorFactory()),
    }
    return site


def ago(**kwargs) -> str:
    return (utcnow() - timedelta(**kwargs)).isoformat()


def post_sample(client, site, role="inspector", **body):
    body = {
        "kind": "rapid",
        "batch_no": site.batch.batch_no,
        "task_source": "routine",
        "testing_agency": "快检车",
        "station": "快检车 KJC-03",
        "sampled_at": ago(hours=2),
        **body,
    }
    return client.post("/api/v1/samples", json=body, headers=site.headers[role])


def post_results(client, site, sample_no, results, role="inspector", **extra):
    return client.post(
        f"/api/v1/samples/{sample_no}/results",
        json={"results": results, **extra},
        headers=site.headers[role],
    )


def positive(item="benzoic_acid"):
    return {"item_code": item, "method": "胶体金法", "qualitative": "positive"}


def assert_error_shape(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"code", "status", "error", "message", "errors"}
    assert body["code"] == status and body["message"]
    return body


def counts(db):
    return (
        db.session.scalar(select(func.count(Sample.id))),
        db.session.scalar(select(func.count(TestResult.id))),
        db.session.scalar(select(func.count(BatchStateChange.id))),
    )


# -- what the issue must show ------------------------------------------------------------


def test_a_rapid_positive_holds_the_batch_and_a_lab_fail_plus_recall_shows_recalled(
    client, db, site
):
    code = site.codes[0]
    assert client.get(f"/api/v1/scan/{code}").get_json()["alerts"] == []  # view now cached
    assert "该批次产品已暂停销售" not in client.get(f"/t/{code}").get_data(as_text=True)

    created = post_sample(client, site)
    assert created.status_code == 201, created.get_data(as_text=True)
    rapid_no = created.get_json()["sample_no"]
    screened = post_results(client, site, rapid_no, [positive()])
    assert screened.status_code == 201, screened.get_data(as_text=True)
    body = screened.get_json()
    assert body["results"][0]["verdict"] == "positive_screen"
    assert body["held"] is True and body["batch"]["state"] == "held"
    assert body["confirmation_sample_no"] == f"{rapid_no}-FJ"

    view = client.get(f"/api/v1/scan/{code}").get_json()
    alert = view["alerts"][0]
    assert (alert["kind"], alert["level"]) == ("held", "danger")
    assert rapid_no in alert["reason"] and "等待实验室确认" in alert["reason"]
    assert view["batch"]["state"] == "held"
    assert any(t["verdict"] == "positive_screen" for t in view["tests"])
    page = client.get(f"/t/{code}").get_data(as_text=True)
    assert page.index("已暂控") < page.index("半里红曲酒</h1>")  # the status panel first
    assert "该批次产品已暂停销售" in page
    assert rapid_no in page

    task = client.get(f"/api/v1/samples/{rapid_no}-FJ", headers=site.headers["inspector"])
    assert task.get_json()["confirms_sample_no"] == rapid_no
    assert task.get_json()["status"] == "collected" and task.get_json()["kind"] == "lab"
    failed = post_results(
        client,
        site,
        f"{rapid_no}-FJ",
        [{"item_code": "benzoic_acid", "method": "GB 5009.28", "value": 0.12, "unit": "g/kg"}],
    )
    assert failed.status_code == 201, failed.get_data(as_text=True)
    assert failed.get_json()["results"][0]["verdict"] == "fail"
    assert failed.get_json()["results"][0]["confirms_id"] == body["results"][0]["id"]
    assert failed.get_json()["recall_recommended"] is True

    url = f"/api/v1/batches/{site.batch.batch_no}"
    refused = client.post(
        f"{url}/release", json={"reason": "放行"}, headers=site.headers["regulator"]
    )
    assert assert_error_shape(refused, 409)["error"] == "lab_fail_stands"
    inspector = client.post(
        f"{url}/recall", json={"reason": "召回"}, headers=site.headers["inspector"]
    )
    assert assert_error_shape(inspector, 403)["error"] == "regulators_only"
    recalled = client.post(
        f"{url}/recall",
        json={"reason": "实验室确认苯甲酸不合格，召回。"},
        headers=site.headers["regulator"],
    )
    assert recalled.status_code == 200 and recalled.get_json()["state"] == "recalled"

    view = client.get(f"/api/v1/scan/{code}").get_json()
    assert view["alerts"][0]["kind"] == "recalled"
    assert view["alerts"][0]["reason"] == "实验室确认苯甲酸不合格，召回。"
    page = client.get(f"/t/{code}").get_data(as_text=True)
    assert "已召回" in page
    assert page.index("已召回") < page.index("半里红曲酒</h1>")  # the status panel first
    assert "该批次产品已召回" in page
    english = client.get(f"/t/{code}?lang=en").get_data(as_text=True)
    assert "recalled" in english.lower()


def test_a_lab_pass_lets_the_regulator_release_and_the_scan_clears(client, db, site):
    code = site.codes[1]
    rapid_no = post_sample(client, site).get_json()["sample_no"]
    post_results(client, site, rapid_no, [positive()])
    url = f"/api/v1/batches/{site.batch.batch_no}/release"
    early = client.post(url, json={"reason": "放行"}, headers=site.headers["regulator"])
    assert assert_error_shape(early, 409)["error"] == "awaiting_lab_confirmation"
    passed = post_results(
        client,
        site,
        f"{rapid_no}-FJ",
        [{"item_code": "benzoic_acid", "method": "GB 5009.28", "value": "0"}],
    )
    assert passed.get_json()["results"][0]["verdict"] == "pass"
    quality = client.get(
        f"/api/v1/batches/{site.batch.batch_no}/results", headers=site.headers["regulator"]
    ).get_json()
    assert quality["releasable"] is True and quality["open_screens"] == []
    assert quality["batch"]["state"] == "held"
    released = client.post(
        url, json={"reason": "实验室复检合格，解除暂控。"}, headers=site.headers["regulator"]
    )
    assert released.status_code == 200 and released.get_json()["state"] == "released"
    assert client.get(f"/api/v1/scan/{code}").get_json()["alerts"] == []


def test_results_show_their_limit_and_whether_it_is_verified(client, db, site):
    response = client.get(
        f"/api/v1/batches/{site.batch.batch_no}/results", headers=site.headers["inspector"]
    )
    assert response.status_code == 200
    body = response.get_json()
    lead = body["results"][0]
    assert (lead["item_code"], lead["verdict"], lead["value"]) == ("lead", "pass", "0.05")
    assert lead["limit"]["verified"] is False  # GB 2762 lead for huangjiu: unverified
    assert lead["limit"]["text"] == "≤0.5 mg/kg" and lead["limit"]["standard"] == "GB 2762-2022"
    assert lead["superseded"] is False and lead["kind"] == "lab"
    assert body["recall_recommended"] is False and body["releasable"] is False


def test_a_verdict_cannot_be_typed(client, db, site):
    sample_no = post_sample(client, site).get_json()["sample_no"]
    typed = post_results(
        client,
        site,
        sample_no,
        [
            {
                "item_code": "benzoic_acid",
                "method": "胶体金法",
                "qualitative": "negative",
                "verdict": "pass",
            }
        ],
    )
    assert assert_error_shape(typed, 422)["errors"]["json"]["results"]["0"]["verdict"]


def test_a_correction_through_the_api(client, db, site):
    sample_no = post_sample(client, site).get_json()["sample_no"]
    first = post_results(client, site, sample_no, [positive()]).get_json()["results"][0]
    fixed = post_results(
        client,
        site,
        sample_no,
        [
            {
                "item_code": "benzoic_acid",
                "method": "胶体金法",
                "qualitative": "negative",
                "supersedes_id": first["id"],
                "action_taken": "试剂卡过期，重新检测",
            }
        ],
    )
    assert fixed.status_code == 201
    sample = client.get(f"/api/v1/samples/{sample_no}", headers=site.headers["inspector"])
    results = sample.get_json()["results"]
    assert [(r["verdict"], r["superseded"]) for r in results] == [
        ("positive_screen", True),
        ("pass", False),
    ]
    assert results[1]["supersedes_id"] == first["id"]


# -- permissions ---------------------------------------------------------------------------

ROLES = ["anonymous", "operator", "other_operator", "inspector", "regulator"]


@pytest.fixture()
def completed(db, site):
    """The fixture's lab sample, completed and with a report."""
    sample = db.session.scalar(select(Sample).where(Sample.sample_no == "CJ-1"))
    sample.status = SampleStatus.COMPLETED
    report = StoredFile(
        storage_key="reports/test/cj-1.pdf",
        filename="cj-1.pdf",
        content_type="application/pdf",
        size=0,
        sha256="0" * 64,
    )
    db.session.add(report)
    db.session.flush()
    sample.report_file_id = report.id
    db.session.flush()
    return sample


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


# -- bad input -----------------------------------------------------------------------------


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


# -- phones retry ------------------------------------------------------------------------


def test_a_retried_result_post_is_recorded_once(client, db, site):
    sample_no = post_sample(client, site).get_json()["sample_no"]
    headers = {**site.headers["inspector"], "Idempotency-Key": "kj-1"}
    url = f"/api/v1/samples/{sample_no}/results"
    first = client.post(url, json={"results": [positive()]}, headers=headers)
    again = client.post(url, json={"results": [positive()]}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert (
        len(client.get(f"/api/v1/samples/{sample_no}", headers=headers).get_json()["results"]) == 1
    )


# -- reports -------------------------------------------------------------------------------


def test_a_test_report_pdf_is_attached_and_downloaded(client, db, site):
    headers = site.headers["inspector"]
    sent = client.post(
        "/api/v1/samples/CJ-1/report",
        data={"file": (BytesIO(PDF), "检验报告.pdf")},
        content_type="multipart/form-data",
        headers=headers,
    )
    assert sent.status_code == 201, sent.get_data(as_text=True)
    report = sent.get_json()["report"]
    assert report["filename"] == "检验报告.pdf" and report["size"] == len(PDF)
    with client.get("/api/v1/samples/CJ-1/report", headers=site.headers["operator"]) as fetched:
        assert fetched.status_code == 200 and fetched.data == PDF
        assert fetched.mimetype == "application/pdf"
    other = client.get("/api/v1/samples/CJ-1/report", headers=site.headers["other_operator"])
    assert_error_shape(other, 403)


@pytest.mark.parametrize(
    "data",
    [
        {"file": (BytesIO(b"<html>hello</html>"), "report.pdf")},
        {"file": (BytesIO(b""), "empty.pdf")},
        {},
        {"file": (BytesIO(PDF), "r.pdf"), "note": "x"},
    ],
)
def test_anything_but_a_pdf_is_refused(client, db, site, data):
    response = client.post(
        "/api/v1/samples/CJ-1/report",
        data=data,
        content_type="multipart/form-data",
        headers=site.headers["inspector"],
    )
    if "note" in data:  # form fields are not read; the file alone counts
        assert response.status_code == 201
        return
    assert_error_shape(response, 422)
    assert db.session.scalar(select(func.count(StoredFile.id))) == 0


# -- publication ---------------------------------------------------------------------------


def test_published_results_appear_in_the_public_announcement(client, db, site, completed):
    empty = client.get("/api/v1/announcements").get_json()
    assert empty["rows"] == [] and "仅对所抽检样品的批次和检验项目负责" in empty["disclaimer"]
    published = client.post("/api/v1/samples/CJ-1/publish", headers=site.headers["regulator"])
    assert published.status_code == 200 and published.get_json()["published_at"]
    assert published.get_json()["published_at"].endswith("+08:00")
    body = client.get("/api/v1/announcements?year=2026").get_json()
    assert body["total"] == 1 and body["page"] == 1
    row = body["rows"][0]
    # Its only result (lead) was judged by an unverified limit: published without a verdict.
    assert row["number"] == "CJ-1" and row["conclusion"] == "pending"
    assert row["food_name"] == "半里红曲酒" and row["batch_no"] == site.batch.batch_no
    assert row["production_date"] == "2026-11-20" and row["failing_items"] == []
    assert row["task_source"]["code"] == "district"
    assert client.get("/api/v1/announcements?year=2025").get_json()["rows"] == []
    page_two = client.get("/api/v1/announcements?page=2&per_page=1").get_json()
    assert page_two["rows"] == [] and page_two["total"] == 1
    english = client.get("/api/v1/announcements?lang=en", headers={"Accept-Language": "en"})
    assert "sampled batch" in english.get_json()["disclaimer"]
    twice = client.post("/api/v1/samples/CJ-1/publish", headers=site.headers["regulator"])
    assert assert_error_shape(twice, 409)["error"] == "already_published"


@pytest.mark.parametrize(
    "query", ["year=abc", "year=1800", "page=0", "per_page=0", "per_page=1000"]
)
def test_bad_announcement_queries_are_refused(client, db, query):
    assert_error_shape(client.get(f"/api/v1/announcements?{query}"), 422)


def test_the_openapi_document_describes_every_view(client, db):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    views = {
        "/api/v1/samples": ["post"],
        "/api/v1/samples/{sample_no}": ["get"],
        "/api/v1/samples/{sample_no}/results": ["post"],
        "/api/v1/samples/{sample_no}/report": ["get", "post"],
        "/api/v1/samples/{sample_no}/publish": ["post"],
        "/api/v1/batches/{batch_no}/results": ["get"],
        "/api/v1/batches/{batch_no}/hold": ["post"],
        "/api/v1/batches/{batch_no}/release": ["post"],
        "/api/v1/batches/{batch_no}/recall": ["post"],
        "/api/v1/announcements": ["get"],
    }
    for path, methods in views.items():
        for method in methods:
            assert paths[path][method]["summary"], (path, method)


def test_errors_speak_english_when_asked(client, db, site):
    response = client.post(
        f"/api/v1/batches/{site.batch.batch_no}/recall?lang=en",
        json={"reason": "x"},
        headers=site.headers["inspector"],
    )
    assert assert_error_shape(response, 403)["message"] == "Only regulators may do this."
    sample_no = post_sample(client, site).get_json()["sample_no"]
    unknown = client.post(
        f"/api/v1/samples/{sample_no}/results?lang=en",
        json={"results": [{"item_code": "melamine", "method": "m", "value": 0}]},
        headers=site.headers["inspector"],
    )
    assert "standards table has no limit for test item melamine" in unknown.get_json()["message"]
