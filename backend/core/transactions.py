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

from backend.core.errors import DomainError
from backend.extensions import db

P = ParamSpec("P")
R = TypeVar("R")
_KEEP = "yipin_keep_writes"
_AFTER = "yipin_after_commit"


def keep_writes() -> None:
    """Keep what this request wrote even though it answers with an error (an audit)."""
    setattr(g, _KEEP, True)


def after_commit(callback: Callable[[], object]) -> None:
    """Run *callback* once this request's writes are committed (never if they are rolled
    back): work for a Celery worker must not start before the rows it reads exist."""
    g.setdefault(_AFTER, []).append(callback)


def finish(response: Response) -> Response:
    """Commit the request's writes for a successful answer (or a kept one), else roll back;
    then run what waited for the commit."""
    waiting = g.pop(_AFTER, [])
    if response.status_code < 400 or g.pop(_KEEP, False):
        db.session.commit()
        for callback in waiting:
            callback()
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
            g.pop(_AFTER, None)
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
            g.pop(_AFTER, None)
            db.session.rollback()
            raise
        db.session.commit()
        for callback in g.pop(_AFTER, []):
            callback()
        return result

    return edge


def run_command(action: Callable[[], R]) -> R:
    """Run a command's work and commit it; a refused rule rolls back and exits with its
    message on one line."""
    try:
        return committing(action)()
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
