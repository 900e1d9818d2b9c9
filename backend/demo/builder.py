"""What every part of the demo shares: the seeded randomness, the days it covers, the people
and workshops made first, invented names and numbers, and the queue of ledger entries."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from backend.accounts.models import User
from backend.core.time import SHANGHAI
from backend.demo import facts
from backend.ledgers.models import LedgerKind
from backend.registry.models import Brand, Staff, Supplier, Workshop

DAYS = 60


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A moment of a local (Asia/Shanghai) day, as an aware datetime."""
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


class Builder:
    """The demo's shared state; the parts (one class per feature) add their rows to it.
    Every method flushes, none commits."""

    def __init__(self, rng: random.Random, today: date):
        self.rng = rng
        self.today = today
        self.start = today - timedelta(days=DAYS)
        self.suppliers: dict[str, Supplier] = {}
        self.brands: dict[str, Brand] = {}
        self.zone_workshops: list[tuple[str, Workshop, User]] = []
        self.other_workshops: list[Workshop] = []
        self.staff: dict[int, list[Staff]] = {}
        self.ledger: dict[int, list[dict]] = {}
        self.reg_serial = 0

    @property
    def zone_workshop_list(self) -> list[Workshop]:
        """The zone's workshops."""
        return [w for _, w, _ in self.zone_workshops]

    def person(self) -> str:
        """An invented Chinese name."""
        return self.rng.choice(facts.SURNAMES) + self.rng.choice(facts.GIVEN)

    def phone(self) -> str:
        """An invented mobile number."""
        return "13" + "".join(str(self.rng.randrange(10)) for _ in range(9))

    def note(
        self, workshop: Workshop, kind: LedgerKind, when: datetime, payload: dict, **links
    ) -> None:
        """Queue a ledger entry; chains are written in time order at the end."""
        self.ledger.setdefault(workshop.id, []).append(
            {"kind": kind, "occurred_at": when, "payload": payload, **links}
        )
