"""Build the Banli demo: 44 filed workshops, 60 days of production, ledgers, tests and scans.

Idempotent: when the zone exists the data is left alone, and the report is drawn from what
is there. Everything is flushed in one transaction; the command commits once at the end.
Randomness is seeded, so two fresh databases get the same shape of data (codes and stream
keys are random on purpose: they are secrets).
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import and_, func, insert, or_, select

from backend.accounts.models import MemberRole, Role, User, WorkshopMembership
from backend.audit.models import AuditLog
from backend.batches import states as batch_rules
from backend.batches.models import AdditiveUse, Batch, BatchInput, BatchState
from backend.cameras.models import Camera, CameraArea, CameraEvent, CameraEventKind
from backend.codes.codegen import generate_codes
from backend.codes.gs1 import gs1_check_digit
from backend.codes.models import (
    CodeIssuance,
    CodeKind,
    ScanChannel,
    ScanEvent,
    UnitCode,
)
from backend.codes.urls import digital_link, scan_url
from backend.complaints.models import Complaint, ComplaintChannel, ComplaintStatus
from backend.core.models import Base
from backend.core.time import SHANGHAI, local_today, utcnow
from backend.demo import facts
from backend.extensions import db
from backend.inspections.models import (
    ChecklistItem,
    Hazard,
    HazardStatus,
    Inspection,
    InspectionItem,
    InspectionOutcome,
    ItemResult,
    Rectification,
)
from backend.ledgers import entries as ledger_payloads
from backend.ledgers.chain import append_entry
from backend.ledgers.models import Buyer, LedgerKind, RawMaterialLot, Shipment, ShipmentItem
from backend.plans.models import SamplingPlan
from backend.registry.models import (
    Brand,
    HealthCertificate,
    Product,
    ProductCategory,
    Staff,
    StaffRole,
    Supplier,
    Workshop,
    WorkshopStatus,
    WorkshopStatusChange,
    Zone,
)
from backend.rules import additives, standards
from backend.samples.models import (
    Qualitative,
    Sample,
    SampleStatus,
    TaskSource,
    TestKind,
    TestResult,
)
from backend.training.models import Training, TrainingAttendance

DAYS = 60
RANDOM_SEED = 20261126
CODES_PER_BATCH = {"huangjiu": 24}
DEFAULT_CODES_PER_BATCH = 12


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


# The code the demo makes suspicious (scanned often and far apart): serial 1 of the CHEN
# workshop's batches, up to SUSPICIOUS_SCANS times. The advertised samples avoid it.
SUSPICIOUS_BATCH_PREFIX, SUSPICIOUS_SERIAL, SUSPICIOUS_SCANS = "CHEN", 1, 25


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


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A moment of a local (Asia/Shanghai) day, as an aware datetime."""
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


