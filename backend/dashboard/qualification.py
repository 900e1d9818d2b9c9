"""This year's product qualification rate (lab samples with a final verdict), overall and by
product category."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import aliased

from backend.core.time import SHANGHAI
from backend.dashboard.days import Ratio
from backend.extensions import db
from backend.registry.models import Product, ProductCategory
from backend.samples.models import Sample, SampleStatus, TestKind, TestResult, Verdict


@dataclass(frozen=True)
class CategoryRate:
    """The qualification rate of one product category."""

    code: str
    name_zh: str
    name_en: str
    qualified: Ratio

    @property
    def failed(self) -> int:
        """Samples of the category judged unqualified."""
        return self.qualified.whole - self.qualified.part


@dataclass(frozen=True)
class Qualification:
    """This year's product qualification rate, overall and by category."""

    year: int
    overall: Ratio
    by_category: list[CategoryRate]

    @property
    def failed(self) -> int:
        """Samples judged unqualified."""
        return self.overall.whole - self.overall.part


def _judged_samples(year: int):
    """One row per lab sample of *year* with a final verdict: sample_id, category_code,
    results (its live results), failed (how many of them fail). A subquery."""
    start = datetime(year, 1, 1, tzinfo=SHANGHAI)
    end = datetime(year + 1, 1, 1, tzinfo=SHANGHAI)
    newer = aliased(TestResult, name="newer")
    superseded = select(newer.supersedes_id).where(newer.supersedes_id.is_not(None))
    passed = func.sum(case((TestResult.verdict == Verdict.PASS, 1), else_=0))
    failed = func.sum(case((TestResult.verdict == Verdict.FAIL, 1), else_=0))
    return (
        select(
            Sample.id.label("sample_id"),
            Product.category_code.label("category_code"),
            func.count(TestResult.id).label("results"),
            failed.label("failed"),
        )
        .join(Product, Product.id == Sample.product_id)
        .join(TestResult, TestResult.sample_id == Sample.id)
        .where(
            Sample.kind == TestKind.LAB,
            Sample.status == SampleStatus.COMPLETED,
            Sample.sampled_at >= start,
            Sample.sampled_at < end,
            TestResult.id.not_in(superseded),
        )
        .group_by(Sample.id, Product.category_code)
        .having(passed + failed == func.count(TestResult.id))
        .subquery("judged")
    )


def qualification_rate(year: int) -> Qualification:
    """This year's product qualification rate, overall and by product category.

    A sample counts when it is a **lab** sample (rapid screens are left out: they only
    screen), sampled in *year* (its ``sampled_at`` in Asia/Shanghai), **completed**, and
    has a **final verdict**: at least one live result and every live result pass or fail
    (none pending). Live results are those no correction supersedes (a result named by
    another's ``supersedes_id`` no longer counts, as in ``quality.sampling``). Every task
    source counts (municipal, district, special, alliance, self-check) and so do the
    lab-confirmation samples of rapid screens.

    ``whole``: such samples; ``part``: those whose live results **all pass**. By category:
    the same, grouped by the sampled product's category. Two GROUP BY queries over one
    GROUP BY sample subquery.
    """
    judged = _judged_samples(year)
    qualified = func.sum(case((judged.c.failed == 0, 1), else_=0))
    whole, part = db.session.execute(select(func.count(judged.c.sample_id), qualified)).one()
    rows = db.session.execute(
        select(
            ProductCategory.code,
            ProductCategory.name_zh,
            ProductCategory.name_en,
            func.count(judged.c.sample_id),
            qualified,
        )
        .join(ProductCategory, ProductCategory.code == judged.c.category_code)
        .group_by(ProductCategory.code, ProductCategory.name_zh, ProductCategory.name_en)
        .order_by(ProductCategory.code)
    ).all()
    return Qualification(
        year=year,
        overall=Ratio(int(part or 0), int(whole or 0)),
        by_category=[
            CategoryRate(code, zh, en, Ratio(int(ok or 0), int(n))) for code, zh, en, n, ok in rows
        ],
    )
