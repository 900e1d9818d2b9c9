"""The demo's samples and tests: this year's sampling plans, the rapid-test vehicle's screens
and the laboratory's numbers, every verdict from the standards table."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from backend.batches.models import Batch, BatchState
from backend.demo import facts
from backend.demo.builder import Builder, at
from backend.extensions import db
from backend.plans.models import SamplingPlan
from backend.rules import standards
from backend.samples.models import (
    Qualitative,
    Sample,
    SampleStatus,
    TaskSource,
    TestKind,
    TestResult,
)


class LabSeed(Builder):
    """Sampling plans, samples and test results."""

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
        self.lab_numbers(sample, batch, category, when)
        if batch.state is not BatchState.HELD:
            sample.published_at = (
                at(day + timedelta(days=10), 9)
                if (day + timedelta(days=10) <= self.today)
                else None
            )

    def lab_numbers(self, sample: Sample, batch: Batch, category: str, when: datetime) -> None:
        """The category's contaminants and quality figures: alcohol and lead for wine,
        aluminium for tofu, sorbic acid for cakes, borax for meat and dough products."""
        by = self.lab_inspector
        method = "GB 5009.28"
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
