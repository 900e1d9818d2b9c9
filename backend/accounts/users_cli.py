"""``flask --app backend users ...``: console accounts from the command line (thin wrappers)."""

from __future__ import annotations

import click

from backend.accounts import users
from backend.core.errors import DomainError
from backend.extensions import db


@click.group("users")
def users_group() -> None:
    """Console accounts of regulators and inspectors."""


def _commit_or_fail(action):
    """Run *action*, commit, and turn a refused rule into a one-line error."""
    try:
        result = action()
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    db.session.commit()
    return result


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
    user = _commit_or_fail(
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
    user = _commit_or_fail(lambda: users.set_password(username, password))
    click.echo(f"New password set for {user.username!r}.")
