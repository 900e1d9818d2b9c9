"""The district's townships, from ``data/townships.csv`` (the list a workshop may be filed in).

Each row names a township (镇, 乡) or a management area of 长泰区 and the other spellings
people write for it (坂里乡 for 半里乡, 坊洋镇 for 枋洋镇); those are read as the name.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "townships.csv"


@dataclass(frozen=True)
class Township:
    """A township of the district."""

    name: str
    district: str
    kind: str
    name_en: str
    aliases: tuple[str, ...]


@lru_cache(maxsize=1)
def townships() -> tuple[Township, ...]:
    """Every township in the data file, in file order."""
    with DATA.open(encoding="utf-8", newline="") as handle:
        return tuple(
            Township(
                name=row["name"].strip(),
                district=row["district"].strip(),
                kind=row["kind"].strip(),
                name_en=row["name_en"].strip(),
                aliases=tuple(a.strip() for a in row["aliases"].split("|") if a.strip()),
            )
            for row in csv.DictReader(handle)
        )


@lru_cache(maxsize=1)
def _index() -> dict[str, Township]:
    """Names and aliases → township."""
    index = {}
    for township in townships():
        for spelling in (township.name, *township.aliases):
            index[spelling] = township
    return index


def find(text: str | None) -> Township | None:
    """The township called *text* (by name or another spelling), or None."""
    return _index().get((text or "").strip())


def names() -> list[str]:
    """The townships' names, in file order."""
    return [township.name for township in townships()]
