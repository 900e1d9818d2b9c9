"""Publishing the results of sampling: candidates, all or nothing, and the disclaimer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from backend.audit.models import AuditLog
from backend.core.errors import ValidationError
from backend.core.time import utcnow
from backend.plans import planning, publishing
from backend.plans.publishing import PublicationFilter
from backend.samples.announcements import DISCLAIMER, announcements
from backend.samples.models import Sample, TestKind, TestResult, Verdict
from backend.samples.results import record_results
from tests.plans.builders import count, lead, plan_input, take, this_year


def test_candidates_and_publication_all_or_nothing(db, site, counted):
    plan = counted[0]
    found = publishing.candidates(PublicationFilter(plan_id=plan.id), by=site.inspector)
    numbers = [c.sample.sample_no for c in found]
    # completed lab samples of the plan: A pass, A fail, B pass, B corrected, C pass
    assert len(found) == 5 and all(c.blocker == "" for c in found)
    assert {c.row["conclusion"] for c in found} == {"pass", "fail"}
    assert len(publishing.candidates(PublicationFilter(), by=site.regulator)) == 7
    assert publishing.candidates(PublicationFilter(year=this_year() - 1), by=site.regulator) == []
    collected = db.session.scalar(
        select(Sample).where(Sample.plan_id == plan.id, Sample.status == "collected")
    )
    screen = db.session.scalar(select(Sample).where(Sample.kind == TestKind.RAPID))
    chosen = [found[0].sample.id, found[1].sample.id]
    for extra, message in (
        ([collected.id], "样品检验尚未完成"),
        ([screen.id], "快检结果不予公示"),
        ([999999], "未知的样品：999999"),
        (["abc"], "未知的样品：abc"),
        ([], "请至少选择一个样品"),
        (list(range(1, 502)), "每次最多公示 500 个样品"),
    ):
        with pytest.raises(ValidationError) as refused:
            publishing.publish((chosen if extra else []) + extra, by=site.regulator)
        assert any(message in m for m in refused.value.errors["sample_ids"]), refused.value.errors
    assert (
        db.session.scalar(select(func.count(Sample.id)).where(Sample.published_at.is_not(None)))
        == 0
    )
    done = publishing.publish([str(i) for i in chosen] + [str(chosen[0])], by=site.regulator)
    assert [s.sample_no for s in done] == numbers[:2]
    assert all(s.published_at is not None for s in done)
    assert count(db, AuditLog) >= 2
    published = db.session.scalars(
        select(AuditLog.object_id).where(AuditLog.action == "sample.published")
    ).all()
    assert sorted(published) == sorted(str(i) for i in chosen)
    with pytest.raises(ValidationError) as twice:
        publishing.publish([chosen[0]], by=site.regulator)
    assert "已公示" in twice.value.errors["sample_ids"][0]
    public = publishing.published(None, by=site.inspector)
    assert sorted(r["number"] for r in public.rows) == sorted(numbers[:2])
    assert public.disclaimer == DISCLAIMER


def test_a_result_still_to_be_judged_holds_publication(db, site):
    plan = planning.create_plan(plan_input(), by=site.regulator)
    sample = take(site, site.a_red, plan=plan)
    record_results(sample, [lead("0.05")], by=site.inspector)
    pending = TestResult(
        sample_id=sample.id,
        item_code="alcohol",
        verdict=Verdict.PENDING,
        tested_at=utcnow() - timedelta(minutes=30),
    )
    db.session.add(pending)
    db.session.flush()
    db.session.expire(sample, ["results"])
    found = publishing.candidates(PublicationFilter(), by=site.regulator)
    assert "待判定" in found[0].blocker
    with pytest.raises(ValidationError) as refused:
        publishing.publish([sample.id], by=site.regulator)
    assert "待判定" in refused.value.errors["sample_ids"][0]
    assert sample.published_at is None


def test_the_disclaimer_is_the_public_announcements(db, site):
    assert DISCLAIMER == announcements()["disclaimer"]
