"""``flask --app backend invites ...``: invite codes from the command line (thin wrappers)."""

from __future__ import annotations

import click

from backend.accounts import invites
from backend.accounts.models import MemberRole
from backend.core.time import to_local
from backend.core.transactions import run_command


@click.group("invites")
def invites_group() -> None:
    """Invite codes that bind an operator to a workshop."""


@invites_group.command("create")
@click.option("--workshop", "registration_no", required=True, help="Registration number.")
@click.option(
    "--role",
    type=click.Choice([r.value for r in MemberRole]),
    default=MemberRole.STAFF.value,
    show_default=True,
    help="What the operator becomes.",
)
@click.option(
    "--days",
    type=click.IntRange(invites.MIN_DAYS, invites.MAX_DAYS),
    default=invites.DEFAULT_DAYS,
    show_default=True,
    help="Days until the code expires.",
)
def create(registration_no: str, role: str, days: int) -> None:
    """Issue a one-time invite code for a workshop and print it (shown only once)."""
    issued = run_command(lambda: invites.create_invite(registration_no, MemberRole(role), days))
    click.echo(
        f"Invite code for {issued.workshop.name} ({issued.workshop.registration_no}) "
        f"as {issued.role.value}: {issued.display}\n"
        f"Valid until {to_local(issued.expires_at):%Y-%m-%d %H:%M} (Asia/Shanghai); "
        "it works once and is not stored in plain text."
    )
