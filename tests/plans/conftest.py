"""Fixtures of the plans tests: workshops to sample, and a plan with samples counted by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend.core.time import utcnow
from backend.plans import planning
from backend.plans.checks import TargetInput
from backend.registry.models import ProductCategory, WorkshopStatus
from backend.rules import standards
from backend.samples.models import Qualitative, TaskSource, TestKind
from backend.samples.recording import record_sample
from backend.samples.results import ResultInput, record_results
from tests.factories import (
    InspectorFactory,
    ProductFactory,
    RegulatorFactory,
    WorkshopFactory,
)
from tests.plans.builders import lead, plan_input, take


@pytest.fixture()
def site(db):
    """Three workshops making red yeast rice wine, a cancelled one, a regulator, an inspector."""
    standards.load_categories()
    standards.load_standards()
    wine = db.session.get(ProductCategory, "huangjiu")

    class Site:
        regulator = RegulatorFactory()
        inspector = InspectorFactory()
        a = WorkshopFactory(name="四大桶红曲酒坊")
        b = WorkshopFactory(name="半里林氏酒坊")
        c = WorkshopFactory(name="坊洋老酒坊")
        gone = WorkshopFactory(name="已注销酒坊", status=WorkshopStatus.CANCELLED)
        a_red = ProductFactory(workshop=a, category=wine, name="半里红曲酒", labelled_alcohol=15)
        a_old = ProductFactory(workshop=a, category=wine, name="陈年老酒", labelled_alcohol=15)
        b_red = ProductFactory(workshop=b, category=wine, name="林氏红曲酒", labelled_alcohol=15)
        c_red = ProductFactory(workshop=c, category=wine, name="坊洋红曲酒", labelled_alcohol=15)

    return Site


@pytest.fixture()
def counted(db, site):
    """A plan with three targets and samples whose figures are counted by hand below.

    - A / 半里红曲酒 (3 planned): a pass, a fail, one still collected.
    - B as a whole (2 planned): a pass, a fail corrected to a pass, a rapid positive screen.
    - A / 陈年老酒 (1 planned): nothing yet.
    - C, not a target: one pass (off target). Samples outside the plan never count.
    """
    plan = planning.create_plan(plan_input(), by=site.regulator)
    red = planning.add_target(plan.id, TargetInput(site.a.id, site.a_red.id, 3), by=site.regulator)
    whole = planning.add_target(plan.id, TargetInput(site.b.id, None, 2), by=site.regulator)
    old = planning.add_target(plan.id, TargetInput(site.a.id, site.a_old.id, 1), by=site.regulator)
    other = planning.create_plan(
        plan_input(name="市级抽检", task_source="municipal"), by=site.regulator
    )
    lab = site.inspector

    def done(sample, *values):
        """Complete *sample* with lead readings of *values*."""
        for value in values:
            record_results(sample, [lead(value)], by=lab)

    done(take(site, site.a_red, plan=plan), "0.05")
    done(take(site, site.a_red, plan=plan), "0.9")
    take(site, site.a_red, plan=plan)
    done(take(site, site.b_red, plan=plan), "0.1")
    corrected = take(site, site.b_red, plan=plan)
    wrong = record_results(corrected, [lead("5")], by=lab).results[0]
    record_results(corrected, [lead("0.05", supersedes_id=wrong.id)], by=lab)
    screen = take(site, site.b_red, plan=plan, kind=TestKind.RAPID)
    record_results(
        screen,
        [
            ResultInput(
                item_code="benzoic_acid",
                method="胶体金法",
                qualitative=Qualitative.POSITIVE,
                tested_at=utcnow() - timedelta(hours=1),
            )
        ],
        by=lab,
    )
    done(take(site, site.c_red, plan=plan), "0.05")
    done(take(site, site.a_red, plan=other), "0.9")  # another plan
    done(
        record_sample(
            by=lab,
            kind=TestKind.LAB,
            product=site.a_red,
            task_source=TaskSource.DISTRICT,
            testing_agency="检验联盟实验室",
            sampled_at=utcnow() - timedelta(hours=2),
        ),
        "0.9",
    )  # no plan
    return plan, red, whole, old
