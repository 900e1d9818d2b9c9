"""Commands for ``flask --app backend``: thin wrappers over services that commit once."""

from __future__ import annotations

import click
from flask import Flask

from backend.core.errors import DomainError


def register(app: Flask) -> None:
    """Attach every command group to the app."""
    from backend.accounts.cli import invites_group
    from backend.accounts.users_cli import users_group
    from backend.cameras.cli import video_group
    from backend.codes.cli import codes_group
    from backend.reminders.cli import reminders_group
    from backend.rules.cli import rules_group
    from backend.trace.cli import epcis_group, trace_group

    app.cli.add_command(seed_demo)
    app.cli.add_command(ledger_group)
    app.cli.add_command(codes_group)
    app.cli.add_command(reminders_group)
    app.cli.add_command(invites_group)
    app.cli.add_command(users_group)
    app.cli.add_command(video_group)
    app.cli.add_command(trace_group)
    app.cli.add_command(epcis_group)
    app.cli.add_command(rules_group)


@click.command("seed-demo")
def seed_demo() -> None:
    """Load the Banli demo data (idempotent) and print sample scan URLs."""
    from backend.core.transactions import committing
    from backend.demo.seed import seed_demo as run

    report = committing(run)()
    click.echo(report.summary())


@click.group("ledger")
def ledger_group() -> None:
    """Ledger evidence: verify the hash chains."""


@ledger_group.command("verify")
@click.option("--workshop", "registration_no", help="Registration number; all when omitted.")
def ledger_verify(registration_no: str | None) -> None:
    """Recompute every workshop's ledger hash chain and report breaks."""
    from backend.ledgers.chain import verify_chains

    try:
        results = verify_chains(registration_no)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    broken = [r for r in results if not r.ok]
    for result in results:
        click.echo(result.describe())
    if broken:
        raise SystemExit(1)
