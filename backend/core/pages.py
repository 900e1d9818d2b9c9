"""Lists shown one page at a time."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class Page:
    """One page of a list: its items, how many there are in all, which page, how long."""

    items: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages there are (at least one)."""
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def offset(self) -> int:
        """How many items come before this page."""
        return (self.page - 1) * self.per_page


def clamp_page(page: int, total: int, per_page: int) -> int:
    """*page* brought within 1 … the last page of *total* items (a page past the end shows
    the last one)."""
    return min(max(page, 1), max(1, math.ceil(total / per_page)))
