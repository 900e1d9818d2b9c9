"""Fields every API schema shares: strict text, quantities, ids, local times."""

from __future__ import annotations

import re
from decimal import Decimal

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from backend.core.time import to_local

MAX_QUANTITY = Decimal(1_000_000)  # more than any small workshop handles in one record


MAX_PHOTOS = 9


CODE_TEXT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$")


class Text(fields.String):
    """A string with surrounding spaces removed; a required one may not be blank."""

    def __init__(self, max_length: int, *, min_length: int = 0, **kwargs):
        super().__init__(validate=validate.Length(min=min_length, max=max_length), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        text = text.strip()
        if self.required and not text:
            raise ValidationError("Must not be blank.")
        return text


class Flag(fields.Boolean):
    """A JSON true or false, nothing else ("yes", 1 and "true" are refused)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class Whole(fields.Integer):
    """An integer given as a JSON number (not a string, a float or a boolean)."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class Id(Whole):
    """A positive integer id."""

    def __init__(self, **kwargs):
        super().__init__(validate=validate.Range(min=1, max=2**53), **kwargs)


class Quantity(fields.Decimal):
    """A positive amount with at most three decimals, below MAX_QUANTITY.

    Accepts a JSON number or a numeric string; floats are read as written (0.1 is 0.1).
    """

    def __init__(self, maximum: Decimal = MAX_QUANTITY, **kwargs):
        # The documented bounds are numbers (apispec would write the Decimals as strings).
        metadata = {"minimum": 0, "maximum": int(maximum), **kwargs.pop("metadata", {})}
        super().__init__(
            as_string=True,
            validate=validate.Range(min=0, min_inclusive=False, max=maximum),
            metadata=metadata,
            **kwargs,
        )

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, float):
            value = repr(value)
        number = super()._deserialize(value, attr, data, **kwargs)
        if number.as_tuple().exponent < -3:
            raise ValidationError("At most three decimal places.")
        return number


class Temperature(fields.Decimal):
    """A body temperature in °C, one decimal."""

    def __init__(self, **kwargs):
        metadata = {"minimum": 34, "maximum": 43, **kwargs.pop("metadata", {})}
        super().__init__(
            as_string=True, validate=validate.Range(min=34, max=43), metadata=metadata, **kwargs
        )

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, float):
            value = repr(value)
        number = super()._deserialize(value, attr, data, **kwargs)
        if number.as_tuple().exponent < -1:
            raise ValidationError("At most one decimal place.")
        return number


def code_text(**kwargs) -> fields.String:
    """A lot, batch or document number: letters, digits and _.- (up to 40)."""
    return fields.String(
        validate=validate.Regexp(CODE_TEXT, error="Letters, digits and _.- only (1–40)."),
        **kwargs,
    )


class StrictSchema(Schema):
    """Unknown fields are an error, never silently dropped."""

    class Meta:
        """Refuse unknown fields."""

        unknown = RAISE


class LocalDateTime(fields.DateTime):
    """An aware datetime shown in Asia/Shanghai, ISO 8601 with offset."""

    def _serialize(self, value, attr, obj, **kwargs):
        return super()._serialize(to_local(value) if value else value, attr, obj, **kwargs)


def decimal_text(value) -> str | None:
    """A decimal as text without trailing zeros (``0.050000`` → ``0.05``)."""
    if value is None:
        return None
    return format(value.normalize(), "f")
