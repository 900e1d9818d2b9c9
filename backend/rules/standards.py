"""The standards table: loaded from the shipped data file, and the judge of every result.

Nobody types "pass": a verdict is computed from a limit row and a reading. A rapid test is a
screen, so a positive or out-of-limit rapid reading is a *positive screen*, never a final
fail; only a lab result can fail a batch for good.
"""

from __future__ import annotations

import csv
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import select

from backend.core.errors import ValidationError
from backend.extensions import db
from backend.registry.models import ProductCategory
from backend.rules.models import Comparison, StandardLimit
from backend.samples.models import Qualitative, TestKind, Verdict

DATA = Path(__file__).resolve().parent / "data" / "standards.csv"
CATEGORIES = Path(__file__).resolve().parent.parent / "registry" / "data" / "categories.csv"


COLUMNS = (
    "category_code",
    "gb2760_category",
    "item_code",
    "item_name_zh",
    "item_name_en",
    "comparison",
    "limit_value",
    "unit",
    "basis",
    "standard",
    "clause",
    "combined_group",
    "verified",
    "source_note",
)
REQUIRED = ("category_code", "gb2760_category", "item_code", "item_name_zh", "comparison")
# A standard is cited with its year: "GB 2760-2024", "GB/T 13662-2018", a list's batch …
_STANDARD_WITH_YEAR = re.compile(r"(?:GB(?:/T)?\s*\d+(?:\.\d+)?-(?:19|20)\d{2})|名单")
_CATEGORY_NUMBER = re.compile(r"^\d{2}(?:\.\d{1,2})*$")
NUMERIC = (Comparison.MAX, Comparison.LABEL_TOLERANCE)
UNITS = ("g/kg", "mg/kg", "µg/kg", "g/L", "mg/L", "%vol", "")


class RuleFileError(ValueError):
    """A rule-base file that may not be loaded; the message names the line."""

    def __init__(self, path: Path | str, line: int, problem: str):
        self.path, self.line, self.problem = str(path), line, problem
        super().__init__(f"{path}:{line}: {problem}")


