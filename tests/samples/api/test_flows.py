"""What the issue must show over the API: inspectors post samples and results from phones,
regulators hold, release and recall, consumers see it at once; a retried post, the
OpenAPI document and English errors."""

from tests.samples.api.calls import assert_error_shape, positive, post_results, post_sample


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
