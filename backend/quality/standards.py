"""The standards table: loaded from the shipped data file, and the judge of every result.

Nobody types "pass": a verdict is computed from a limit row and a reading. A rapid test is a
screen, so a positive or out-of-limit rapid reading is a *positive screen*, never a final
fail; only a lab result can fail a batch for good.
"""

from __future__ import annotations

import csv
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import select

from backend.core.errors import ValidationError
from backend.extensions import db
from backend.quality.models import Comparison, Qualitative, StandardLimit, TestKind, Verdict
from backend.registry.models import ProductCategory

DATA = Path(__file__).resolve().parent / "data" / "standards.csv"
CATEGORIES = Path(__file__).resolve().parent.parent / "registry" / "data" / "categories.csv"


def _rows(path: Path) -> list[dict[str, str]]:
    """Read a UTF-8 CSV data file."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


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


def load_standards() -> int:
    """Insert or update the standards table from the data file; return how many rows."""
    rows = _rows(DATA)
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
        limit.verified = row["verified"].strip().lower() == "true"
        limit.source_note = row["source_note"]
        db.session.add(limit)
    db.session.flush()
    return len(rows)


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
    if limit.comparison is Comparison.MAX:
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
