"""Additives: names people write, resolved to the rule base's item codes, and judged by amount.

``data/additives.csv`` lists every substance the platform knows: food additives (with their
INS/E numbers, aliases and pinyin) and the non-food substances of the official lists
(食品中可能违法添加的非食用物质名单, with the list and serial that names each). Matching is
exact after folding width and case and dropping spaces, middle dots, hyphens and
apostrophes; it is also tried on the parts outside and inside brackets, so
"甜蜜素（环己基氨基磺酸钠）" and "ＥＮ 211" resolve while "无铝泡打粉" never becomes alum.

How a use is judged (:func:`judge`), in order:

1. An unknown substance is refused until a regulator adds it: another name for a known
   substance in the console or with ``flask rules add-alias``; a new substance and its
   rules in the data files (checked by ``flask rules check``).
2. A non-food substance is refused in every food and reported (:class:`NonFoodRefused`;
   the view writes a :class:`~backend.rules.models.NonFoodIncident` for the console).
3. The rule-base row nearest to the product's category decides: ``not_permitted`` refuses,
   ``quantum_satis`` accepts, ``max`` compares the amount per kg (or per L) of the batch
   with the limit, converting g/kg, mg/kg and g/L; rows of one combined group (GB 2760
   使用原则: same-function preservatives, same-colour colours) may together use at most
   their limits' share (Σ used/limit ≤ 1). A residue limit (e.g. aluminium, 以Al计 干样品)
   cannot be judged from the amount added: it is left to the tests.
4. Only a verified row refuses by its number. An unverified row never refuses: the use is
   recorded with ``review`` (a "needs regulator review" warning) and no public verdict.
5. No row for the category: refused until a regulator adds one (GB 2760 is a positive list).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path

from flask import has_app_context
from flask_babel import gettext as _
from sqlalchemy import select

from backend.audit.log import record
from backend.core.errors import Forbidden, ValidationError
from backend.core.transactions import keep_writes
from backend.extensions import db
from backend.rules.models import Comparison, NonFoodIncident, StandardLimit, SubstanceAlias
from backend.rules.standards import category_chain

DATA = Path(__file__).resolve().parent / "data" / "additives.csv"
NON_FOOD_LIST = "食品中可能违法添加的非食用物质名单"
_BRACKETS = re.compile(r"[（(]([^（）()]*)[）)]")
GRAMS = {"mg": Decimal("0.001"), "g": Decimal(1), "kg": Decimal(1000)}
# What one "unit" of a limit is per gram of additive and per kg (or L) of food.
LIMIT_UNITS = {
    "g/kg": (Decimal(1), "mass"),
    "mg/kg": (Decimal(1000), "mass"),
    "µg/kg": (Decimal(1_000_000), "mass"),
    "g/L": (Decimal(1), "volume"),
    "mg/L": (Decimal(1000), "volume"),
}
# Residue limits on an item that stands for what an additive leaves behind.
RESIDUE_OF = {"aluminium_additives": "aluminium"}
_SPEC = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(mg|g|克|kg|千克|公斤|斤|ml|毫升|l|升)(?![a-z])", re.IGNORECASE
)
_SPEC_UNITS = {
    "mg": (Decimal("0.000001"), "mass"),
    "g": (Decimal("0.001"), "mass"),
    "克": (Decimal("0.001"), "mass"),
    "kg": (Decimal(1), "mass"),
    "千克": (Decimal(1), "mass"),
    "公斤": (Decimal(1), "mass"),
    "斤": (Decimal("0.5"), "mass"),
    "ml": (Decimal("0.001"), "volume"),
    "毫升": (Decimal("0.001"), "volume"),
    "l": (Decimal(1), "volume"),
    "升": (Decimal(1), "volume"),
}
BATCH_UNITS = {
    "kg": (Decimal(1), "mass"),
    "g": (Decimal("0.001"), "mass"),
    "L": (Decimal(1), "volume"),
    "l": (Decimal(1), "volume"),
    "ml": (Decimal("0.001"), "volume"),
    "mL": (Decimal("0.001"), "volume"),
}


@dataclass(frozen=True)
class Additive:
    """A substance the platform knows."""

    code: str
    name_zh: str
    name_en: str
    non_food: bool
    ins: str = ""
    listed_in: str = ""


@dataclass
class BatchSize:
    """A batch's mass (kg) and volume (L), and how they were found."""

    mass_kg: Decimal | None
    volume_l: Decimal | None
    how: str


