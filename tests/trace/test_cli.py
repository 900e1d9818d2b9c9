"""`flask --app backend trace backward|forward|report` and `flask --app backend epcis export`."""

from __future__ import annotations

import json

from jsonschema import Draft7Validator, FormatChecker
from openpyxl import load_workbook

from backend.trace import epcis
from tests.support.trace_chain import chain_fixture  # noqa: F401  (the `chain` fixture)

SCHEMA = json.loads((epcis.SCHEMA_DIR / "EPCIS-JSON-Schema.json").read_text("utf-8"))


def test_backward_and_forward(runner, chain):
    result = runner.invoke(args=["trace", "backward", "--batch", "FY-20261106-01"])
    assert result.exit_code == 0, result.output
    lots = {line.split("\t")[2] for line in result.output.splitlines() if line.startswith("lot\t")}
    assert lots == {"HD-1", "HD-2"}
    result = runner.invoke(args=["trace", "forward", "--lot", str(chain.bean_lot.id), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {b["batch_no"] for b in data["batches"]} == {"FY-20261105-01", "FY-20261106-01"}
    assert {b["name"] for b in data["buyers"]} == {"岩溪镇便民超市", "长泰一中食堂", "武安农贸市场"}
    result = runner.invoke(args=["trace", "forward", "--supplier", str(chain.salt.id)])
    assert "FY-20261105-01" in result.output and "FY-20261106-01" not in result.output


def test_report_to_a_file_and_to_stdout(runner, chain, tmp_path):
    out = tmp_path / "report.xlsx"
    result = runner.invoke(
        args=["trace", "report", "--batch", "FY-20261105-01", "--format", "xlsx", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert load_workbook(out).active.max_row > 5
    result = runner.invoke(args=["trace", "report", "--from", "2026-11-05", "--to", "2026-11-05"])
    assert result.exit_code == 0, result.output
    assert "GD-20261105-01" in result.output and "FY-20261106-01" in result.output


def test_epcis_export_prints_a_valid_document(runner, chain):
    result = runner.invoke(args=["epcis", "export", "--batch", "FY-20261105-01"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    validator = Draft7Validator(SCHEMA, format_checker=FormatChecker())
    assert [e.message for e in validator.iter_errors(document)] == []


def test_bad_input_is_one_clear_line(runner, chain):
    for args in (
        ["trace", "backward", "--batch", "NO-SUCH"],
        ["trace", "backward", "--code", "bad"],
        ["trace", "forward", "--lot", "abc"],
        ["trace", "forward", "--supplier", "999999"],
        ["trace", "report", "--from", "2026-11-06", "--to", "2026-11-01"],
        ["trace", "report", "--batch", "A", "--lot", "1"],
        ["epcis", "export", "--batch", "NO-SUCH"],
    ):
        result = runner.invoke(args=args)
        assert result.exit_code == 1, (args, result.output)
        assert "Error:" in result.output and "Traceback" not in result.output
    for args in (
        ["trace", "backward"],
        ["trace", "forward", "--lot", "1", "--supplier", "1"],
        ["trace", "report", "--from", "31/01/2026", "--to", "2026-02-01"],
        ["trace", "report", "--batch", "FY-20261105-01", "--format", "xlsx"],
    ):
        result = runner.invoke(args=args)
        assert result.exit_code == 2, (args, result.output)
