"""``flask --app backend reminders ...``: send the due reminders once, for cron or by hand."""

from __future__ import annotations

from datetime import datetime

import click

from backend.core.time import SHANGHAI
from backend.core.transactions import run_command
from backend.extensions import db


@click.group("reminders")
def reminders_group() -> None:
    """WeChat reminders: incomplete ledgers, expiring health certificates."""


@reminders_group.command("send")
@click.option(
    "--now",
    "now_text",
    help="Act as if it were this moment (ISO 8601; without an offset, Asia/Shanghai time).",
)
def reminders_send(now_text: str | None) -> None:
    """Send the reminders due now (the job Celery beat runs), and say what was done."""
    from backend.reminders.services import send_due

    now = None
    if now_text:
        try:
            now = datetime.fromisoformat(now_text)
        except ValueError:
            raise click.BadParameter(
                f"{now_text!r} is not an ISO 8601 time, e.g. 2026-11-26T17:00", param_hint="--now"
            ) from None
        if now.tzinfo is None:
            now = now.replace(tzinfo=SHANGHAI)
    report = run_command(lambda: send_due(now, checkpoint=db.session.commit))
    click.echo(report.summary())