@dataclass
class Judgement:
    """What the rule base says of one additive use."""

    additive: Additive
    limit: StandardLimit | None
    status: str  # within | permitted | residue | review
    amount_per_kg: Decimal | None = None
    unit: str = ""
    message: str = ""
    warnings: list[str] = field(default_factory=list)


class NonFoodRefused(ValidationError):
    """A non-food substance: refused, and the attempt is reported to the regulators."""

    def __init__(self, message: str, *, incident: dict, errors: dict):
        super().__init__(message, slug="non_food_substance", errors=errors)
        self.incident = incident


def normalise(text: str) -> str:
    """Fold full-width characters and case, drop spaces, middle dots, hyphens, apostrophes."""
    folded = unicodedata.normalize("NFKC", text or "").casefold()
    return re.sub(r"[\s·・_\-'’]+", "", folded)


@lru_cache(maxsize=1)
def catalogue() -> tuple[dict[str, Additive], dict[str, str]]:
    """The substances by code, and every normalised name or alias → code."""
    by_code: dict[str, Additive] = {}
    names: dict[str, str] = {}
    with DATA.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            additive = Additive(
                code=row["code"],
                name_zh=row["name_zh"],
                name_en=row["name_en"],
                non_food=row["kind"].strip() == "non_food",
                ins=row["ins"],
                listed_in=row["listed_in"],
            )
            by_code[additive.code] = additive
            spellings = [row["code"], row["name_zh"], row["name_en"], *row["aliases"].split("|")]
            for number in filter(None, row["ins"].split("|")):
                digits = number.split("(")[0]
                spellings += [f"E{digits}", f"INS{digits}", f"E{number}", f"INS{number}"]
            for spelling in spellings:
                if spelling.strip():
                    names.setdefault(normalise(spelling), additive.code)
    return by_code, names


@lru_cache(maxsize=1)
def _non_food_spellings() -> tuple[tuple[str, str], ...]:
    """Names of non-food substances distinctive enough to be found inside a longer name
    (three characters or more, and 硼砂/硼酸), longest first."""
    by_code, names = catalogue()
    found = [
        (spelling, code)
        for spelling, code in names.items()
        if by_code[code].non_food
        and (
            spelling in ("硼砂", "硼酸")
            or (len(spelling) >= 3 and not spelling.isascii())
            or (spelling.isascii() and len(spelling) >= 5 and spelling.isalpha())
        )
    ]
    return tuple(sorted(found, key=lambda pair: -len(pair[0])))


def resolve(text: str) -> Additive | None:
    """The substance *text* names (an item code, a name, an alias, an E/INS number), or None.

    A non-food substance is also found inside a longer name ("硼砂粉"), so it is never
    merely "unknown".
    """
    by_code, names = catalogue()
    plain = unicodedata.normalize("NFKC", text or "")
    inner = _BRACKETS.findall(plain)
    outer = _BRACKETS.sub("", plain)
    candidates = [normalise(c) for c in (text, outer, *inner)]
    for candidate in candidates:
        code = names.get(candidate)
        if code:
            return by_code[code]
    folded = normalise(plain)
    for spelling, code in _non_food_spellings():  # "硼砂粉", "苏丹红一号染料" …
        if spelling in folded:
            return by_code[code]
    if has_app_context():  # names regulators added (table substance_aliases)
        code = db.session.scalar(
            select(SubstanceAlias.substance_code).where(
                SubstanceAlias.normalised.in_([c for c in candidates if c])
            )
        )
        if code in by_code:
            return by_code[code]
    return None


def add_alias(alias: str, code: str, by) -> SubstanceAlias:
    """Teach the platform another name for a substance of the catalogue (regulators only).

    The alias may not already name a substance; the code must be in data/additives.csv.
    """
    if getattr(by, "role", None) is not None and str(by.role) != "regulator":
        raise Forbidden(_("只有监管部门可以添加物质名称。"), slug="regulator_only")
    by_code, _names = catalogue()
    folded = normalise(alias)
    if not folded or len(alias.strip()) > 100:
        raise ValidationError(_("请填写物质名称（100 字以内）。"), slug="alias_invalid")
    if code not in by_code:
        raise ValidationError(
            _("目录中没有代码为“%(code)s”的物质；新物质须写入规则库数据文件并经核对。", code=code),
            slug="substance_not_found",
            errors={"substance_code": [code]},
        )
    known = resolve(alias)
    if known is not None:
        raise ValidationError(
            _("“%(alias)s”已是“%(name)s”的名称。", alias=alias.strip(), name=known.name_zh),
            slug="alias_taken",
            errors={"alias": [alias]},
        )
    row = SubstanceAlias(
        normalised=folded,
        alias=alias.strip(),
        substance_code=code,
        added_by_id=getattr(by, "id", None),
    )
    db.session.add(row)
    db.session.flush()
    record(
        "substance.alias_added",
        "substance_aliases",
        row.id,
        actor=by,
        alias=row.alias,
        substance_code=code,
    )
    return row


