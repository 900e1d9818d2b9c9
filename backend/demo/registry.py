"""The demo's registry: the bureau's people, the zone and its brands, suppliers, the 44 filed
workshops with their certificates, staff, products and operator accounts."""

from __future__ import annotations

from datetime import timedelta

from backend.accounts.models import MemberRole, Role, User, WorkshopMembership
from backend.codes.gs1 import gs1_check_digit
from backend.demo import facts
from backend.demo.builder import Builder, at
from backend.extensions import db
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


class RegistrySeed(Builder):
    """People, the zone, suppliers and workshops."""

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
