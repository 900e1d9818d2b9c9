"""Build the Banli demo: 44 filed workshops, 60 days of production, ledgers, tests and scans.

Idempotent: when the zone exists the data is left alone, and the report is drawn from what
is there. Everything is flushed in one transaction; the command commits once at the end.
Randomness is seeded, so two fresh databases get the same shape of data (codes and stream
keys are random on purpose: they are secrets).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select

from backend.audit.models import AuditLog
from backend.batches.models import Batch, BatchState
from backend.codes.models import CodeKind, UnitCode
from backend.codes.urls import digital_link, scan_url
from backend.core.models import Base
from backend.core.time import local_today, utcnow
from backend.demo import facts
from backend.demo.batches import BatchesSeed
from backend.demo.builder import DAYS
from backend.demo.cameras import CamerasSeed
from backend.demo.codes import SUSPICIOUS_BATCH_PREFIX, SUSPICIOUS_SERIAL, CodesSeed
from backend.demo.complaints import ComplaintsSeed
from backend.demo.inspections import InspectionsSeed
from backend.demo.lab import LabSeed
from backend.demo.ledgers import LedgersSeed
from backend.demo.registry import RegistrySeed
from backend.demo.training import TrainingSeed
from backend.extensions import db
from backend.registry.models import Product, Workshop, WorkshopStatus, Zone
from backend.rules import standards

RANDOM_SEED = 20261126


@dataclass(frozen=True)
class SampleScan:
    """A code worth scanning in the demo, and why."""

    label: str
    url: str
    batch_no: str
    state: str
    digital_link: str | None = None


@dataclass
class SeedReport:
    """What the seed did and what there is to look at."""

    created: bool
    counts: dict[str, int] = field(default_factory=dict)
    samples: list[SampleScan] = field(default_factory=list)

    def summary(self) -> str:
        """A few lines for the terminal."""
        head = (
            "演示数据已载入 Demo data loaded."
            if self.created
            else ("演示数据已存在，未作改动 Demo data already present; nothing changed.")
        )
        lines = [head]
        main = ("workshops", "products", "batches", "unit_codes", "ledger_entries", "test_results")
        lines.append("  " + ", ".join(f"{t}={self.counts.get(t, 0)}" for t in main))
        lines.append("试扫 Sample scans:")
        for sample in self.samples:
            lines.append(
                f"  [{sample.label}] batch {sample.batch_no} ({sample.state}): {sample.url}"
            )
            if sample.digital_link:
                lines.append(f"      GS1 Digital Link: {sample.digital_link}")
        return "\n".join(lines)


def row_counts() -> dict[str, int]:
    """Rows in every table, by table name."""
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in Base.metadata.sorted_tables
    }


def seed_demo() -> SeedReport:
    """Load the demo data unless the zone is already there; return the report."""
    created = db.session.scalar(select(Zone).where(Zone.code == facts.ZONE["code"])) is None
    if created:
        DemoBuilder(random.Random(RANDOM_SEED), local_today()).build()
        db.session.flush()
    return SeedReport(created=created, counts=row_counts(), samples=sample_scans())


def sample_scans() -> list[SampleScan]:
    """Pick the codes the seed advertises: normal, held or recalled, one with a GTIN, and a
    batch of a workshop whose registration has expired (the gate's note on the scan page).

    The normal ones come from workshops in good standing, so the first sample a newcomer
    opens is what a consumer usually sees.
    """
    today = local_today()
    good = and_(
        Workshop.status.in_([WorkshopStatus.ACTIVE, WorkshopStatus.UPGRADED]),
        or_(
            Workshop.status == WorkshopStatus.UPGRADED,
            Workshop.cert_long_term.is_(True),
            Workshop.cert_valid_until >= today,
        ),
    )
    expired = and_(
        Workshop.cert_long_term.is_not(True),
        Workshop.cert_valid_until < today,
        Workshop.status == WorkshopStatus.ACTIVE,
    )
    picks = [
        ("正常放行 released", [BatchState.RELEASED], False, good),
        ("暂控 held", [BatchState.HELD], None, None),
        ("已召回 recalled", [BatchState.RECALLED], None, None),
        ("带GTIN的产品 product with GTIN", [BatchState.RELEASED], True, good),
        ("登记证过期 registration expired", [BatchState.RELEASED], None, expired),
    ]
    samples = []
    for label, states, with_gtin, standing in picks:
        query = (
            select(UnitCode, Batch, Product)
            .join(Batch, UnitCode.batch_id == Batch.id)
            .join(Product, Batch.product_id == Product.id)
            .join(Workshop, Batch.workshop_id == Workshop.id)
            .where(Batch.state.in_(states), UnitCode.kind == CodeKind.UNIT)
            .order_by(Batch.produced_on.desc(), Batch.id, UnitCode.serial)
            .limit(1)
        )
        if standing is not None:
            # not the seed's suspicious code: a normal sample reads as a normal scan
            suspicious = and_(
                UnitCode.serial == SUSPICIOUS_SERIAL,
                Batch.batch_no.startswith(SUSPICIOUS_BATCH_PREFIX),
            )
            query = query.where(standing, ~suspicious)
        if with_gtin is True:
            query = query.where(Product.gtin.is_not(None))
        elif with_gtin is False:
            query = query.where(Product.gtin.is_(None))
        row = db.session.execute(query).first()
        if row is None:
            continue
        code, batch, product = row
        link = digital_link(product.gtin, batch.batch_no, code.code) if product.gtin else None
        samples.append(SampleScan(label, scan_url(code.code), batch.batch_no, batch.state, link))
    return samples


class DemoBuilder(
    RegistrySeed,
    BatchesSeed,
    LedgersSeed,
    LabSeed,
    CodesSeed,
    InspectionsSeed,
    CamerasSeed,
    TrainingSeed,
    ComplaintsSeed,
):
    """Builds the demo rows, one part per feature; every method flushes, none commits."""

    def build(self) -> None:
        """Build everything in dependency order."""
        standards.load_categories()
        standards.load_standards()
        self.users()
        self.zone()
        self.supplier_rows()
        self.zone_workshop_rows()
        self.district_workshop_rows()
        self.plans = self.sampling_plans()
        for key, workshop, owner in self.zone_workshops:
            self.production(key, workshop, owner)
        for workshop in self.zone_workshop_list + self.other_workshops:
            self.inspections(workshop)
        self.cameras()
        self.trainings()
        self.complaints()
        self.write_ledgers()
        db.session.add(
            AuditLog(
                at=utcnow(),
                actor_id=self.regulator.id,
                action="demo.seeded",
                object_type="zone",
                object_id=facts.ZONE["code"],
                details={"days": DAYS},
            )
        )
        db.session.flush()