def ruling(category_code: str, item_code: str) -> StandardLimit | None:
    """The rule-base row for *item_code* nearest to the category, if the table has one."""
    chain = category_chain(category_code)
    rows = db.session.scalars(
        select(StandardLimit).where(
            StandardLimit.category_code.in_(chain), StandardLimit.item_code == item_code
        )
    ).all()
    return min(rows, key=lambda r: chain.index(r.category_code)) if rows else None


def spec_quantity(specification: str) -> tuple[Decimal, str] | None:
    """The net quantity of one unit from a specification ("500g/盒" → (0.5, "mass"))."""
    match = _SPEC.match(unicodedata.normalize("NFKC", specification or ""))
    if not match:
        return None
    factor, kind = _SPEC_UNITS[
        match.group(2).lower() if match.group(2).isascii() else match.group(2)
    ]
    return Decimal(match.group(1)) * factor, kind


def batch_size(batch, data: dict) -> BatchSize:
    """The batch's mass and volume: entered with this use, or planned quantity × spec."""
    entered_mass, entered_volume = data.get("batch_mass_kg"), data.get("batch_volume_l")
    if entered_mass is not None or entered_volume is not None:
        return BatchSize(entered_mass, entered_volume, "entered")
    quantity = batch.planned_quantity
    if quantity is None or quantity <= 0:
        return BatchSize(None, None, "")
    if batch.unit in BATCH_UNITS:
        factor, kind = BATCH_UNITS[batch.unit]
    else:
        spec = spec_quantity(batch.product.specification)
        if spec is None:
            return BatchSize(None, None, "")
        factor, kind = spec
    total = quantity * factor
    if kind == "mass":
        return BatchSize(total, None, "specification")
    return BatchSize(None, total, "specification")


def _fmt(value: Decimal) -> str:
    """A number as people read it: at most six decimals, no trailing zeros."""
    text = format(value.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP).normalize(), "f")
    return text


def _cite(limit: StandardLimit) -> str:
    return f"{limit.standard} {limit.clause}".strip()


def per_unit(amount_g: Decimal, limit: StandardLimit, size: BatchSize, batch_no: str) -> Decimal:
    """The amount per kg (or per L) of the batch, in the limit's unit."""
    factor, basis = LIMIT_UNITS[limit.unit]
    # A liquid's g/kg and a solid's g/L are read at 1 kg/L (stated in the answer).
    denominator = (
        (size.mass_kg if size.mass_kg is not None else size.volume_l)
        if basis == "mass"
        else (size.volume_l if size.volume_l is not None else size.mass_kg)
    )
    if denominator is None or denominator <= 0:
        raise ValidationError(
            _(
                "无法得出批次 %(no)s 的质量或体积：请在产品规格中写明净含量（如“500g/盒”"
                "“2.5L/瓶”）并填写计划数量，或在本次记录中填写批次总质量（batch_mass_kg）。",
                no=batch_no,
            ),
            slug="batch_mass_unknown",
            errors={"batch_mass_kg": ["needed to judge the amount"]},
        )
    return amount_g * factor / denominator


def _known(text: str) -> Additive:
    """The substance *text* names; refused until a regulator adds it when unknown."""
    additive = resolve(text)
    if additive is None:
        raise ValidationError(
            _(
                "“%(name)s”不在本平台的添加剂目录中，须由监管部门核实并添加后才能记录。",
                name=text.strip(),
            ),
            slug="unknown_substance",
            errors={"additive": [text]},
        )
    return additive


def _non_food(batch, additive: Additive, data: dict, text: str) -> NonFoodRefused:
    """The refusal of a non-food substance, with the incident the regulators are told of."""
    return NonFoodRefused(
        _(
            "“%(name)s”是非食用物质，任何食品中都不得添加（依据：%(list)s %(where)s）；"
            "本次记录已报告监管部门。",
            name=additive.name_zh,
            list=NON_FOOD_LIST,
            where=additive.listed_in,
        ),
        incident={
            "workshop_id": batch.workshop_id,
            "batch_id": batch.id,
            "substance_code": additive.code,
            "substance_name": additive.name_zh,
            "entered_name": text[:100],
            "amount": f"{data.get('amount')} {data.get('unit')}"[:40],
            "listed_in": f"{NON_FOOD_LIST} {additive.listed_in}"[:200],
        },
        errors={
            "additive": [text],
            "item_code": additive.code,
            "standard": NON_FOOD_LIST,
            "clause": additive.listed_in,
        },
    )


