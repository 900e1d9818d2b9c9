"""`flask rules …`: check a rule-base file before it ships, and flag past additive uses
that today's rules would refuse (flagged, never rewritten)."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.batches.models import AdditiveUse, Batch
from backend.core.transactions import committing
from backend.extensions import db
from backend.rules import additives, standards


@click.group("rules")
def rules_group() -> None:
    """The food-safety rule base (backend/rules/data)."""


@rules_group.command("check")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), default=standards.DATA)
def rules_check(path: Path) -> None:
    """Check a rule-base CSV; exit 1 naming the first bad line."""
    try:
        rows = standards.read_rules(path)
    except (standards.RuleFileError, OSError) as refused:
        click.echo(f"refused: {refused}", err=False)
        raise SystemExit(1) from None
    verified = sum(r["verified"] == "true" for r in rows)
    click.echo(f"{path}: {len(rows)} rows, {verified} verified, {len(rows) - verified} unverified")


@rules_group.command("audit")
def rules_audit() -> None:
    """List recorded additive uses today's rules refuse or want reviewed (nothing changes)."""
    batches = db.session.scalars(
        select(Batch)
        .where(Batch.id.in_(select(AdditiveUse.batch_id)))
        .options(selectinload(Batch.additive_uses))
    ).all()
    flagged = 0
    for batch in batches:
        for use in sorted(batch.additive_uses, key=lambda u: u.id):
            finding = additives.audit(use, batch)
            if finding is not None:
                flagged += 1
                click.echo(
                    f"{batch.batch_no}\t{use.additive_name}\t{use.amount} {use.unit}\t"
                    f"{finding.status}\t{finding.message}"
                )
    db.session.rollback()  # judging writes nothing; make sure of it
    click.echo(f"{flagged} flagged")


@rules_group.command("add-alias")
@click.argument("code")
@click.argument("alias")
@committing
def rules_add_alias(code: str, alias: str) -> None:
    """Teach the platform ALIAS as another name of substance CODE (data/additives.csv)."""
    from backend.core.errors import DomainError

    try:
        row = additives.add_alias(alias, code, by=None)
    except DomainError as refused:
        click.echo(f"refused: {refused.message}")
        raise SystemExit(1) from None
    click.echo(f"{row.alias} → {row.substance_code}")
