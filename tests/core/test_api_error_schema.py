"""The OpenAPI document describes the error body /api/v1 really sends, slug included.

The mini-program's API client reads ``error`` (the stable slug) from every refusal, and its
contract test checks the fields it reads against the document, so the documented Error
schema must list every key of a real error answer.
"""

from __future__ import annotations

API = "/api/v1"
KEYS = {"code", "status", "error", "message", "errors"}


def test_the_error_schema_documents_the_slug(client, db):
    """The Error component lists code, status, error, message and errors."""
    document = client.get(f"{API}/openapi.json").get_json()
    schema = document["components"]["schemas"]["Error"]
    assert set(schema["properties"]) == KEYS
    assert schema["properties"]["error"]["type"] == "string"


def test_real_errors_answer_the_documented_keys(client, db):
    """A 422 (malformed code), a 401 (no token) and a 422 (empty complaint) carry the slug."""
    answers = [
        client.get(f"{API}/scan/0000000000000000X"),
        client.get(f"{API}/me"),
        client.post(f"{API}/complaints", json={"content": ""}),
    ]
    for response in answers:
        body = response.get_json()
        assert response.status_code in (401, 404, 422)
        assert set(body) == KEYS
        assert isinstance(body["error"], str) and body["error"]