def _without_row(additive: Additive, category, text: str) -> Judgement:
    """No row for the additive in the category: a residue limit leaves it to the tests;
    otherwise refused until a regulator adds a row (GB 2760 is a positive list)."""
    residue = RESIDUE_OF.get(additive.code)
    residue_limit = ruling(category.code, residue) if residue else None
    if residue_limit is None:
        raise ValidationError(
            _(
                "标准表中没有%(name)s在%(category)s中的使用规定，须由监管部门核实后才能记录。",
                name=additive.name_zh,
                category=category.name_zh,
            ),
            slug="no_rule_for_category",
            errors={"additive": [text], "item_code": additive.code, "category": category.code},
        )
    return Judgement(
        additive,
        residue_limit,
        "residue",
        message=_(
            "%(name)s的限量以残留量计（%(basis)s ≤ %(limit)s %(unit)s，依据：%(cite)s），"
            "由检验判定。",
            name=additive.name_zh,
            basis=residue_limit.basis,
            limit=_fmt(residue_limit.limit_value),
            unit=residue_limit.unit,
            cite=_cite(residue_limit),
        ),
    )


def judge(batch, category, data: dict, earlier: list) -> Judgement:
    """Judge one additive use in *batch* (see the module's rules); raise when refused.

    *earlier* are the batch's additive uses already recorded, for combined limits.
    """
    text = data["additive"]
    additive = _known(text)
    if additive.non_food:
        raise _non_food(batch, additive, data, text)
    limit = ruling(category.code, additive.code)
    if limit is None:
        return _without_row(additive, category, text)
    _check_plausible(data, batch_size(batch, data))
    details = {
        "additive": [text],
        "item_code": additive.code,
        "category": limit.category_code,
        "gb2760_category": limit.gb2760_category,
        "standard": limit.standard,
        "clause": limit.clause,
        "verified": limit.verified,
    }
    review = _("该限量尚未与标准原文核对，本次记录已保存，待监管部门复核。")
    if limit.comparison in (Comparison.NOT_PERMITTED, Comparison.ABSENT):
        message = _(
            "%(category)s中不得使用%(name)s（依据：%(cite)s）。",
            category=category.name_zh,
            name=limit.item_name_zh,
            cite=_cite(limit),
        )
        if limit.verified:
            raise ValidationError(message, slug="additive_not_permitted", errors=details)
        return Judgement(additive, limit, "review", message=message, warnings=[review])
    if limit.comparison is not Comparison.MAX:  # quantum satis (or a label tolerance)
        return Judgement(
            additive,
            limit,
            "permitted",
            message=_(
                "%(name)s在%(category)s中按生产需要适量使用（依据：%(cite)s）。",
                name=limit.item_name_zh,
                category=category.name_zh,
                cite=_cite(limit),
            ),
        )
    return _judge_amount(batch, category, additive, limit, data, earlier, details, review)


def _judge_amount(batch, category, additive, limit, data, earlier, details, review) -> Judgement:
    """A row with a maximum: the amount per kg (or L) of the batch against the limit, and
    the share of a combined group (refused by a verified row, flagged by an unverified one)."""
    unit = data["unit"]
    if unit not in GRAMS:
        raise ValidationError(
            _("%(name)s有最大使用量，用量请以 mg、g 或 kg 填写。", name=limit.item_name_zh),
            slug="additive_unit_not_mass",
            errors={"unit": [unit]},
        )
    amount_g = Decimal(data["amount"]) * GRAMS[unit]
    size = batch_size(batch, data)
    per = per_unit(amount_g, limit, size, batch.batch_no)
    details.update(amount_per_kg=_fmt(per), limit=_fmt(limit.limit_value), unit=limit.unit)
    per_name = "每升" if LIMIT_UNITS[limit.unit][1] == "volume" else "每千克"
    if per > limit.limit_value:
        message = _(
            "%(name)s用量折合%(per_name)s%(per)s %(unit)s，超过%(category)s的最大使用量 "
            "%(limit)s %(unit)s（依据：%(cite)s）。",
            name=limit.item_name_zh,
            per_name=per_name,
            per=_fmt(per),
            unit=limit.unit,
            category=category.name_zh,
            limit=_fmt(limit.limit_value),
            cite=_cite(limit),
        )
        if limit.verified:
            raise ValidationError(message, slug="additive_over_limit", errors=details)
        return Judgement(additive, limit, "review", per, limit.unit, message, [review])
    judgement = Judgement(
        additive,
        limit,
        "within" if limit.verified else "review",
        per,
        limit.unit,
        _(
            "%(name)s用量折合%(per_name)s%(per)s %(unit)s，未超过最大使用量 %(limit)s %(unit)s"
            "（依据：%(cite)s）。",
            name=limit.item_name_zh,
            per_name=per_name,
            per=_fmt(per),
            unit=limit.unit,
            limit=_fmt(limit.limit_value),
            cite=_cite(limit),
        ),
        [] if limit.verified else [review],
    )
    if limit.combined_group:
        _check_group(batch, category, limit, per, size, earlier, judgement, details)
    return judgement


