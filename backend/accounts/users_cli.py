"""``flask --app backend users ...``: console accounts from the command line (thin wrappers)."""

from __future__ import annotations

import click

from backend.accounts import users
from backend.core.transactions import run_command


@click.group("users")
def users_group() -> None:
    """Console accounts of regulators and inspectors."""


@users_group.command("create")
@click.option(
    "--role",
    type=click.Choice([role.value for role in users.CONSOLE_ROLES]),
    required=True,
    help="regulator (files workshops, changes the registry) or inspector (views, samples).",
)
@click.option("--username", required=True, help="Login name: 3-50 of a-z 0-9 . _ -")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help=f"At least {users.MIN_PASSWORD} characters; asked for (hidden) when omitted.",
)
@click.option("--name", "display_name", default="", help="Name shown in the console.")
@click.option("--organisation", default="", help="e.g. 漳州市长泰区市场监督管理局")
def create(role: str, username: str, password: str, display_name: str, organisation: str):
    """Create a console account (the first regulator is made this way)."""
    user = run_command(
        lambda: users.create_user(
            username, password, role, display_name=display_name, organisation=organisation
        )
    )
    click.echo(f"Created {user.role.value} {user.username!r} (id {user.id}); log in at /console.")


@users_group.command("set-password")
@click.option("--username", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def set_password(username: str, password: str) -> None:
    """Give a console account a new password (its other sessions end)."""
    user = run_command(lambda: users.set_password(username, password))
    click.echo(f"New password set for {user.username!r}.")
