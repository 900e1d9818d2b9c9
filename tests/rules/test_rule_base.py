"""The rule base is data a reviewer can check line by line, and the import refuses bad files.

Every row carries a standard with its year, a clause, a GB 2760 food category number and
whether the number was checked (with what it was checked against); a file with a missing
clause, year or category or a duplicate row is refused, naming the line. No unverified row
can make a public verdict: the scan view and the public announcement leave it out.
"""

import csv
import re
import shutil

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from backend.rules import additives, standards
from backend.rules.models import StandardLimit
from backend.rules.standards import RuleFileError

YEAR = re.compile(r"(GB(/T)?\s*\d+(\.\d+)?-(19|20)\d{2})|名单")


def rows():
    with standards.DATA.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_row_has_a_standard_with_year_a_clause_and_a_category():
    for line, row in enumerate(rows(), start=2):
        assert YEAR.search(row["standard"]), (line, row["standard"])
        assert row["standard"] not in ("GB 2760", "GB 2761", "GB 2762")
        assert row["clause"].strip(), line
        assert re.fullmatch(r"\d{2}(\.\d{1,2})*", row["gb2760_category"]), line
        assert row["verified"] in ("true", "false"), line
        if row["verified"] == "true":
            assert row["source_note"].strip(), line
        if row["standard"].startswith("GB 2760"):
            assert row["standard"] == "GB 2760-2024", line  # one edition, today's


def test_every_demo_product_category_maps_to_a_gb2760_category():
    with standards.CATEGORIES.open(encoding="utf-8", newline="") as handle:
        categories = {r["code"] for r in csv.DictReader(handle)}
    mapped = {r["category_code"] for r in rows()}
    assert categories <= mapped


def test_every_item_ruled_on_as_an_additive_is_known_by_name():
    by_code, _ = additives.catalogue()
    contaminants = {"aluminium", "aflatoxin_b1", "lead", "citrinin", "alcohol"}
    for row in rows():
        assert row["item_code"] in by_code or row["item_code"] in contaminants, row["item_code"]
    for additive in by_code.values():
        if additive.non_food:
            assert additive.listed_in.startswith("第1—5批汇总 表一"), additive.code


def test_the_shipped_file_loads(db):
    standards.load_categories()
    assert standards.load_standards() == len(rows())
    assert db.session.scalar(select(func.count()).select_from(StandardLimit)) == len(rows())


def write(tmp_path, mutate):
    path = tmp_path / "rules.csv"
    shutil.copy(standards.DATA, path)
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(mutate(lines)) + "\n", encoding="utf-8")
    return path


def replace_field(line: str, column: str, value: str) -> str:
    row = next(csv.reader([line]))
    row[standards.COLUMNS.index(column)] = value
    from io import StringIO

    out = StringIO()
    csv.writer(out, lineterminator="").writerow(row)
    return out.getvalue()


@pytest.mark.parametrize(
    ("label", "column", "value", "problem"),
    [
        ("missing clause", "clause", "", "clause is empty"),
        ("standard without year", "standard", "GB 2760", "standard without a year"),
        ("missing category", "gb2760_category", "", "gb2760_category is empty"),
        ("not a category number", "gb2760_category", "糕点", "not a GB 2760 category number"),
        ("unknown comparison", "comparison", "about", "unknown comparison"),
        ("unknown unit", "unit", "g/桶", "unknown unit"),
        ("verified without source", "source_note", "", "a verified row must say what it was"),
        ("bad verified flag", "verified", "yes", "verified must be true or false"),
    ],
)
def test_a_bad_row_is_refused_naming_the_line(db, tmp_path, label, column, value, problem):
    path = write(tmp_path, lambda ls: [ls[0], replace_field(ls[1], column, value), *ls[2:]])
    with pytest.raises(RuleFileError) as refused:
        standards.load_standards(path)
    assert refused.value.line == 2, label
    assert problem in str(refused.value) and str(path) in str(refused.value)
    assert db.session.scalar(select(func.count()).select_from(StandardLimit)) == 0


def test_a_number_where_the_comparison_needs_one(db, tmp_path):
    def mutate(lines):
        max_line = next(i for i, line in enumerate(lines) if ",max," in line)
        lines[max_line] = replace_field(lines[max_line], "limit_value", "-1")
        return lines

    with pytest.raises(RuleFileError, match="limit_value must be positive"):
        standards.read_rules(write(tmp_path, mutate))


def test_a_duplicate_row_is_refused_naming_both_lines(db, tmp_path):
    path = write(tmp_path, lambda ls: [*ls, ls[1]])
    with pytest.raises(RuleFileError) as refused:
        standards.load_standards(path)
    total = len(rows()) + 2
    assert refused.value.line == total and "duplicate of line 2" in str(refused.value)


def test_a_missing_column_is_refused_at_line_1(tmp_path):
    path = tmp_path / "rules.csv"
    path.write_text("category_code,item_code\nbean_products,lead\n", encoding="utf-8")
    with pytest.raises(RuleFileError, match=r":1: missing column"):
        standards.read_rules(path)


