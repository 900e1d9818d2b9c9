"""Progress counted by the database on a small fixture counted by hand."""

from __future__ import annotations

from sqlalchemy import event

from backend.extensions import db as _db
from backend.plans import planning
from backend.plans.progress import list_plans, plan_progress
from backend.samples.results import record_results
from tests.plans.builders import lead, take


def figures(progress) -> tuple:
    """Planned, taken, completed, passed, failed."""
    return (
        progress.planned,
        progress.taken,
        progress.completed,
        progress.passed,
        progress.failed,
    )


def test_progress_per_target_and_per_plan(db, site, counted):
    plan, red, whole, old = counted
    found = plan_progress(plan, by=site.inspector)
    by_target = {r.target.id: r.progress for r in found.rows}
    assert figures(by_target[red.id]) == (3, 3, 2, 1, 1)
    assert figures(by_target[whole.id]) == (2, 3, 3, 2, 0)
    assert by_target[whole.id].unsettled == 1  # the positive screen awaits the lab
    assert by_target[whole.id].remaining == 0 and by_target[whole.id].percent == 100
    assert figures(by_target[old.id]) == (1, 0, 0, 0, 0)
    assert by_target[old.id].remaining == 1 and by_target[old.id].percent == 0
    assert figures(found.total) == (6, 7, 6, 4, 1)
    assert found.off_target == 1  # C's sample
    # met: 3 of A's 3, 2 of B's 2 (the third is beyond the plan), none of the old wine's 1
    assert (found.total.fulfilled, found.total.remaining, found.total.percent) == (5, 1, 83)
    listed = {r.plan.id: r for r in list_plans(by=site.inspector)}
    assert listed[plan.id].targets == 3
    assert figures(listed[plan.id].progress) == (6, 7, 6, 4, 1)
    assert listed[plan.id].progress.percent == 83
    other = next(r for r in listed.values() if r.plan.id != plan.id)
    assert figures(other.progress) == (0, 1, 1, 0, 1) and other.targets == 0
    assert other.progress.percent == 0


def test_progress_is_counted_by_the_database_not_per_sample(db, site, counted):
    plan = counted[0]
    statements = []

    def count_statement(*args):
        """Note each statement sent to the database."""
        statements.append(args[2])

    def queries() -> tuple[int, int]:
        """Statements sent for a plan's progress and for the plan list."""
        loaded = planning.get_plan(plan.id, by=site.inspector)  # the plan page loads it first
        engine = _db.session.get_bind()
        event.listen(engine, "before_cursor_execute", count_statement)
        try:
            statements.clear()
            plan_progress(loaded, by=site.inspector)
            progress = len(statements)
            statements.clear()
            list_plans(by=site.inspector)
            listing = len(statements)
        finally:
            event.remove(engine, "before_cursor_execute", count_statement)
        return progress, listing

    before = queries()
    for _ in range(5):
        record_results(take(site, site.b_red, plan=plan), [lead("0.1")], by=site.inspector)
    assert queries() == before
    assert before[0] <= 2 and before[1] <= 3
