"""The edge owns the transaction: a request, a command or a task commits once, at its end.

Services flush and never commit; views and commands never commit either. The application
class commits what a request wrote when its answer is a success (below 400) and rolls it
back otherwise — an error answer or an exception leaves nothing half-written. The commit
happens inside the dispatch, so a failure to commit (a unique row taken at the last moment,
the database gone) is answered by the error handlers in the one error shape.

A view that must keep what it wrote although it answers with an error — a failed login is
audited, a refused non-food substance is reported — says so with :func:`keep_writes`; work
that must wait for the commit (a Celery task reading the new rows) is queued with
:func:`after_commit`.
Commands use :func:`committing` (or :func:`run_command`, which also turns a refused rule
into a one-line error).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

import click
from flask import Flask, Response, g
from sqlalchemy import event
from sqlalchemy.orm import Session

from backend.core.errors import DomainError
from backend.extensions import db

P = ParamSpec("P")
R = TypeVar("R")
_KEEP = "yipin_keep_writes"
_WAITING = "yipin_after_commit"  # in Session.info: callbacks waiting for the commit
_WROTE = "yipin_wrote"  # in Session.info: this transaction has flushed writes


def keep_writes() -> None:
    """Keep what this request wrote even though it answers with an error (an audit)."""
    setattr(g, _KEEP, True)


def after_commit(callback: Callable[[], object]) -> None:
    """Run *callback* once the session's writes are committed — at once when it has written
    nothing yet, never when its writes are rolled back: work for a Celery worker must not
    start before the rows it reads exist."""
    session = db.session()
    if not (session.info.get(_WROTE) or session.new or session.dirty or session.deleted):
        callback()
        return
    session.info.setdefault(_WAITING, []).append(callback)


@event.listens_for(Session, "after_flush")
def _note_writes(session: Session, _context) -> None:
    """Remember that this transaction wrote something."""
    session.info[_WROTE] = True


@event.listens_for(Session, "after_commit")
def _run_waiting(session: Session) -> None:
    """Run what waited for this commit."""
    session.info.pop(_WROTE, None)
    for callback in session.info.pop(_WAITING, []):
        callback()


@event.listens_for(Session, "after_rollback")
def _drop_waiting(session: Session) -> None:
    """What waited for a commit that did not come is dropped."""
    session.info.pop(_WROTE, None)
    session.info.pop(_WAITING, None)


def finish(response: Response) -> Response:
    """Commit the request's writes for a successful answer (or a kept one), else roll back."""
    if response.status_code < 400 or g.pop(_KEEP, False):
        db.session.commit()
    else:
        db.session.rollback()
    return response


class Application(Flask):
    """Flask, with every request's transaction ended at the edge (see the module's text)."""

    def dispatch_request(self):
        """Run the view, then commit or roll back before the answer leaves."""
        try:
            return finish(self.make_response(super().dispatch_request()))
        except BaseException:
            if g.pop(_KEEP, False):
                db.session.commit()  # e.g. a refused non-food substance stays reported
            else:
                db.session.rollback()
            raise


def committing(work: Callable[P, R]) -> Callable[P, R]:
    """Commit what a command or task wrote when it returns; roll back when it raises."""

    @wraps(work)
    def edge(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            result = work(*args, **kwargs)
        except BaseException:
            db.session.rollback()
            raise
        db.session.commit()
        return result

    return edge


def run_command(action: Callable[[], R]) -> R:
    """Run a command's work and commit it; a refused rule rolls back and exits with its
    message on one line."""
    try:
        return committing(action)()
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