def _check_plausible(data: dict, size: BatchSize) -> None:
    """An amount at least the whole batch's mass is a typing error, not an additive."""
    total = size.mass_kg if size.mass_kg is not None else size.volume_l
    if total is None or data["unit"] not in GRAMS:
        return
    if Decimal(data["amount"]) * GRAMS[data["unit"]] / 1000 >= total:
        raise ValidationError(
            _(
                "添加剂用量 %(amount)s %(unit)s 不小于批次总量 %(total)s kg，请核对。",
                amount=_fmt(Decimal(data["amount"])),
                unit=data["unit"],
                total=_fmt(total),
            ),
            slug="additive_amount_absurd",
            errors={"amount": [str(data["amount"])]},
        )


def _check_group(batch, category, limit, per, size, earlier, judgement, details) -> None:
    """Σ used/limit of one combined group in the batch may not pass 1 (GB 2760 使用原则)."""
    ratio = per / limit.limit_value
    verified = limit.verified
    for use in earlier:
        if not use.additive_code or use.unit not in GRAMS:
            continue
        row = ruling(category.code, use.additive_code)
        if row is None or row.combined_group != limit.combined_group:
            continue
        if row.comparison is not Comparison.MAX or row.unit not in LIMIT_UNITS:
            continue
        used = per_unit(use.amount * GRAMS[use.unit], row, size, batch.batch_no)
        ratio += used / row.limit_value
        verified = verified and row.verified
    if ratio <= 1:
        return
    message = _(
        "%(category)s中同一功能的添加剂混合使用，各自用量占其最大使用量的比例之和为 %(ratio)s，"
        "超过 1（依据：%(standard)s 使用原则）。",
        category=category.name_zh,
        ratio=_fmt(ratio),
        standard=limit.standard,
    )
    if verified:
        raise ValidationError(
            message,
            slug="additive_combined_over_limit",
            errors={**details, "combined_group": limit.combined_group, "ratio": _fmt(ratio)},
        )
    judgement.status = "review"
    judgement.warnings.append(message)


def report_non_food(incident: dict, user_id: int | None) -> NonFoodIncident:
    """Write the report of a refused non-food substance (the caller commits)."""
    row = NonFoodIncident(user_id=user_id, **incident)
    db.session.add(row)
    db.session.flush()
    return row


@contextmanager
def reporting_non_food(user):
    """Around a write view: a refused non-food substance is reported (kept on its own by the
    edge, after everything else the request did was rolled back), then refused as usual."""
    try:
        yield
    except NonFoodRefused as refused:
        db.session.rollback()
        report_non_food(refused.incident, getattr(user, "id", None))
        keep_writes()
        raise


def audit(use, batch) -> Judgement | None:
    """Judge a recorded use again against today's rules, without changing it.

    Returns the judgement, or None when it is fine; a refusal becomes a judgement with
    status ``refused`` and the refusal's message (past entries are flagged, never rewritten).
    """
    data = {"additive": use.additive_name, "amount": use.amount, "unit": use.unit}
    earlier = [u for u in batch.additive_uses if u.id < use.id]
    try:
        judgement = judge(batch, batch.product.category, data, earlier)
    except ValidationError as refusal:
        if refusal.slug == "batch_mass_unknown":
            return None  # cannot be judged again without the mass entered at the time
        return Judgement(
            resolve(use.additive_name) or Additive("", use.additive_name, "", False),
            None,
            "refused",
            message=f"{refusal.slug}: {refusal.message}",
        )
    return judgement if judgement.status == "review" else None
