"""Publishing a lab sample and the public announcement over the API."""

import pytest

from tests.samples.api.calls import assert_error_shape


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
