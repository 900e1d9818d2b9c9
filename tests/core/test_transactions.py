"""The edge owns the transaction: a success commits, a refusal or an exception rolls back,
a kept write survives a refusal, and work waiting for the commit runs only after it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from backend import create_app
from backend.audit.models import AuditLog
from backend.core.errors import ValidationError
from backend.core.time import utcnow
from backend.core.transactions import after_commit, committing, keep_writes
from backend.extensions import db
from tests.conftest import RequestClient, make_config


def audit_rows() -> int:
    """How many audit rows are committed (read in a fresh transaction)."""
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(AuditLog))


def write() -> None:
    """One audit row, flushed and not committed."""
    db.session.add(
        AuditLog(at=utcnow(), action="test.edge", object_type="edge", object_id="1", details={})
    )
    db.session.flush()


@pytest.fixture()
def edge(database_url, db):
    """A new app (routes may still be added to it) sharing the test's transaction."""
    application = create_app(make_config(database_url))
    application.test_client_class = RequestClient
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture()
def routes(edge):
    """Views that write and answer in the ways a real view does."""
    ran: list[str] = []

    def ok():
        write()
        after_commit(lambda: ran.append("after"))
        return "ok"

    def refused():
        write()
        after_commit(lambda: ran.append("after"))
        return "no", 422

    def kept():
        write()
        keep_writes()
        return "no, but audited", 401

    def raised():
        write()
        raise ValidationError("bad", slug="bad")

    def kept_then_raised():
        write()
        keep_writes()
        raise ValidationError("bad", slug="bad")

    for view in (ok, refused, kept, raised, kept_then_raised):
        edge.add_url_rule(f"/edge/{view.__name__}", view.__name__, view, methods=["POST"])
    return ran


@pytest.mark.parametrize(
    ("path", "status", "kept"),
    [
        ("ok", 200, 1),
        ("refused", 422, 0),
        ("kept", 401, 1),
        ("raised", 422, 0),
        ("kept_then_raised", 422, 1),
    ],
)
def test_the_edge_commits_only_what_may_stay(edge, routes, path, status, kept):
    """A success commits; a refusal or an error rolls back unless the view kept its write."""
    with edge.app_context():
        before = audit_rows()
    assert edge.test_client().post(f"/edge/{path}").status_code == status
    with edge.app_context():
        assert audit_rows() - before == kept


def test_work_waiting_for_the_commit_runs_after_it_and_never_after_a_rollback(edge, routes):
    """A Celery task queued with after_commit starts after the commit, not after a refusal."""
    client = edge.test_client()
    client.post("/edge/refused")
    assert routes == []
    client.post("/edge/ok")
    assert routes == ["after"]


def test_after_commit_runs_at_once_when_nothing_was_written(app, db):
    """Nothing written yet: nothing to wait for."""
    ran = []
    with app.app_context():
        db.session.scalar(select(func.count()).select_from(AuditLog))  # a read opens one
        after_commit(lambda: ran.append("now"))
        assert ran == ["now"]


def test_a_command_commits_when_it_returns_and_rolls_back_when_it_raises(app, db):
    """committing: the CLI's edge."""
    with app.app_context():
        before = audit_rows()
        committing(write)()
        assert audit_rows() == before + 1

        def fails():
            write()
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            committing(fails)()
        assert audit_rows() == before + 1
