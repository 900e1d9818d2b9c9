"""Marshmallow schemas for registry objects, shared by the API and the portal."""

from __future__ import annotations

from marshmallow import Schema, fields


class BrandSchema(Schema):
    """A zone brand."""

    code = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    slogan_zh = fields.String()
    slogan_en = fields.String()


class ZoneSchema(Schema):
    """A processing zone with its brands and how many workshops it holds."""

    code = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    township = fields.String()
    district = fields.String()
    city = fields.String()
    province = fields.String()
    story_zh = fields.String()
    workshop_count = fields.Integer()
    brands = fields.List(fields.Nested(BrandSchema))