def _rows(path: Path) -> list[dict[str, str]]:
    """Read a UTF-8 CSV data file."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def read_rules(path: Path = DATA) -> list[dict[str, str]]:
    """Read and check a rule-base file; raise RuleFileError naming the first bad line.

    Every row needs a standard with its year, a clause, a GB 2760 food category number,
    a known comparison and unit, a number where the comparison needs one, and verified
    "true" or "false"; a category may rule on an item only once.
    """
    with Path(path).open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        header = tuple(reader.fieldnames or ())
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise RuleFileError(path, 1, "missing column(s): " + ", ".join(missing))
        rows, seen = [], {}
        for row in reader:
            line = reader.line_num
            if None in row or any(v is None for v in row.values()):
                raise RuleFileError(path, line, "wrong number of fields")
            row = {k: (v or "").strip() for k, v in row.items()}
            for column in REQUIRED:
                if not row[column]:
                    raise RuleFileError(path, line, f"{column} is empty")
            if not _STANDARD_WITH_YEAR.search(row["standard"]):
                raise RuleFileError(path, line, f"standard without a year: {row['standard']!r}")
            if not row["clause"]:
                raise RuleFileError(path, line, "clause is empty")
            if not _CATEGORY_NUMBER.match(row["gb2760_category"]):
                raise RuleFileError(
                    path, line, f"not a GB 2760 category number: {row['gb2760_category']!r}"
                )
            try:
                comparison = Comparison(row["comparison"])
            except ValueError:
                raise RuleFileError(
                    path, line, f"unknown comparison {row['comparison']!r}"
                ) from None
            if row["unit"] not in UNITS:
                raise RuleFileError(path, line, f"unknown unit {row['unit']!r}")
            if comparison in NUMERIC:
                try:
                    value = Decimal(row["limit_value"])
                except InvalidOperation:
                    raise RuleFileError(path, line, "limit_value is not a number") from None
                if not value.is_finite() or value <= 0 or not row["unit"]:
                    raise RuleFileError(path, line, "limit_value must be positive, with a unit")
            elif row["limit_value"]:
                raise RuleFileError(path, line, f"{comparison.value} takes no limit_value")
            if row["verified"] not in ("true", "false"):
                raise RuleFileError(path, line, "verified must be true or false")
            if row["verified"] == "true" and not row["source_note"]:
                raise RuleFileError(
                    path, line, "a verified row must say what it was checked against"
                )
            key = (row["category_code"], row["item_code"])
            if key in seen:
                raise RuleFileError(
                    path, line, f"duplicate of line {seen[key]} ({key[0]}, {key[1]})"
                )
            seen[key] = line
            rows.append(row)
    return rows


def load_categories() -> int:
    """Insert or update the product categories from the data file; return how many."""
    rows = _rows(CATEGORIES)
    for row in sorted(rows, key=lambda r: bool(r["parent_code"])):  # parents first
        category = db.session.get(ProductCategory, row["code"]) or ProductCategory(code=row["code"])
        category.parent_code = row["parent_code"] or None
        category.name_zh = row["name_zh"]
        category.name_en = row["name_en"]
        db.session.add(category)
        db.session.flush()
    return len(rows)


def load_standards(path: Path = DATA) -> int:
    """Insert or update the standards table from the data file; return how many rows.

    The whole file is checked first (:func:`read_rules`): a bad file changes nothing.
    """
    rows = read_rules(path)
    for row in rows:
        limit = db.session.scalar(
            select(StandardLimit).where(
                StandardLimit.category_code == row["category_code"],
                StandardLimit.item_code == row["item_code"],
            )
        ) or StandardLimit(category_code=row["category_code"], item_code=row["item_code"])
        limit.item_name_zh = row["item_name_zh"]
        limit.item_name_en = row["item_name_en"]
        limit.comparison = Comparison(row["comparison"])
        limit.limit_value = Decimal(row["limit_value"]) if row["limit_value"] else None
        limit.unit = row["unit"]
        limit.standard = row["standard"]
        limit.clause = row["clause"]
        limit.gb2760_category = row["gb2760_category"]
        limit.basis = row["basis"]
        limit.combined_group = row["combined_group"]
        limit.verified = row["verified"] == "true"
        limit.source_note = row["source_note"]
        db.session.add(limit)
    db.session.flush()
    return len(rows)


def public_limit(limit: StandardLimit | None) -> StandardLimit | None:
    """The row if it may decide a public verdict (checked against the official text)."""
    return limit if limit is not None and limit.verified else None


def category_chain(category_code: str) -> list[str]:
    """The category and its parents, nearest first."""
    chain, code = [], category_code
    while code and code not in chain:
        chain.append(code)
        code = db.session.scalar(
            select(ProductCategory.parent_code).where(ProductCategory.code == code)
        )
    return chain


def limit_for(category_code: str, item_code: str) -> StandardLimit:
    """The limit row that applies to *item_code* for a product of *category_code*."""
    chain = category_chain(category_code)
    rows = db.session.scalars(
        select(StandardLimit).where(
            StandardLimit.category_code.in_(chain), StandardLimit.item_code == item_code
        )
    ).all()
    if not rows:
        raise ValidationError(
            f"标准表中没有“{category_code}”类食品的“{item_code}”检测项目。",
            slug="no_standard_for_item",
        )
    return min(rows, key=lambda r: chain.index(r.category_code))


def items_for(category_code: str) -> list[StandardLimit]:
    """The rows for a product of *category_code*, one per test item (the nearest category's),
    in the standards file's order."""
    chain = category_chain(category_code)
    rows = db.session.scalars(
        select(StandardLimit).where(StandardLimit.category_code.in_(chain))
    ).all()
    nearest: dict[str, StandardLimit] = {}
    for row in sorted(rows, key=lambda r: chain.index(r.category_code)):
        nearest.setdefault(row.item_code, row)
    return sorted(nearest.values(), key=lambda r: r.id)  # the data file's order


def _decimal(value) -> Decimal | None:
    """Read a number, or None."""
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValidationError(f"“{value}”不是有效的数值。", slug="bad_number") from None


def judge(
    limit: StandardLimit,
    *,
    kind: TestKind,
    value=None,
    qualitative: Qualitative | None = None,
    labelled=None,
) -> Verdict:
    """Decide a result against *limit*; rapid tests screen, lab tests decide."""
    number, labelled_number = _decimal(value), _decimal(labelled)
    if number is None and qualitative is None:
        raise ValidationError("请填写检测值或定性结果。", slug="reading_missing")
    if limit.comparison is Comparison.QUANTUM_SATIS:
        conforms = True
    elif limit.comparison is Comparison.MAX:
        if number is None:
            conforms = qualitative is Qualitative.NEGATIVE
        else:
            conforms = number <= limit.limit_value
    elif limit.comparison in (Comparison.NOT_PERMITTED, Comparison.ABSENT):
        if number is not None:
            conforms = number == 0
        else:
            conforms = qualitative is Qualitative.NEGATIVE
    else:  # Comparison.LABEL_TOLERANCE
        if number is None or labelled_number is None:
            raise ValidationError(
                "酒精度须填写实测值，且产品须有标签标示值。", slug="label_value_missing"
            )
        conforms = abs(number - labelled_number) <= limit.limit_value
    if conforms:
        return Verdict.PASS
    return Verdict.POSITIVE_SCREEN if kind is TestKind.RAPID else Verdict.FAIL
