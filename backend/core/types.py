"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, Enum, Integer, Numeric
from sqlalchemy.types import TypeDecorator

# A 64-bit key on PostgreSQL that is still SQLite's auto-incrementing rowid.
BigIntKey = BigInteger().with_variant(Integer(), "sqlite")
# Amounts in ledgers and batches (kg, L, pieces), to the gram.
Quantity = Numeric(14, 3)
# Test readings and limits: small numbers (mg/kg, µg/kg) kept exactly.
Measure = Numeric(16, 6)


class UTCDateTime(TypeDecorator):
    """An aware datetime stored in UTC; SQLite's naive values come back as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        """Refuse naive datetimes and store everything in UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware datetime (UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def enum_type(enum_cls: type[enum.Enum], name: str | None = None) -> Enum:
    """A string column limited by a CHECK constraint to the values of *enum_cls*.

    *name* names the constraint; give one when a table has two columns of the same enum.
    """
    return Enum(
        enum_cls,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls),
        values_callable=lambda members: [m.value for m in members],
        name=name or enum_cls.__name__.lower(),
        validate_strings=True,
    )
