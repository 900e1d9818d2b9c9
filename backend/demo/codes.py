"""The demo's codes and scans: unit codes for every released batch (a batch code for loose
tofu), consumers' scans, and one code scanned suspiciously often and far away."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import insert, select

from backend.accounts.models import User
from backend.batches.models import Batch
from backend.codes.codegen import generate_codes
from backend.codes.models import CodeIssuance, CodeKind, ScanChannel, ScanEvent, UnitCode
from backend.core.time import utcnow
from backend.demo.builder import Builder, at
from backend.extensions import db

CODES_PER_BATCH = {"huangjiu": 24}
DEFAULT_CODES_PER_BATCH = 12
# The code the demo makes suspicious (scanned often and far apart): serial 1 of the CHEN
# workshop's batches, up to SUSPICIOUS_SCANS times. The advertised samples avoid it.
SUSPICIOUS_BATCH_PREFIX, SUSPICIOUS_SERIAL, SUSPICIOUS_SCANS = "CHEN", 1, 25


class CodesSeed(Builder):
    """Unit codes and scans."""

    def issue_codes(self, batch: Batch, owner: User) -> None:
        """Unit codes for every released batch, plus a batch code for loose tofu."""
        count = CODES_PER_BATCH.get(batch.product.category_code, DEFAULT_CODES_PER_BATCH)
        issued_at = at(batch.produced_on, 18)
        issuance = CodeIssuance(
            batch_id=batch.id,
            kind=CodeKind.UNIT,
            count=count,
            first_serial=1,
            issued_by_id=owner.id,
            created_at=issued_at,
        )
        db.session.add(issuance)
        db.session.flush()
        rows = [
            {
                "code": code,
                "batch_id": batch.id,
                "issuance_id": issuance.id,
                "serial": serial,
                "kind": CodeKind.UNIT,
                "created_at": issued_at,
                "scan_count": 0,
            }
            for serial, code in enumerate(generate_codes(count), start=1)
        ]
        if batch.product.category_code == "bean_products":
            loose = CodeIssuance(
                batch_id=batch.id,
                kind=CodeKind.BATCH,
                count=1,
                first_serial=count + 1,
                issued_by_id=owner.id,
                created_at=issued_at,
            )
            db.session.add(loose)
            db.session.flush()
            rows.append(
                {
                    "code": generate_codes(1)[0],
                    "batch_id": batch.id,
                    "issuance_id": loose.id,
                    "serial": count + 1,
                    "kind": CodeKind.BATCH,
                    "created_at": issued_at,
                    "scan_count": 0,
                }
            )
        db.session.execute(insert(UnitCode), rows)
        self.scans(batch)

    def scans(self, batch: Batch) -> None:
        """Some consumers scanned; one code was scanned suspiciously often and far away."""
        codes = db.session.scalars(
            select(UnitCode).where(UnitCode.batch_id == batch.id).order_by(UnitCode.serial)
        ).all()
        regions = ["福建省漳州市", "福建省厦门市", "福建省福州市", "广东省广州市"]
        events = []
        for code in codes[: self.rng.randrange(2, 6)]:
            suspicious = code.serial == SUSPICIOUS_SERIAL and batch.batch_no.startswith(
                SUSPICIOUS_BATCH_PREFIX
            )
            count = SUSPICIOUS_SCANS if suspicious else self.rng.randrange(1, 3)
            for i in range(count):
                when = at(batch.produced_on + timedelta(days=2 + i % 5), 12 + i % 8, i % 60)
                if when > utcnow():
                    continue
                region = (
                    "新疆维吾尔自治区乌鲁木齐市"
                    if suspicious and i % 2
                    else self.rng.choice(regions)
                )
                events.append(
                    {
                        "code_id": code.id,
                        "scanned_at": when,
                        "channel": self.rng.choice(list(ScanChannel)),
                        "region": region,
                        "visitor_hash": secrets.token_hex(32),
                    }
                )
        db.session.execute(insert(ScanEvent), events) if events else None
        for code in codes:
            mine = [e["scanned_at"] for e in events if e["code_id"] == code.id]
            if mine:
                code.scan_count = len(mine)
                code.first_scanned_at, code.last_scanned_at = min(mine), max(mine)
        db.session.flush()
