"""The trace API (/api/v1/trace/…): regulators trace both ways and export EPCIS; bad input gets
the one error shape, never a 500. Refusals of everyone else are in the authorization matrix."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft7Validator, FormatChecker
from sqlalchemy import select

from backend.accounts.models import Role
from backend.accounts.tokens import issue_token
from backend.codes.models import UnitCode
from backend.trace import epcis
from tests.factories import UserFactory
from tests.support.trace_chain import chain_fixture  # noqa: F401  (the `chain` fixture)

SCHEMA = json.loads((epcis.SCHEMA_DIR / "EPCIS-JSON-Schema.json").read_text("utf-8"))


@pytest.fixture()
def regulator(db):
    return {"Authorization": f"Bearer {issue_token(UserFactory(role=Role.REGULATOR))}"}


def test_backward_by_batch_and_by_code(client, db, chain, regulator):
    body = client.get("/api/v1/trace/backward?batch=FY-20261106-01", headers=regulator).get_json()
    assert {lot["lot_no"] for lot in body["lots"]} == {"HD-1", "HD-2"}
    assert {s["name"] for s in body["suppliers"]} == {"长泰黑豆合作社"}
    code = db.session.scalar(select(UnitCode.code).where(UnitCode.batch_id == chain.tofu_a.id))
    body = client.get(f"/api/v1/trace/backward?code={code}", headers=regulator).get_json()
    assert {lot["lot_no"] for lot in body["lots"]} == {"HD-1", "LS-1"}


def test_forward_by_lot_and_by_supplier(client, chain, regulator):
    body = client.get(f"/api/v1/trace/forward?lot={chain.bean_lot.id}", headers=regulator)
    body = body.get_json()
    assert {b["batch_no"] for b in body["batches"]} == {"FY-20261105-01", "FY-20261106-01"}
    assert {b["name"] for b in body["buyers"]} == {"岩溪镇便民超市", "长泰一中食堂", "武安农贸市场"}
    assert body["code_total"] == 5
    body = client.get(f"/api/v1/trace/forward?supplier={chain.salt.id}", headers=regulator)
    assert {b["batch_no"] for b in body.get_json()["batches"]} == {"FY-20261105-01"}


def test_epcis_document_validates(client, chain, regulator):
    response = client.get("/api/v1/trace/epcis?batch=FY-20261105-01", headers=regulator)
    assert response.status_code == 200
    assert response.mimetype == "application/ld+json"
    document = json.loads(response.get_data(as_text=True))
    validator = Draft7Validator(SCHEMA, format_checker=FormatChecker())
    assert [e.message for e in validator.iter_errors(document)] == []


@pytest.mark.parametrize(
    ("path", "status", "slug"),
    [
        ("/api/v1/trace/backward?batch=NO-SUCH", 404, "batch_not_found"),
        ("/api/v1/trace/backward", 422, None),
        ("/api/v1/trace/backward?batch=A&code=B", 422, None),
        ("/api/v1/trace/backward?code=not-a-code", 422, None),
        ("/api/v1/trace/backward?batch=" + "x" * 41, 422, None),
        ("/api/v1/trace/forward?lot=abc", 422, None),
        ("/api/v1/trace/forward?lot=0", 422, None),
        ("/api/v1/trace/forward?lot=99999999", 404, "lot_not_found"),
        ("/api/v1/trace/forward?supplier=99999999", 404, "supplier_not_found"),
        ("/api/v1/trace/forward?lot=1&supplier=1", 422, None),
        ("/api/v1/trace/epcis", 422, None),
        ("/api/v1/trace/epcis?batch=NO-SUCH", 404, "batch_not_found"),
    ],
)
def test_bad_input(client, chain, regulator, path, status, slug):
    response = client.get(path, headers=regulator)
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"code", "status", "error", "message", "errors"}
    if slug:
        assert body["error"] == slug
