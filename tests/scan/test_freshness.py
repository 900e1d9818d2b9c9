"""Cached scan views stay fresh by one mechanism: the ORM events of backend/scan/freshness.py.

Each case changes one kind of row the consumer view shows straight through the ORM — no
service, no forget_* call — and commits; the next scan shows the change, in this worker and
in another worker that held a copy from before. Each case runs without Redis (the database
path) and on the machine's Redis (the Redis path).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from backend.batches.models import AdditiveUse, BatchInput, BatchState
from backend.cameras.models import Camera
from backend.codes.models import CodeStatus, UnitCode
from backend.inspections.models import Inspection, InspectionOutcome
from backend.ledgers.models import RawMaterialLot
from backend.rules import standards
from backend.samples.models import Sample, TaskSource, TestKind, TestResult
from backend.scan.caching import LocalEntries
from tests.factories import SupplierFactory


@pytest.fixture(params=["database", "redis"])
def path(request):
    """Run the test on the database path, then on the Redis path."""
    if request.param == "redis":
        request.getfixturevalue("on_redis")
    return request.param


class Workers:
    """Two workers' own copies, swapped in and out of the app (as two gunicorn workers)."""

    def __init__(self, app, monkeypatch):
        self.app, self.monkeypatch = app, monkeypatch
        self.copies = [app.extensions["scan_entries"], LocalEntries()]

    def scan_each(self, client, code: str) -> list[dict]:
        """The answer of each worker to a scan of *code* (None for a 404)."""
        answers = []
        for copies in self.copies:
            self.monkeypatch.setitem(self.app.extensions, "scan_entries", copies)
            response = client.get(f"/api/v1/scan/{code}")
            assert response.status_code in (200, 404), response.get_data(as_text=True)
            answers.append(response.get_json() if response.status_code == 200 else None)
        return answers


@pytest.fixture()
def workers(app, monkeypatch):
    """Two workers of one app."""
    return Workers(app, monkeypatch)


def fresh(client, db, workers, code: str, change, read) -> None:
    """Both workers cache the view; *change* (committed) shows on their next scans."""
    before = [read(answer) for answer in workers.scan_each(client, code)]
    change()
    db.session.commit()
    after = [read(answer) for answer in workers.scan_each(client, code)]
    assert before[0] == before[1] and before[0] != after[0], (before, after)
    assert after[0] == after[1], after


def test_a_held_batch(client, db, wine, path, workers):
    batch, codes = wine

    def hold():
        batch.state, batch.hold_reason = BatchState.HELD, "复检"

    fresh(client, db, workers, codes[0], hold, lambda a: a["batch"]["state"])


def test_the_batch_process_notes(client, db, wine, path, workers):
    batch, codes = wine

    def note():
        batch.process_notes = "发酵 30 天"

    fresh(client, db, workers, codes[0], note, lambda a: a["batch"]["process"])


def test_a_new_raw_material_and_a_changed_lot_and_supplier(client, db, wine, path, workers):
    batch, codes = wine
    lot = db.session.scalar(select(RawMaterialLot))
    supplier = SupplierFactory(name="漳州糯米行")
    db.session.commit()

    def add_input():
        other = RawMaterialLot(
            workshop_id=lot.workshop_id,
            supplier_id=supplier.id,
            lot_no="YL-2",
            material_name="糯米",
            quantity=Decimal(80),
            unit="kg",
            purchased_on=date(2026, 11, 16),
        )
        db.session.add(other)
        db.session.flush()
        db.session.add(BatchInput(batch_id=batch.id, raw_lot_id=other.id, quantity=1, unit="kg"))

    def materials(answer):
        rows = answer["batch"]["raw_materials"]
        return sorted((r["material"], r["lot_no"], r["supplier"]["name"]) for r in rows)

    fresh(client, db, workers, codes[0], add_input, materials)

    def rename_lot():
        lot.material_name = "古田红曲米"

    fresh(client, db, workers, codes[0], rename_lot, materials)

    def rename_supplier():
        supplier.name = "漳州市糯米商行"

    fresh(client, db, workers, codes[0], rename_supplier, materials)


def test_additive_uses_added_and_changed(client, db, wine, path, workers):
    batch, codes = wine
    use = AdditiveUse(batch_id=batch.id, additive_name="焦糖色", amount=Decimal(1), unit="g")

    def additives(answer):
        return [(a["name"], a["amount"]) for a in answer["batch"]["additives"]]

    fresh(client, db, workers, codes[0], lambda: db.session.add(use), additives)

    def change():
        use.amount = Decimal(2)

    fresh(client, db, workers, codes[0], change, additives)


