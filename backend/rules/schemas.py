"""A limit row of the rule base as the API shows it."""

from __future__ import annotations

from marshmallow import Schema, fields

from backend.core.fields import decimal_text
from backend.samples.announcements import standard_text


class StandardLimitSchema(Schema):
    """The standards-table row a verdict came from; `verified` false means unchecked."""

    category_code = fields.String()
    comparison = fields.String()
    value = fields.Function(lambda limit: decimal_text(limit.limit_value), allow_none=True)
    unit = fields.String()
    standard = fields.String()
    clause = fields.String()
    text = fields.Function(standard_text, metadata={"example": "≤0.5 mg/kg"})
    verified = fields.Boolean(
        metadata={"description": "False until the number is checked against the official text."}
    )
