"""Additives: names people write, resolved to the standards table's item codes, and checked.

``data/additives.csv`` maps each item code the standards table rules on (benzoic_acid,
aluminium_additives, borax …) to its Chinese and English names and the aliases seen on
bags and in ledgers (苯甲酸钠, 明矾, 硫酸铝钾 …). Matching is exact after normalising width,
case and spaces, and also tried on the parts outside and inside brackets, so
"甜蜜素（环己基氨基磺酸钠）" resolves while "无铝泡打粉" (aluminium-free baking powder) does not
become an aluminium additive. An additive the file does not know is not ruled on.

Non-food substances (borax, rongalite, formaldehyde) are refused in every food; a food
additive is refused where the standards table says NOT_PERMITTED (or ABSENT) for the
product's category or one of its parents, and the refusal cites the standard.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import select

from backend.core.errors import ValidationError
from backend.extensions import db
from backend.quality.models import Comparison, StandardLimit
from backend.quality.standards import category_chain

DATA = Path(__file__).resolve().parent / "data" / "additives.csv"
NON_FOOD_LIST = "非食用物质名单"
_BRACKETS = re.compile(r"[（(]([^（）()]*)[）)]")


@dataclass(frozen=True)
class Additive:
    """A substance the standards table rules on."""

    code: str
    name_zh: str
    name_en: str
    non_food: bool


def normalise(text: str) -> str:
    """Fold full-width characters and case, drop spaces and middle dots."""
    folded = unicodedata.normalize("NFKC", text or "").casefold()
    return re.sub(r"[\s·・_\-]+", "", folded)


@lru_cache(maxsize=1)
def catalogue() -> tuple[dict[str, Additive], dict[str, str]]:
    """The additives by code, and every normalised name or alias → code."""
    by_code: dict[str, Additive] = {}
    names: dict[str, str] = {}
    with DATA.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            additive = Additive(
                code=row["code"],
                name_zh=row["name_zh"],
                name_en=row["name_en"],
                non_food=row["non_food"].strip().lower() == "true",
            )
            by_code[additive.code] = additive
            spellings = [row["code"], row["name_zh"], row["name_en"], *row["aliases"].split("|")]
            for spelling in spellings:
                if spelling.strip():
                    names.setdefault(normalise(spelling), additive.code)
    return by_code, names


def resolve(text: str) -> Additive | None:
    """The additive *text* names (an item code, a name or an alias), or None."""
    by_code, names = catalogue()
    inner = _BRACKETS.findall(unicodedata.normalize("NFKC", text or ""))
    outer = _BRACKETS.sub("", unicodedata.normalize("NFKC", text or ""))
    for candidate in (text, outer, *inner):
        code = names.get(normalise(candidate))
        if code:
            return by_code[code]
    return None


def ruling(category_code: str, additive: Additive) -> StandardLimit | None:
    """The standards row for *additive* nearest to the category, if the table has one."""
    chain = category_chain(category_code)
    rows = db.session.scalars(
        select(StandardLimit).where(
            StandardLimit.category_code.in_(chain), StandardLimit.item_code == additive.code
        )
    ).all()
    return min(rows, key=lambda r: chain.index(r.category_code)) if rows else None


def check_permitted(
    category_code: str, category_name: str, text: str
) -> tuple[Additive | None, StandardLimit | None]:
    """Resolve *text* and refuse it when it may not be used in the category.

    Returns the additive (None when unknown to the file) and its limit row (a MAX limit the
    caller may show), or raises ValidationError naming the reason and the standard.
    """
    additive = resolve(text)
    if additive is None:
        return None, None
    limit = ruling(category_code, additive)
    if additive.non_food:
        raise ValidationError(
            _(
                "“%(name)s”是非食用物质，任何食品中都不得添加（依据：%(standard)s）。",
                name=additive.name_zh,
                standard=NON_FOOD_LIST,
            ),
            slug="non_food_substance",
            errors={
                "additive": [text],
                "item_code": additive.code,
                "standard": NON_FOOD_LIST,
            },
        )
    if limit is not None and limit.comparison in (Comparison.NOT_PERMITTED, Comparison.ABSENT):
        raise ValidationError(
            _(
                "%(category)s中不得使用%(name)s（依据：%(standard)s）。",
                category=category_name,
                name=limit.item_name_zh,
                standard=limit.standard,
            ),
            slug="additive_not_permitted",
            errors={
                "additive": [text],
                "item_code": additive.code,
                "category": limit.category_code,
                "standard": limit.standard,
                "clause": limit.clause,
                "verified": limit.verified,
            },
        )
    return additive, limit
