"""Schemas of the scan API: they validate the query, document the consumer view and build
the answer (:func:`answer_json`).

The answer is dumped in two parts by the one schema that documents it: the batch's story
(product, workshop, batch, tests, verdict, inspection, cameras) once, when the view is built
and cached (:func:`dump_story`), and this scan's head (code, alerts, scan) on every scan.
"""

from __future__ import annotations

import json

from marshmallow import Schema, fields, post_dump, validate


class ScanArgsSchema(Schema):
    """Optional context a client may add to a scan."""

    region = fields.String(
        load_default=None,
        validate=validate.Length(max=50),
        metadata={
            "description": "Ignored (accepted so that older clients are not refused): the "
            "region of a scan is read on the server from the client's address, never taken "
            "from the client"
        },
    )


class ScanLinkArgsSchema(ScanArgsSchema):
    """What the mini-program receives when WeChat opens it from a printed QR code."""

    q = fields.String(
        required=True,
        validate=validate.Length(min=1, max=2048),
        metadata={"description": "The URL-encoded printed link, as WeChat passes it"},
    )
    scancode_time = fields.Integer(load_default=None, metadata={"description": "Unix time"})


class CodeSectionSchema(Schema):
    """The scanned code."""

    code = fields.String(metadata={"example": "W22XQRTG31T00D0J5"})
    kind = fields.String(metadata={"example": "unit"})
    serial = fields.Integer(metadata={"example": 3})
    url = fields.String(metadata={"example": "https://yipin.example.cn/t/W22XQRTG31T00D0J5"})
    digital_link = fields.String(allow_none=True)


class EvidenceSchema(Schema):
    """One piece of evidence behind a counterfeit warning."""

    kind = fields.String(
        metadata={
            "example": "distant_regions",
            "enum": ["many_visitors", "distant_regions", "voided_code", "not_released"],
        }
    )
    message = fields.String(
        metadata={
            "example": "此码在 6 小时内分别在北京市和新疆维吾尔自治区被查询，两地相距约 2410 公里。"
        }
    )

    @post_dump(pass_original=True)
    def keep_facts(self, data: dict, original: dict, **kwargs) -> dict:
        """The facts the evidence rests on (networks, provinces, distance) stay with it."""
        return {**original, **data}


class AlertSchema(Schema):
    """Something the consumer must read first."""

    level = fields.String(metadata={"example": "danger"})
    kind = fields.String(
        metadata={
            "example": "recalled",
            "enum": ["recalled", "held", "expired", "counterfeit_suspected"],
        }
    )
    message = fields.String(metadata={"example": "该批次产品已召回，请勿食用，可联系经营者退货。"})
    reason = fields.String()
    evidence = fields.List(
        fields.Nested(EvidenceSchema),
        metadata={"description": "counterfeit_suspected only: what the warning rests on"},
    )


class ScanSectionSchema(Schema):
    """This scan."""

    number = fields.Integer(metadata={"example": 2})
    first_scanned_at = fields.String(metadata={"example": "2026-11-20T12:03:00+08:00"})
    repeat = fields.Boolean(metadata={"description": "the code was looked up before"})
    visitor_repeat = fields.Boolean(
        metadata={"description": "this visitor looked the code up before (not another consumer)"}
    )
    recorded = fields.Boolean(
        metadata={"description": "false for a request that is not a scan (HEAD, a crawler)"}
    )
    notice = fields.String(
        allow_none=True, metadata={"example": "第 3 次查询，首次查询于 2026年11月20日 12:03"}
    )


class VerdictSchema(Schema):
    """The batch's public test verdict, as the status panel shows it: from results judged
    against verified limits only; "pending" while a rapid screen awaits the lab or nothing
    decides."""

    result = fields.String(
        validate=validate.OneOf(["pass", "fail", "pending"]), metadata={"example": "pass"}
    )
    date = fields.String(
        allow_none=True,
        metadata={"description": "day of the deciding result", "example": "2026-11-22"},
    )


class ScanViewSchema(Schema):
    """The consumer view: alerts first, then the product, workshop, batch and tests."""

    code = fields.Nested(CodeSectionSchema)
    alerts = fields.List(fields.Nested(AlertSchema))
    scan = fields.Nested(ScanSectionSchema)
    product = fields.Dict(
        metadata={
            "example": {
                "name": "半里红曲酒",
                "specification": "500mL/瓶",
                "gtin": "06941234567010",
                "shelf_life_days": None,
            }
        }
    )
    workshop = fields.Dict(
        metadata={
            "example": {
                "name": "长泰区四大桶红曲酒坊",
                "registration_no": "XZF3506252024001",
                "trademark": "四大桶",
                "zone": {"code": "banli", "name_zh": "半里小作坊集中加工区"},
                "registration": {
                    "valid": False,
                    "state": "expired",
                    "valid_until": "2026-06-30",
                    "message": "该作坊的登记证已于 2026年6月30日 过期，尚未换证。",
                },
            }
        }
    )
    batch = fields.Dict(
        metadata={
            "example": {
                "batch_no": "SDT-20261120-01",
                "state": "released",
                "produced_on": "2026-11-20",
                "made_after_expiry": True,
                "raw_materials": [
                    {
                        "material": "糯米",
                        "lot_no": "YL20261115-RICE03",
                        "supplier": {"name": "漳州市丰谷粮油商行"},
                        "acceptance": {"result": "accepted"},
                    }
                ],
                "additives": [],
            }
        }
    )
    tests = fields.List(
        fields.Dict(),
        metadata={
            "description": "Results judged by limits checked against the official text only.",
            "example": [
                {
                    "item": "苯甲酸及其钠盐",
                    "kind": "lab",
                    "value": "0",
                    "unit": "g/kg",
                    "limit": {
                        "comparison": "not_permitted",
                        "value": None,
                        "standard": "GB 2760-2024",
                        "verified": True,
                    },
                    "verdict": "pass",
                    "agency": "半星红酒厂实验室（食品检测联盟）",
                }
            ],
        },
    )
    verdict = fields.Nested(VerdictSchema)
    inspection = fields.Dict(
        allow_none=True, metadata={"example": {"date": "2026-09-01", "outcome": "satisfactory"}}
    )
    cameras = fields.List(
        fields.Dict(),
        metadata={
            "example": [
                {
                    "area": "production",
                    "name": "生产加工区",
                    "live": False,
                    "live_from": "06:00",
                    "live_until": "20:00",
                }
            ]
        },
    )


HEAD_FIELDS = ("code", "alerts", "scan")
STORY_FIELDS = ("product", "workshop", "batch", "tests", "verdict", "inspection", "cameras")
_head = ScanViewSchema(only=HEAD_FIELDS)
_story = ScanViewSchema(only=STORY_FIELDS)


def dump_story(view: dict) -> dict:
    """The batch's part of the answer, as the schema dumps it (the view that is cached)."""
    return _story.dump(view)


def answer_json(head: dict, story: dict) -> str:
    """The answer's JSON text: this scan's *head* (code, alerts, scan) dumped by the schema,
    followed by the batch's *story* (already dumped by :func:`dump_story`)."""
    return json.dumps({**_head.dump(head), **story}, ensure_ascii=False)
