"""EPCIS 2.0 export: every document validates against GS1's official JSON Schema (vendored in
backend/trace/schemas/, with format checking), and says what happened to the batch."""

from __future__ import annotations

import copy
import json

import pytest
from jsonschema import Draft7Validator, FormatChecker

from backend.batches.models import BatchState
from backend.batches.states import change_state
from backend.trace import epcis
from tests.support.trace_chain import chain_fixture  # noqa: F401  (the `chain` fixture)

SCHEMA = json.loads((epcis.SCHEMA_DIR / "EPCIS-JSON-Schema.json").read_text("utf-8"))
CONTEXT = json.loads((epcis.SCHEMA_DIR / "epcis-context.jsonld").read_text("utf-8"))
VALIDATOR = Draft7Validator(SCHEMA, format_checker=FormatChecker())


def errors(document) -> list[str]:
    """Every schema error of *document*, as readable lines."""
    return [f"{list(e.path)}: {e.message}" for e in VALIDATOR.iter_errors(document)]


def assert_valid(document) -> None:
    """The document validates; also checks the ilmd names' prefixes (the schema does not)."""
    assert errors(document) == []
    prefixes = set(CONTEXT["@context"])
    for event in document["epcisBody"]["eventList"]:
        for name in event.get("ilmd", {}):
            assert name.split(":", 1)[0] in prefixes, name


def test_the_format_checker_is_really_checking():
    """Malformed times and URIs must fail (they pass silently without the format extras)."""
    assert "date-time" in FormatChecker.checkers and "uri" in FormatChecker.checkers
    assert not FormatChecker().conforms("2026-11-05 08:00", "date-time")
    assert not FormatChecker().conforms("not a uri", "uri")


def test_a_batch_document_validates_and_tells_its_story(app, chain):
    with app.test_request_context():
        document = epcis.batch_document(chain.tofu_a)
    assert_valid(document)
    events = document["epcisBody"]["eventList"]
    kinds = [(e["type"], e.get("bizStep")) for e in events]
    assert kinds.count(("ObjectEvent", "receiving")) == 2  # HD-1 and LS-1
    assert kinds.count(("TransformationEvent", "commissioning")) == 1
    assert kinds.count(("ObjectEvent", "commissioning")) == 1
    assert kinds.count(("ObjectEvent", "shipping")) == 2
    assert kinds.count(("ObjectEvent", "inspecting")) == 1
    transformation = next(e for e in events if e["type"] == "TransformationEvent")
    assert len(transformation["inputQuantityList"]) == 2
    assert transformation["outputQuantityList"][0]["epcClass"] == (
        "https://yipin.test/01/06941234567027/10/FY-20261105-01"
    )
    assert transformation["ilmd"]["cbvmda:lotNumber"] == "FY-20261105-01"
    assert any("/id/sample/CJ-TOFU-1" in uri for uri in transformation["certificationInfo"])
    assert any("/id/inspection/" in uri for uri in transformation["certificationInfo"])
    commissioning = next(
        e for e in events if e.get("bizStep") == "commissioning" and "epcList" in e
    )
    assert len(commissioning["epcList"]) == 3
    assert all(
        uri.startswith("https://yipin.test/01/06941234567027/10/FY-20261105-01/21/")
        for uri in commissioning["epcList"]
    )
    inspecting = next(e for e in events if e.get("bizStep") == "inspecting")
    assert inspecting["disposition"] == "conformant"
    shipping = [e for e in events if e.get("bizStep") == "shipping"]
    assert {e["destinationList"][0]["destination"] for e in shipping} == {
        f"https://yipin.test/id/buyer/{chain.shop.id}",
        f"https://yipin.test/id/buyer/{chain.canteen.id}",
    }
    assert [e["eventTime"] for e in events] == sorted(e["eventTime"] for e in events)
    ids = [e["eventID"] for e in events]
    assert len(ids) == len(set(ids))


def test_a_product_without_gtin_uses_our_own_uris_and_a_recall_shows(app, db, chain):
    change_state(chain.other_batch, BatchState.RECALLED, reason="test")
    with app.test_request_context():
        document = epcis.batch_document(chain.other_batch)
    assert_valid(document)
    events = document["epcisBody"]["eventList"]
    commissioning = next(e for e in events if "epcList" in e)
    assert commissioning["epcList"][0].startswith("https://yipin.test/t/")
    assert events[-1]["disposition"] == "recalled"
    transformation = next(e for e in events if e["type"] == "TransformationEvent")
    assert transformation["outputQuantityList"][0]["epcClass"].endswith("/id/batch/GD-20261105-01")


def test_a_batch_without_inputs_or_codes_still_validates(app, db):
    from tests.factories import BatchFactory

    batch = BatchFactory(batch_no="EMPTY-1")
    with app.test_request_context():
        assert_valid(epcis.batch_document(batch))


@pytest.mark.parametrize(
    "spoil",
    [
        lambda d: d["epcisBody"]["eventList"][0].__setitem__("eventTime", "2026-11-05 08:00"),
        lambda d: d["epcisBody"]["eventList"][0].__setitem__("eventTimeZoneOffset", "+8"),
        lambda d: d["epcisBody"]["eventList"][0].__setitem__("bizStep", "baking"),
        lambda d: d["epcisBody"]["eventList"][0].__setitem__("eventID", "not a uri"),
        lambda d: d.pop("schemaVersion"),
    ],
)
def test_the_validation_would_catch_a_broken_document(app, chain, spoil):
    with app.test_request_context():
        document = copy.deepcopy(epcis.batch_document(chain.tofu_a))
    spoil(document)
    assert errors(document)


def test_units_map_to_unece_codes():
    assert epcis.quantity("urn:x", 2, "斤") == {"epcClass": "urn:x", "quantity": 1.0, "uom": "KGM"}
    assert epcis.quantity("urn:x", 3, "盒")["uom"] == "H87"
    assert "uom" not in epcis.quantity("urn:x", 3, "份")
    assert epcis.quantity("urn:x", None, "kg") == {"epcClass": "urn:x"}
