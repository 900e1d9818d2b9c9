"""The one error format, the health check, the OpenAPI document and the home page."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from backend import create_app
from backend.extensions import db as _db
from backend.models import Zone
from tests.conftest import make_config
from tests.factories import BrandFactory, ZoneFactory

ERROR_KEYS = {"code", "status", "error", "message", "errors"}


def html_lang(body: str) -> str:
    """The lang attribute of a page's <html> element."""
    match = re.search(r'<html lang="([^"]+)"', body)
    assert match, body[:200]
    return match.group(1)


def test_unknown_api_path_is_a_json_404(client):
    response = client.get("/api/v1/nope")
    assert response.status_code == 404
    assert response.is_json
    body = response.get_json()
    assert set(body) == ERROR_KEYS
    assert body["code"] == 404
    assert body["status"] == "Not Found"
    assert body["error"] == "not_found"
    assert body["message"]
    assert body["errors"] == {}


def test_unknown_zone_is_a_json_404_with_its_own_slug(client):
    response = client.get("/api/v1/zones/unknown")
    assert response.status_code == 404
    body = response.get_json()
    assert set(body) == ERROR_KEYS
    assert body["error"] == "zone_not_found"
    assert "unknown" in body["message"]


def test_known_zone_is_served(client):
    zone = ZoneFactory(code="banli")
    BrandFactory(zone=zone, code="banli-red", name_zh="半里红")
    response = client.get("/api/v1/zones/banli")
    assert response.status_code == 200
    body = response.get_json()
    assert body["code"] == "banli"
    assert [brand["name_zh"] for brand in body["brands"]] == ["半里红"]


def test_wrong_method_is_a_json_405_with_allow(client):
    response = client.post("/api/v1/zones", json={})
    assert response.status_code == 405
    body = response.get_json()
    assert set(body) == ERROR_KEYS
    assert body["error"] == "method_not_allowed"
    allowed = {method.strip() for method in response.headers["Allow"].split(",")}
    assert "GET" in allowed
    assert "POST" not in allowed


def test_unknown_page_is_an_html_404(client):
    response = client.get("/nope")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert not response.is_json
    page = response.get_data(as_text=True)
    assert "未找到" in page
    assert '"error"' not in page
    assert html_lang(page) == "zh-CN"


def test_healthz_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_is_503_when_the_database_is_unreachable(client, db, monkeypatch):
    def unreachable(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    monkeypatch.setattr(db.session, "execute", unreachable)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": "unreachable"}


def test_openapi_document_lists_the_api(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    assert "/api/v1/zones" in document["paths"]
    assert "/api/v1/zones/{code}" in document["paths"]
    assert document["paths"]["/api/v1/zones"]["get"]["summary"]


@pytest.fixture()
def fresh_app(database_url):
    """A new app (routes may still be added to it); its connections are closed afterwards."""
    application = create_app(make_config(database_url))
    yield application
    with application.app_context():
        _db.session.remove()
        _db.engine.dispose()


@pytest.mark.parametrize(
    ("path", "json_expected"), [("/api/v1/boom", True), ("/boom", False)], ids=["api", "page"]
)
def test_unexpected_exception_is_a_500_without_traceback(fresh_app, path, json_expected, caplog):
    def boom():
        raise RuntimeError("secret internals")

    fresh_app.add_url_rule(path, "boom", boom)
    response = fresh_app.test_client().get(path)

    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "Traceback" not in text
    assert "secret internals" not in text
    assert "RuntimeError" not in text
    if json_expected:
        body = response.get_json()
        assert set(body) == ERROR_KEYS
        assert body["code"] == 500
        assert body["error"] == "internal_server_error"
        assert body["status"] == "Internal Server Error"
    else:
        assert response.mimetype == "text/html"
        assert "500" in text
    # The trace goes to the log, not to the client.
    assert any(record.exc_info for record in caplog.records if record.levelname == "ERROR")


def test_home_page_without_data(client, db):
    assert db.session.scalar(select(func.count(Zone.id))) == 0
    response = client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "尚无数据" in response.get_data(as_text=True)


def test_home_page_shows_a_zone(client):
    ZoneFactory(name_zh="半里食品小作坊集中加工区")
    page = client.get("/").get_data(as_text=True)
    assert "半里食品小作坊集中加工区" in page
    assert "尚无数据" not in page


@pytest.mark.parametrize(
    ("query", "headers", "lang"),
    [
        ("", {}, "zh-CN"),
        ("?lang=en", {}, "en"),
        ("?lang=zh_CN", {"Accept-Language": "en"}, "zh-CN"),
        ("", {"Accept-Language": "en"}, "en"),
        ("", {"Accept-Language": "fr"}, "zh-CN"),
    ],
)
def test_home_page_language(client, query, headers, lang):
    response = client.get(f"/{query}", headers=headers)
    assert response.status_code == 200
    assert html_lang(response.get_data(as_text=True)) == lang


def test_english_is_available_where_translated(client):
    page = client.get("/nope?lang=en").get_data(as_text=True)
    assert "We could not find what you asked for." in page
    chinese = client.get("/nope").get_data(as_text=True)
    assert "未找到您要的内容" in chinese
    api = client.get("/api/v1/nope", headers={"Accept-Language": "en"}).get_json()
    assert api["message"] == "We could not find what you asked for."