class DemoBuilder:
    """Builds the demo rows; every method flushes, none commits."""

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

    # -- the whole build ------------------------------------------------------------------

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

    @property
    def zone_workshop_list(self) -> list[Workshop]:
        """The zone's workshops."""
        return [w for _, w, _ in self.zone_workshops]

    # -- people ---------------------------------------------------------------------------

    def users(self) -> None:
        """The bureau's regulator and the two kinds of inspector."""
        self.regulator = User(
            role=Role.REGULATOR,
            username="regulator",
            display_name="长泰区市场监督管理局 王科长",
            organisation="长泰区市场监督管理局",
        )
        self.lab_inspector = User(
            role=Role.INSPECTOR,
            username="lab",
            display_name="检测联盟实验室 陈工",
            organisation=facts.LAB_AGENCY,
        )
        self.vehicle_inspector = User(
            role=Role.INSPECTOR,
            username="vehicle",
            display_name="快检车 刘检测员",
            organisation=facts.VEHICLE,
        )
        db.session.add_all([self.regulator, self.lab_inspector, self.vehicle_inspector])
        db.session.flush()

    def person(self) -> str:
        """An invented Chinese name."""
        return self.rng.choice(facts.SURNAMES) + self.rng.choice(facts.GIVEN)

    def phone(self) -> str:
        """An invented mobile number."""
        return "13" + "".join(str(self.rng.randrange(10)) for _ in range(9))

    # -- registry -------------------------------------------------------------------------

    def zone(self) -> None:
        """The Banli zone and its two brands."""
        self.the_zone = Zone(**facts.ZONE)
        db.session.add(self.the_zone)
        db.session.flush()
        for spec in facts.BRANDS:
            brand = Brand(zone_id=self.the_zone.id, **spec)
            db.session.add(brand)
            self.brands[spec["code"]] = brand
        db.session.flush()

    def supplier_rows(self) -> None:
        """The zone's unified raw material suppliers."""
        for key, (name, licence, address, contact, phone, supplies) in facts.SUPPLIERS.items():
            supplier = Supplier(
                name=name,
                licence_no=licence,
                address=address,
                contact_name=contact,
                contact_phone=phone,
                supplies=supplies,
            )
            db.session.add(supplier)
            self.suppliers[key] = supplier
        db.session.flush()

    def registration_no(self, year: int) -> str:
        """The next registration certificate number (登记证编号)."""
        self.reg_serial += 1
        return f"XZF350625{year}{self.reg_serial:03d}"

    def workshop(
        self,
        name,
        operator,
        categories,
        *,
        township,
        address,
        zone=None,
        brand=None,
        status=WorkshopStatus.ACTIVE,
        trademark=None,
        licence_no=None,
    ) -> Workshop:
        """File one workshop with its certificate, product types and staff."""
        issued = self.today - timedelta(days=self.rng.randrange(200, 1400))
        long_term = self.rng.random() < 0.2
        workshop = Workshop(
            registration_no=self.registration_no(issued.year),
            name=name,
            operator_name=operator,
            contact_phone=self.phone(),
            address=address,
            township=township,
            district=facts.ZONE["district"],
            zone_id=zone.id if zone else None,
            brand_id=brand.id if brand else None,
            status=WorkshopStatus.FILED,
            issuing_authority="漳州市长泰区市场监督管理局",
            cert_issued_on=issued,
            cert_long_term=long_term,
            cert_valid_until=None if long_term else issued + timedelta(days=3 * 365),
            layout_separated=zone is not None or self.rng.random() < 0.8,
            layout_checked_on=self.today - timedelta(days=self.rng.randrange(10, 200)),
            product_types=[db.session.get(ProductCategory, c) for c in categories],
        )
        db.session.add(workshop)
        db.session.flush()
        self.status(workshop, WorkshopStatus.ACTIVE, "完成登记备案，纳入监管", issued)
        if status is not WorkshopStatus.ACTIVE:
            reasons = {
                WorkshopStatus.UPGRADED: "升级为食品生产企业，取得食品生产许可证",
                WorkshopStatus.SUSPENDED: "检查发现问题，停产整改",
                WorkshopStatus.CANCELLED: "经营者申请注销",
                WorkshopStatus.FILED: "恢复为仅备案状态",
            }
            when = self.today - timedelta(days=self.rng.randrange(30, 150))
            workshop.licence_no, workshop.trademark = licence_no, trademark
            self.status(workshop, status, reasons[status], when, licence_no, trademark)
        self.staff_rows(workshop, operator, 3 if zone else 1)
        return workshop

    def status(self, workshop, to_status, reason, on, licence_no=None, trademark=None) -> None:
        """Record a status change in the workshop's history."""
        db.session.add(
            WorkshopStatusChange(
                workshop_id=workshop.id,
                from_status=workshop.status,
                to_status=to_status,
                reason=reason,
                licence_no=licence_no,
                trademark=trademark,
                changed_by_id=self.regulator.id,
                changed_at=at(on, 10),
            )
        )
        workshop.status = to_status
        db.session.flush()

    def staff_rows(self, workshop: Workshop, owner_name: str, workers: int) -> None:
        """The owner and workers, each with a health certificate (one close to expiry)."""
        people = [
            Staff(
                workshop_id=workshop.id,
                name=owner_name,
                role=StaffRole.OWNER,
                phone=workshop.contact_phone,
            )
        ]
        people += [
            Staff(
                workshop_id=workshop.id,
                name=self.person(),
                role=StaffRole.WORKER,
                phone=self.phone(),
            )
            for _ in range(workers)
        ]
        db.session.add_all(people)
        db.session.flush()
        for i, person in enumerate(people):
            issued = self.today - timedelta(days=self.rng.randrange(20, 340))
            if i == len(people) - 1 and workers:
                issued = self.today - timedelta(days=355)  # expires within ten days
            db.session.add(
                HealthCertificate(
                    staff_id=person.id,
                    cert_no=f"JKZ{issued:%Y}{workshop.id:03d}{i + 1:02d}",
                    issued_by="长泰区疾病预防控制中心",
                    issued_on=issued,
                    expires_on=issued + timedelta(days=365),
                )
            )
            if issued > self.start:  # last year's certificate covered the days before
                db.session.add(
                    HealthCertificate(
                        staff_id=person.id,
                        cert_no=f"JKZ{issued.year - 1}{workshop.id:03d}{i + 1:02d}",
                        issued_by="长泰区疾病预防控制中心",
                        issued_on=issued - timedelta(days=365),
                        expires_on=issued,
                    )
                )
        self.staff[workshop.id] = people
        db.session.flush()

    def product(self, workshop: Workshop, category: str, *, gtin: str | None = None) -> Product:
        """A product from the category's template."""
        name, name_en, spec, shelf, standard, ingredients, storage, alcohol = (
            facts.STEAMED if category == "steamed_dough" else facts.PRODUCTS[category]
        )
        brand = workshop.brand
        product = Product(
            workshop_id=workshop.id,
            category_code=category,
            brand_id=brand.id if brand else None,
            name=name if workshop.zone_id else name.replace("半里", ""),
            name_en=name_en,
            specification=spec,
            shelf_life_days=shelf,
            storage=storage,
            standard_executed=standard,
            ingredients=ingredients,
            labelled_alcohol=alcohol,
            gtin=gtin,
        )
        db.session.add(product)
        db.session.flush()
        return product

    def zone_workshop_rows(self) -> None:
        """The ten zone workshops, their products and an operator account each."""
        for i, (key, name, operator, cats, brand, status, mark, licence) in enumerate(
            facts.ZONE_WORKSHOPS
        ):
            workshop = self.workshop(
                name,
                operator,
                cats,
                township=facts.ZONE["township"],
                address=f"漳州市长泰区半里乡半里小作坊集中加工区{i + 1}号厂房",
                zone=self.the_zone,
                brand=self.brands[brand],
                status=WorkshopStatus(status),
                trademark=mark,
                licence_no=licence,
            )
            for category in cats:
                gtin = None
                if key == "sdt":  # 四大桶 has its own barcode
                    body = "0694" + "1234" + "56701"
                    gtin = body + gs1_check_digit(body)
                self.product(workshop, category, gtin=gtin)
            owner = User(
                role=Role.OPERATOR,
                display_name=operator,
                openid=f"demo-openid-{key}",
                phone=workshop.contact_phone,
            )
            db.session.add(owner)
            db.session.flush()
            db.session.add(
                WorkshopMembership(user_id=owner.id, workshop_id=workshop.id, role=MemberRole.OWNER)
            )
            self.staff[workshop.id][0].user_id = owner.id
            self.zone_workshops.append((key, workshop, owner))
        db.session.flush()

    def district_workshop_rows(self) -> None:
        """The 34 other filed workshops of the district, outside the zone."""
        # All 44 stay on file: two suspended for rectification, three filed but not producing.
        statuses = [WorkshopStatus.SUSPENDED] * 2 + [WorkshopStatus.FILED] * 3
        for i in range(34):
            owner = self.person()
            trade, cats = facts.OTHER_TRADES[i % len(facts.OTHER_TRADES)]
            town = facts.TOWNS[i % len(facts.TOWNS)]
            village = facts.VILLAGES[(i * 3) % len(facts.VILLAGES)]
            status = statuses[i] if i < len(statuses) else WorkshopStatus.ACTIVE
            workshop = self.workshop(
                f"长泰区{town}{owner[0]}记{trade}",
                owner,
                cats,
                township=town,
                address=f"漳州市长泰区{town}{village}{self.rng.randrange(1, 200)}号",
                status=status,
            )
            self.product(workshop, cats[0])
            self.other_workshops.append(workshop)

    def sampling_plans(self) -> dict[str, SamplingPlan]:
        """This year's sampling tasks."""
        year = self.today.year
        plans = {
            "district": SamplingPlan(
                year=year,
                name=f"{year}年长泰区食品安全监督抽检",
                task_source=TaskSource.DISTRICT,
                testing_agency=facts.LAB_AGENCY,
            ),
            "municipal": SamplingPlan(
                year=year,
                name=f"{year}年漳州市食品小作坊专项抽检",
                task_source=TaskSource.SPECIAL,
                testing_agency=facts.LAB_AGENCY,
            ),
            "routine": SamplingPlan(
                year=year,
                name=f"{year}年快检车日常快检",
                task_source=TaskSource.ROUTINE,
                testing_agency=facts.VEHICLE,
            ),
        }
        db.session.add_all(plans.values())
        db.session.flush()
        return plans

    # -- production -----------------------------------------------------------------------

    def note(
        self, workshop: Workshop, kind: LedgerKind, when: datetime, payload: dict, **links
    ) -> None:
        """Queue a ledger entry; chains are written in time order at the end."""
        self.ledger.setdefault(workshop.id, []).append(
            {"kind": kind, "occurred_at": when, "payload": payload, **links}
        )

    def production(self, key: str, workshop: Workshop, owner: User) -> None:
        """Sixty days of deliveries, batches, tests, codes, sales and daily checks."""
        buyers = [
            Buyer(workshop_id=workshop.id, name=n, address=a, contact_name=c, contact_phone=p)
            for n, a, c, p in facts.BUYERS
        ]
        db.session.add_all(buyers)
        db.session.flush()
        lots = self.deliveries(workshop, owner)
        products = workshop.products
        produced = []
        day, n = self.start + timedelta(days=self.rng.randrange(3)), 0
        while day <= self.today:
            product = products[n % len(products)]
            produced.append(self.batch(key, workshop, owner, product, day, lots, n))
            n += 1
            day += timedelta(days=3)
        self.trouble(key, produced)
        for batch in produced:
            self.tests(batch)
        for batch in produced:
            if batch.state in (BatchState.RELEASED, BatchState.HELD, BatchState.RECALLED):
                self.issue_codes(batch, owner)
                self.ship(workshop, batch, buyers)
        self.daily_checks(workshop)

    def deliveries(self, workshop: Workshop, owner: User) -> dict[str, list[RawMaterialLot]]:
        """Raw material lots received every week, with acceptance (进货查验)."""
        lots: dict[str, list[RawMaterialLot]] = {}
        materials = {
            m for c in [p.category_code for p in workshop.products] for m in facts.MATERIALS[c]
        }
        for name, supplier_key, unit, shelf, additive in sorted(materials):
            day, serial = self.start - timedelta(days=7), 0
            while day <= self.today:
                serial += 1
                supplier = self.suppliers[supplier_key]
                produced = day - timedelta(days=self.rng.randrange(1, 20 if shelf > 30 else 2))
                lot = RawMaterialLot(
                    workshop_id=workshop.id,
                    supplier_id=supplier.id,
                    lot_no=f"YL{day:%Y%m%d}-{supplier_key.upper()}{serial:02d}",
                    material_name=name,
                    is_additive=additive,
                    specification="25kg/袋" if unit == "kg" and shelf > 30 else "散装",
                    quantity=Decimal(self.rng.choice([50, 100, 150, 200])),
                    unit=unit,
                    supplier_batch_no=f"{produced:%Y%m%d}{self.rng.randrange(1, 9)}",
                    produced_on=produced,
                    shelf_life_days=shelf,
                    expires_on=produced + timedelta(days=shelf),
                    purchased_on=day,
                    supplier_licence_checked=True,
                    certificate_checked=True,
                    sensory_ok=True,
                    accepted_by_id=owner.id,
                )
                db.session.add(lot)
                db.session.flush()
                lots.setdefault(name, []).append(lot)
                self.note(
                    workshop,
                    LedgerKind.RAW_ACCEPTANCE,
                    at(day, 7, 30),
                    ledger_payloads.acceptance_payload(lot),
                    raw_lot=lot,
                )
                day += timedelta(days=7 if shelf > 30 else 3)
        return lots

    def batch(self, key, workshop, owner, product, day, lots, n) -> Batch:
        """One batch through its states, using the latest lots received before it."""
        batch = Batch(
            batch_no=f"{key.upper()}-{day:%Y%m%d}-{n % 9 + 1:02d}",
            workshop_id=workshop.id,
            product_id=product.id,
            produced_on=day,
            expires_on=day + timedelta(days=product.shelf_life_days)
            if product.shelf_life_days
            else None,
            planned_quantity=Decimal(self.rng.choice([60, 80, 120, 200])),
            unit="瓶" if product.category_code == "huangjiu" else "件",
            process_notes=self.process_notes(product.category_code),
            created_by_id=owner.id,
        )
        db.session.add(batch)
        db.session.flush()
        for name, *_ in facts.MATERIALS[product.category_code]:
            usable = [lot for lot in lots[name] if lot.purchased_on <= day]
            lot = usable[-1] if usable else lots[name][0]
            db.session.add(
                BatchInput(
                    batch_id=batch.id,
                    raw_lot_id=lot.id,
                    quantity=Decimal(self.rng.choice([5, 10, 20, 25])),
                    unit=lot.unit,
                )
            )
        additive = facts.ADDITIVES.get(product.category_code)
        if additive:
            name, purpose, amount, unit = additive
            additive_lot = next(
                (lot for lot in reversed(lots.get(name, [])) if lot.purchased_on <= day), None
            )
            db.session.add(
                AdditiveUse(
                    batch_id=batch.id,
                    raw_lot_id=additive_lot.id if additive_lot else None,
                    additive_name=name,
                    additive_code=additives.resolve(name).code,
                    purpose=purpose,
                    amount=Decimal(amount),
                    unit=unit,
                )
            )
        db.session.flush()
        self.note(
            workshop,
            LedgerKind.PRODUCTION,
            at(day, 9),
            ledger_payloads.production_payload(batch, batch.process_notes, stage="opened"),
            batch=batch,
        )
        for use in batch.additive_uses:
            self.note(
                workshop,
                LedgerKind.ADDITIVE_USE,
                at(day, 9, 30),
                ledger_payloads.additive_payload(batch, use),
                batch=batch,
            )
        batch_rules.change_state(
            batch, BatchState.IN_PRODUCTION, by_user_id=owner.id, at=at(day, 8)
        )
        age = (self.today - day).days
        if age >= 2:
            batch_rules.change_state(
                batch, BatchState.PENDING_RELEASE, by_user_id=owner.id, at=at(day, 17)
            )
        if age >= 3:
            release_day = day + timedelta(days=1)
            batch_rules.change_state(
                batch,
                BatchState.RELEASED,
                by_user_id=owner.id,
                reason="出厂检验合格",
                at=at(release_day, 8),
            )
            self.note(
                workshop,
                LedgerKind.OUTGOING_INSPECTION,
                at(release_day, 8),
                ledger_payloads.inspection_payload(
                    batch,
                    inspection_cert_no=f"CJ{batch.batch_no}",
                    items=["感官", "净含量", "标签"],
                    result="pass",
                ),
                batch=batch,
            )
        return batch

    @staticmethod
    def process_notes(category: str) -> str:
        """What the process record says for a category."""
        return {
            "huangjiu": "浸米24小时→蒸饭→摊凉→拌红曲→入缸发酵30天→压榨→煎酒85℃→灌装",
            "bean_products": "黑豆浸泡8小时→磨浆→煮浆95℃→点卤→压制成型→冷却",
            "dried_tofu": "黑豆浸泡→磨浆→煮浆→点卤→压制→切块→卤制→冷却包装",
            "cakes": "糯米粉与糖拌匀→加红曲米粉→蒸制40分钟→冷却→切块包装",
            "meat_products": "鲜肉绞碎→手工捶打→调味→成型→水煮→速冻-18℃",
            "dough_products": "和面→醒面→搓条→拉丝→晾晒→包装",
        }.get(category, "")

    def trouble(self, key: str, produced: list[Batch]) -> None:
        """A held wine batch (positive screen) and a recalled tofu batch (lab fail)."""
        released = [b for b in produced if b.state is BatchState.RELEASED]
        if key == "lin" and released:
            batch = released[-1]
            batch_rules.change_state(
                batch,
                BatchState.HELD,
                by_user_id=self.vehicle_inspector.id,
                reason="快检车苯甲酸快检呈阳性，已暂停销售，样品送实验室复检。",
                at=at(self.today - timedelta(days=1), 10),
            )
        if key == "zheng" and len(released) > 4:
            batch = released[-4]
            batch_rules.change_state(
                batch,
                BatchState.RECALLED,
                by_user_id=self.regulator.id,
                reason="实验室检出苯甲酸（豆制品中不得使用），批次已召回。",
                at=at(batch.produced_on + timedelta(days=4), 15),
            )

    def result(
        self,
        sample,
        category,
        item,
        *,
        kind,
        value=None,
        qualitative=None,
        method="",
        when,
        by,
        labelled=None,
        confirms=None,
    ) -> TestResult:
        """One result whose verdict comes from the standards table."""
        limit = standards.limit_for(category, item)
        verdict = standards.judge(
            limit, kind=kind, value=value, qualitative=qualitative, labelled=labelled
        )
        result = TestResult(
            sample_id=sample.id,
            standard_limit_id=limit.id,
            item_code=item,
            method=method,
            value=Decimal(str(value)) if value is not None else None,
            unit=limit.unit,
            qualitative=qualitative,
            verdict=verdict,
            tested_at=when,
            tested_by_id=by.id,
            device_no="KJC-03" if kind is TestKind.RAPID else "",
            confirms_id=confirms.id if confirms else None,
        )
        db.session.add(result)
        db.session.flush()
        return result

    def tests(self, batch: Batch) -> None:
        """Rapid screens on most batches, lab tests on some; the troubled ones fail."""
        category = batch.product.category_code
        day = batch.produced_on + timedelta(days=1)
        if day > self.today:
            return
        index = int(batch.batch_no[-2:])
        if batch.state is BatchState.HELD or index % 2 == 0:
            self.rapid(batch, category, day)
        if batch.state is BatchState.RECALLED or index % 3 == 0:
            self.lab(batch, category, day)

    def sample(self, batch, kind, day, plan_key) -> Sample:
        """A sample of the batch."""
        plan = self.plans[plan_key]
        prefix = "KJ" if kind is TestKind.RAPID else "CJ"
        sample = Sample(
            sample_no=f"{prefix}{day:%Y%m%d}{batch.id:04d}",
            kind=kind,
            plan_id=plan.id,
            workshop_id=batch.workshop_id,
            product_id=batch.product_id,
            batch_id=batch.id,
            task_source=plan.task_source,
            sampled_at=at(day, 10),
            sampled_by_id=(
                self.vehicle_inspector if kind is TestKind.RAPID else self.lab_inspector
            ).id,
            sampling_place=batch.workshop.name,
            testing_agency=plan.testing_agency,
            station=facts.VEHICLE if kind is TestKind.RAPID else facts.LAB_AGENCY,
            status=SampleStatus.COMPLETED,
        )
        db.session.add(sample)
        db.session.flush()
        return sample

    def rapid(self, batch: Batch, category: str, day: date) -> None:
        """The rapid-test vehicle: alcohol, preservatives, mycotoxins on site."""
        sample = self.sample(batch, TestKind.RAPID, day, "routine")
        when, by = at(day, 10, 30), self.vehicle_inspector
        held = batch.state is BatchState.HELD
        if category == "huangjiu":
            labelled = batch.product.labelled_alcohol
            self.result(
                sample,
                category,
                "alcohol",
                kind=TestKind.RAPID,
                method="酒精计法",
                value=round(labelled + self.rng.uniform(-0.4, 0.4), 1),
                labelled=labelled,
                when=when,
                by=by,
            )
            self.result(
                sample,
                category,
                "benzoic_acid",
                kind=TestKind.RAPID,
                method="胶体金法",
                when=when,
                by=by,
                qualitative=Qualitative.POSITIVE if held else Qualitative.NEGATIVE,
            )
        elif category in ("bean_products", "dried_tofu", "cakes"):
            self.result(
                sample,
                category,
                "benzoic_acid",
                kind=TestKind.RAPID,
                method="快检试剂盒",
                qualitative=Qualitative.NEGATIVE,
                when=when,
                by=by,
            )
        elif category in ("meat_products", "dough_products"):
            self.result(
                sample,
                category,
                "borax",
                kind=TestKind.RAPID,
                method="试纸法",
                qualitative=Qualitative.NEGATIVE,
                when=when,
                by=by,
            )
        if category == "bean_products":
            self.result(
                sample,
                category,
                "aflatoxin_b1",
                kind=TestKind.RAPID,
                method="胶体金法",
                qualitative=Qualitative.NEGATIVE,
                when=when,
                by=by,
            )
        if held:
            sample.status = SampleStatus.COMPLETED
            lab = self.sample(batch, TestKind.LAB, self.today, "district")
            lab.status = SampleStatus.TESTING  # awaiting the lab's confirmation

    def lab(self, batch: Batch, category: str, day: date) -> None:
        """The inspection alliance's laboratory: the numbers that decide."""
        sample = self.sample(batch, TestKind.LAB, day, "district")
        when, by = at(day + timedelta(days=2), 15), self.lab_inspector
        method = "GB 5009.28"
        if batch.state is BatchState.RECALLED:
            self.result(
                sample,
                category,
                "benzoic_acid",
                kind=TestKind.LAB,
                method=method,
                value="0.12",
                when=when,
                by=by,
            )
        elif category in ("bean_products", "dried_tofu", "cakes", "huangjiu"):
            self.result(
                sample,
                category,
                "benzoic_acid",
                kind=TestKind.LAB,
                method=method,
                value="0",
                when=when,
                by=by,
            )
        if category == "huangjiu":
            labelled = batch.product.labelled_alcohol
            self.result(
                sample,
                category,
                "alcohol",
                kind=TestKind.LAB,
                method="GB 5009.225",
                value=round(labelled + self.rng.uniform(-0.3, 0.3), 1),
                labelled=labelled,
                when=when,
                by=by,
            )
            self.result(
                sample,
                category,
                "lead",
                kind=TestKind.LAB,
                method="GB 5009.12",
                value=round(self.rng.uniform(0.01, 0.08), 3),
                when=when,
                by=by,
            )
        elif category in ("bean_products", "dried_tofu"):
            self.result(
                sample,
                category,
                "aluminium",
                kind=TestKind.LAB,
                method="GB 5009.182",
                value=round(self.rng.uniform(5, 30), 1),
                when=when,
                by=by,
            )
        elif category == "cakes":
            self.result(
                sample,
                category,
                "sorbic_acid",
                kind=TestKind.LAB,
                method=method,
                value=round(self.rng.uniform(0.05, 0.4), 2),
                when=when,
                by=by,
            )
        elif category in ("meat_products", "dough_products"):
            self.result(
                sample,
                category,
                "borax",
                kind=TestKind.LAB,
                method="GB/T 21918",
                value="0",
                when=when,
                by=by,
            )
        if batch.state is not BatchState.HELD:
            sample.published_at = (
                at(day + timedelta(days=10), 9)
                if (day + timedelta(days=10) <= self.today)
                else None
            )

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

    def ship(self, workshop: Workshop, batch: Batch, buyers: list[Buyer]) -> None:
        """Sales records (销售记录) for a released batch."""
        if batch.released_at is None:
            return
        quantity = batch.planned_quantity or Decimal(50)
        for i, buyer in enumerate(self.rng.sample(buyers, 2)):
            day = batch.produced_on + timedelta(days=1 + i)
            if day > self.today:
                continue
            shipment = Shipment(
                workshop_id=workshop.id,
                buyer_id=buyer.id,
                document_no=f"XS-{batch.batch_no}-{i + 1}",
                shipped_on=day,
                inspection_cert_no=f"CJ{batch.batch_no}",
            )
            db.session.add(shipment)
            db.session.flush()
            part = (quantity / 2).quantize(Decimal(1))
            db.session.add(
                ShipmentItem(
                    shipment_id=shipment.id, batch_id=batch.id, quantity=part, unit=batch.unit
                )
            )
            db.session.flush()
            self.note(
                workshop,
                LedgerKind.SALE,
                at(day, 14),
                ledger_payloads.sale_payload(shipment),
                batch=batch,
                shipment=shipment,
            )

    def daily_checks(self, workshop: Workshop) -> None:
        """Morning health checks and cleaning records, with a few days missed."""
        staff = self.staff[workshop.id]
        day = self.start
        while day <= self.today:
            if self.rng.random() > 0.05:
                self.note(
                    workshop,
                    LedgerKind.MORNING_CHECK,
                    at(day, 6, 50),
                    {
                        "checks": [
                            ledger_payloads.staff_check(
                                s,
                                ledger_payloads.valid_certificate(s, day),
                                temperature=round(self.rng.uniform(36.1, 36.9), 1),
                                symptoms=False,
                                hand_wounds=False,
                                fit_for_work=ledger_payloads.valid_certificate(s, day) is not None,
                            )
                            for s in staff
                        ],
                    },
                )
            if self.rng.random() > 0.1:
                self.note(
                    workshop,
                    LedgerKind.CLEANING,
                    at(day, 18),
                    ledger_payloads.cleaning_payload(
                        "生产车间地面、操作台、容器工具",
                        "清水冲洗后84消毒液擦拭",
                        "84消毒液（1:200）",
                        self.rng.choice(staff),
                        "",
                    ),
                )
            day += timedelta(days=1)

    def write_ledgers(self) -> None:
        """Append each workshop's queued entries to its hash chain, in time order."""
        for workshop_id, entries in self.ledger.items():
            owner = next(u for _, w, u in self.zone_workshops if w.id == workshop_id)
            for entry in sorted(entries, key=lambda e: e["occurred_at"]):
                occurred = entry.pop("occurred_at")
                append_entry(
                    workshop_id=workshop_id,
                    occurred_at=occurred,
                    business_date=occurred.date(),
                    recorded_by_id=owner.id,
                    recorded_at=occurred + timedelta(minutes=self.rng.randrange(1, 20)),
                    **entry,
                )

    # -- supervision ----------------------------------------------------------------------

    def inspections(self, workshop: Workshop) -> None:
        """A yearly inspection for most workshops; zone workshops twice."""
        if workshop.status is WorkshopStatus.CANCELLED:
            return
        visits = 2 if workshop.zone_id else 1
        for visit in range(visits):
            if not workshop.zone_id and self.rng.random() < 0.1:
                day = date(self.today.year - 1, 11, 10 + visit)  # not yet inspected this year
            else:
                day = self.today - timedelta(days=self.rng.randrange(5, 300) // (visit + 1))
            inspection = Inspection(
                workshop_id=workshop.id, inspector_id=self.regulator.id, inspected_on=day
            )
            db.session.add(inspection)
            db.session.flush()
            findings = []
            for item in ChecklistItem:
                bad = self.rng.random() < 0.08
                findings.append((item, bad))
                db.session.add(
                    InspectionItem(
                        inspection_id=inspection.id,
                        item=item,
                        result=ItemResult.NON_COMPLIANT if bad else ItemResult.COMPLIANT,
                        note=self.finding(item) if bad else "",
                    )
                )
            problems = [item for item, bad in findings if bad]
            inspection.outcome = (
                InspectionOutcome.RECTIFY if problems else InspectionOutcome.SATISFACTORY
            )
            inspection.summary = (
                "现场检查发现问题，责令限期整改。" if problems else "现场检查未发现问题。"
            )
            for item in problems:
                self.hazard(inspection, workshop, item, day)
        db.session.flush()

    @staticmethod
    def finding(item: ChecklistItem) -> str:
        """What an inspector writes for a failed checklist item."""
        return {
            ChecklistItem.RAW_MATERIALS: "部分原料进货查验记录未留存供货者许可证复印件",
            ChecklistItem.SANITATION: "加工间地面有积水，排水沟未加盖",
            ChecklistItem.PROCESSING: "生熟工具未分开存放",
            ChecklistItem.ADDITIVES: "食品添加剂未专柜存放、未专人管理",
            ChecklistItem.STAFF_HEALTH: "一名从业人员健康证已过期",
            ChecklistItem.PACKAGING_LABELING: "标签未标注小作坊登记证编号",
            ChecklistItem.AREA_SEPARATION: "成品暂存区与生活区未有效隔离",
        }[item]

    def hazard(self, inspection, workshop, item, day) -> None:
        """A hazard with a deadline; older ones rectified and closed, one left overdue."""
        deadline = day + timedelta(days=15)
        hazard = Hazard(
            inspection_id=inspection.id,
            workshop_id=workshop.id,
            item=item,
            description=self.finding(item),
            deadline=deadline,
        )
        db.session.add(hazard)
        db.session.flush()
        if deadline < self.today and self.rng.random() < 0.85:
            done = at(deadline - timedelta(days=3), 16)
            db.session.add(
                Rectification(
                    hazard_id=hazard.id,
                    description="已按要求整改完毕，附整改照片。",
                    submitted_by_id=None,
                    accepted=True,
                    reviewed_by_id=self.regulator.id,
                    reviewed_at=done + timedelta(days=1),
                    review_note="复查合格",
                )
            )
            hazard.status, hazard.closed_at = HazardStatus.CLOSED, done + timedelta(days=1)
            hazard.closed_by_id = self.regulator.id
        elif deadline >= self.today:
            hazard.status = HazardStatus.RECTIFYING

    def cameras(self) -> None:
        """Three cameras per zone workshop, with a week of on/off history."""
        areas = [CameraArea.RAW_MATERIAL, CameraArea.WASHING, CameraArea.PRODUCTION]
        names = {
            CameraArea.RAW_MATERIAL: "原料区",
            CameraArea.WASHING: "清洗消毒区",
            CameraArea.PRODUCTION: "生产加工区",
        }
        for key, workshop, _ in self.zone_workshops:
            for area in areas:
                camera = Camera(
                    workshop_id=workshop.id,
                    area=area,
                    name=names[area],
                    stream_name=f"{key}-{area.value}",
                    stream_key=secrets.token_urlsafe(24),
                    live_from=time(6, 0),
                    live_until=time(20, 0),
                    created_at=at(self.today - timedelta(days=8), 9),  # before its history
                )
                db.session.add(camera)
                db.session.flush()
                events = []
                for back in range(7, 0, -1):
                    day = self.today - timedelta(days=back)
                    if self.rng.random() < 0.9:
                        events.append(
                            {
                                "camera_id": camera.id,
                                "kind": CameraEventKind.PUBLISH,
                                "at": at(day, 6, self.rng.randrange(0, 10)),
                                "client_addr": "127.0.0.1",
                            }
                        )
                        events.append(
                            {
                                "camera_id": camera.id,
                                "kind": CameraEventKind.PUBLISH_DONE,
                                "at": at(day, 20, self.rng.randrange(0, 10)),
                                "client_addr": "127.0.0.1",
                            }
                        )
                db.session.execute(insert(CameraEvent), events)
                if events:
                    camera.last_seen_at = events[-1]["at"]
        db.session.flush()

    def trainings(self) -> None:
        """Training sessions attended by the zone's owners and some staff."""
        for title, days_ago, organiser, place in facts.TRAININGS:
            training = Training(
                title=title,
                held_on=self.today - timedelta(days=days_ago),
                organiser=organiser,
                location=place,
                hours=2,
                content=title,
            )
            db.session.add(training)
            db.session.flush()
            for workshop in self.zone_workshop_list:
                for person in self.staff[workshop.id][:2]:
                    db.session.add(
                        TrainingAttendance(
                            training_id=training.id,
                            staff_id=person.id,
                            workshop_id=workshop.id,
                            attended=self.rng.random() < 0.95,
                            passed=self.rng.random() < 0.9,
                        )
                    )
        db.session.flush()

    def complaints(self) -> None:
        """Two complaints: one handled, one new and linked to a code."""
        tofu = self.zone_workshop_list[4]
        db.session.add(
            Complaint(
                reference=f"TS{self.today:%Y%m%d}001",
                channel=ComplaintChannel.PORTAL,
                workshop_id=tofu.id,
                content="买到的黑豆腐有酸味，怀疑不新鲜。",
                contact_name="李女士",
                contact_phone="13959612345",
                status=ComplaintStatus.CLOSED,
                reply="已到作坊核查，当日产品冷藏正常；已提醒经营者缩短销售时限。",
                handled_by_id=self.regulator.id,
                closed_at=at(self.today - timedelta(days=3), 16),
            )
        )
        code = db.session.scalar(select(UnitCode).order_by(UnitCode.id.desc()).limit(1))
        db.session.add(
            Complaint(
                reference=f"TS{self.today:%Y%m%d}002",
                channel=ComplaintChannel.SCAN_PAGE,
                workshop_id=code.batch.workshop_id if code else None,
                batch_id=code.batch_id if code else None,
                code_id=code.id if code else None,
                content="瓶盖封口有松动，请核实。",
                contact_phone="13859612345",
            )
        )
        db.session.flush()