def test_the_cli_checks_a_file(app, tmp_path):
    runner = CliRunner()
    good = app.test_cli_runner().invoke(args=["rules", "check", str(standards.DATA)])
    assert good.exit_code == 0 and f"{len(rows())} rows" in good.output
    bad = write(tmp_path, lambda ls: [*ls, ls[1]])
    refused = app.test_cli_runner().invoke(args=["rules", "check", str(bad)])
    assert refused.exit_code == 1 and "duplicate of line 2" in refused.output
    assert runner  # the click runner is the flask one's base


def test_no_unverified_row_can_make_a_public_verdict(db):
    standards.load_categories()
    standards.load_standards()
    unverified = db.session.scalars(select(StandardLimit).where(~StandardLimit.verified)).all()
    assert unverified
    for limit in unverified:
        assert standards.public_limit(limit) is None


def test_the_demo_additive_uses_stay_within_the_rules(db):
    from decimal import Decimal
    from types import SimpleNamespace

    from backend.demo import facts
    from backend.registry.models import ProductCategory

    standards.load_categories()
    standards.load_standards()
    for category_code, (name, _purpose, amount, unit) in facts.ADDITIVES.items():
        spec = facts.PRODUCTS[category_code][2]
        category = db.session.get(ProductCategory, category_code)
        for planned in (60, 80, 120, 200):  # the seed's planned quantities
            batch = SimpleNamespace(
                workshop_id=1,
                id=1,
                batch_no="DEMO",
                planned_quantity=Decimal(planned),
                unit="件",
                product=SimpleNamespace(specification=spec, category=category),
            )
            data = {"additive": name, "amount": Decimal(amount), "unit": unit}
            judgement = additives.judge(batch, category, data, [])
            assert judgement.status in ("permitted", "within"), (category_code, judgement)


def test_the_scan_shows_verdicts_from_verified_rows_only_and_no_internal_note(client, db, wine):
    from datetime import UTC, datetime
    from decimal import Decimal

    from backend.samples.models import Sample, TestKind, TestResult
    from backend.scan.caching import forget_batch

    batch, codes = wine
    sample = db.session.scalars(select(Sample).where(Sample.batch_id == batch.id)).first()
    lead = standards.limit_for("huangjiu", "lead")
    assert not lead.verified  # GB 2762-2022 not yet checked
    view = client.get(f"/api/v1/scan/{codes[0]}").get_json()
    assert view["verdict"]["result"] == "pending"  # the lead pass decides nothing publicly
    benzoic = standards.limit_for("huangjiu", "benzoic_acid")
    assert benzoic.verified
    db.session.add(
        TestResult(
            sample_id=sample.id,
            standard_limit_id=benzoic.id,
            item_code="benzoic_acid",
            value=Decimal("0"),
            unit="g/kg",
            verdict=standards.judge(benzoic, kind=TestKind.LAB, value="0"),
            tested_at=datetime(2026, 11, 22, 8, tzinfo=UTC),
        )
    )
    db.session.commit()
    forget_batch(batch.id)
    view = client.get(f"/api/v1/scan/{codes[0]}").get_json()
    assert view["verdict"]["result"] == "pass"  # now a verified row has spoken
    page = client.get(f"/t/{codes[0]}").get_data(as_text=True)
    json_text = client.get(f"/api/v1/scan/{codes[0]}").get_data(as_text=True)
    for note in ("限量待核实", "尚待与标准原文核对", "未核对", "unverified", "source_note"):
        assert note not in page and note not in json_text, note


def test_the_audit_flags_past_uses_and_rewrites_nothing(app, db):
    from decimal import Decimal

    from backend.batches.models import AdditiveUse
    from backend.registry.models import ProductCategory
    from tests.factories import BatchFactory, ProductFactory

    standards.load_categories()
    standards.load_standards()
    cakes = db.session.get(ProductCategory, "cakes")
    cake = ProductFactory(category=cakes, specification="500g/盒")
    batch = BatchFactory(product=cake, planned_quantity=Decimal(200))
    uses = [
        AdditiveUse(batch_id=batch.id, additive_name=name, amount=Decimal(amount), unit=unit)
        for name, amount, unit in [
            ("安赛蜜", "40", "g"),  # within 0.5 g/kg: not listed
            ("安赛蜜", "0.2", "kg"),  # now 2 g/kg in all: refused
            ("山梨酸钾", "500", "g"),  # unverified limit: review
            ("硼砂", "5", "g"),  # non-food
        ]
    ]
    db.session.add_all(uses)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["rules", "audit"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if batch.batch_no in line]
    assert [line.split("\t")[3] for line in lines] == ["refused", "review", "refused"]
    assert "additive_combined" not in result.output
    assert "additive_over_limit" in lines[0] and "non_food_substance" in lines[2]
    assert result.output.strip().endswith("3 flagged")
    for use in uses:
        db.session.refresh(use)
    assert [u.amount for u in uses] == [Decimal("40"), Decimal("0.2"), Decimal("500"), Decimal("5")]
    assert db.session.scalar(select(func.count()).select_from(additives.NonFoodIncident)) == 0


def test_every_spelling_in_the_catalogue_resolves_to_its_own_substance():
    by_code, names = additives.catalogue()
    for spelling, code in names.items():
        assert additives.resolve(spelling).code == code, spelling
    for harmless in ("无铝泡打粉", "盐卤", "食用小苏打", "葡萄糖", "白砂糖", "食盐"):
        found = additives.resolve(harmless)
        assert found is None or not found.non_food, harmless