def test_test_results_and_samples(client, db, wine, path, workers):
    batch, codes = wine
    limit = standards.limit_for("huangjiu", "lead")
    sample = db.session.scalar(select(Sample))

    def add_result():
        db.session.add(
            TestResult(
                sample_id=sample.id,
                standard_limit_id=limit.id,
                item_code="lead",
                value=Decimal("0.01"),
                unit="mg/kg",
                verdict=standards.judge(limit, kind=TestKind.LAB, value="0.01"),
                tested_at=datetime(2026, 11, 25, 7, tzinfo=UTC),
            )
        )

    def tests(answer):
        return [(t["value"], t["agency"]) for t in answer["tests"]]

    fresh(client, db, workers, codes[0], add_result, tests)

    def rename_agency():
        sample.testing_agency = "漳州市食品检验所"

    fresh(client, db, workers, codes[0], rename_agency, tests)

    def new_sample_with_result():
        other = Sample(
            sample_no="CJ-2",
            kind=TestKind.LAB,
            workshop_id=batch.workshop_id,
            product_id=batch.product_id,
            batch_id=batch.id,
            task_source=TaskSource.DISTRICT,
            sampled_at=datetime(2026, 11, 26, 2, tzinfo=UTC),
            testing_agency="半星红酒厂实验室",
        )
        db.session.add(other)
        db.session.flush()
        db.session.add(
            TestResult(
                sample_id=other.id,
                standard_limit_id=limit.id,
                item_code="lead",
                value=Decimal("0.02"),
                unit="mg/kg",
                verdict=standards.judge(limit, kind=TestKind.LAB, value="0.02"),
                tested_at=datetime(2026, 11, 27, 7, tzinfo=UTC),
            )
        )

    fresh(client, db, workers, codes[0], new_sample_with_result, tests)


def test_a_new_inspection(client, db, wine, path, workers):
    batch, codes = wine

    def inspect():
        db.session.add(
            Inspection(
                workshop_id=batch.workshop_id,
                inspected_on=date(2026, 11, 30),
                outcome=InspectionOutcome.SATISFACTORY,
                summary="复查合格",
            )
        )

    fresh(client, db, workers, codes[0], inspect, lambda a: a["inspection"]["date"])


def test_a_camera_going_live(client, db, wine, path, workers):
    _, codes = wine
    camera = db.session.scalar(select(Camera))

    def live():
        camera.is_live = True

    fresh(client, db, workers, codes[0], live, lambda a: a["cameras"][0]["live"])


def test_a_live_cameras_sighting_keeps_the_views(client, db, wine, path, app, monkeypatch):
    """A probe that only notes when a live camera was last seen changes nothing shown."""
    import backend.scan.freshness as freshness

    _, codes = wine
    camera = db.session.scalar(select(Camera))
    client.get(f"/api/v1/scan/{codes[0]}")
    dropped = []
    monkeypatch.setattr(freshness, "forget", lambda ids, **kw: dropped.append(ids))
    camera.last_seen_at = datetime(2026, 12, 1, tzinfo=UTC)
    db.session.commit()
    assert dropped == []


def test_the_workshop_product_brand_zone_and_category(client, db, wine, path, workers):
    batch, codes = wine
    workshop, product = batch.workshop, batch.product

    def rename_workshop():
        workshop.name = "半里林氏红曲酒厂"

    fresh(client, db, workers, codes[0], rename_workshop, lambda a: a["workshop"]["name"])

    def rename_product():
        product.name = "半里红曲酒（陈酿）"

    fresh(client, db, workers, codes[0], rename_product, lambda a: a["product"]["name"])

    def rename_category():
        product.category.name_zh = "黄酒类（测试改名）"

    read = lambda a: a["product"]["category"]["name_zh"]  # noqa: E731
    fresh(client, db, workers, codes[0], rename_category, read)
    if workshop.zone is not None:

        def rename_zone():
            workshop.zone.name_zh = "半里集中加工区"

        fresh(client, db, workers, codes[0], rename_zone, lambda a: a["workshop"]["zone"])
    if workshop.brand is not None:

        def rename_brand():
            workshop.brand.name_zh = "半里红（新）"

        fresh(client, db, workers, codes[0], rename_brand, lambda a: a["workshop"]["brand"])


def test_a_voided_code(client, db, wine, path, workers):
    _, codes = wine
    code = db.session.scalar(select(UnitCode).where(UnitCode.code == codes[0]))

    def void():
        code.status = CodeStatus.VOIDED

    fresh(client, db, workers, codes[0], void, lambda a: a is not None)


def test_codes_voided_by_a_bulk_update(client, db, wine, path, workers):
    batch, codes = wine

    def void_range():
        db.session.execute(
            update(UnitCode)
            .where(UnitCode.batch_id == batch.id, UnitCode.serial.between(2, 3))
            .values(status=CodeStatus.VOIDED)
        )

    fresh(client, db, workers, codes[1], void_range, lambda a: a is not None)
    assert workers.scan_each(client, codes[2]) == [None, None]
    assert all(workers.scan_each(client, codes[0]))
