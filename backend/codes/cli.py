"""``flask --app backend codes ...``: issue, void and print codes (thin wrappers)."""

from __future__ import annotations

import click

from backend.codes import services
from backend.codes.models import CodeKind
from backend.core.errors import DomainError
from backend.core.transactions import run_command
from backend.extensions import db


@click.group("codes")
def codes_group() -> None:
    """One product, one code: issue, void and print unit codes."""


@codes_group.command("issue")
@click.option("--batch", "batch_no", required=True, help="Batch number, e.g. SDT-20261120-01.")
@click.option("--count", type=int, required=True, help="How many codes (1 to 100,000).")
@click.option("--batch-code", is_flag=True, help="Issue one batch-level code for loose goods.")
def issue(batch_no: str, count: int, batch_code: bool) -> None:
    """Issue COUNT new codes for a batch."""
    kind = CodeKind.BATCH if batch_code else CodeKind.UNIT
    issuance = run_command(
        lambda: services.issue_codes(services.get_batch(batch_no), count, kind=kind)
    )
    click.echo(
        f"Issued {issuance.count} {kind.value} code(s) for batch {batch_no}: serials "
        f"{issuance.first_serial}–{issuance.first_serial + issuance.count - 1} "
        f"(issuance {issuance.id})."
    )


@codes_group.command("void")
@click.option("--code", "code_text", help="One code to void.")
@click.option("--batch", "batch_no", help="Batch whose serial range to void.")
@click.option("--from", "first", type=int, help="First serial of the range.")
@click.option("--to", "last", type=int, help="Last serial of the range.")
@click.option("--reason", required=True, help="Why (kept with each code).")
def void(code_text, batch_no, first, last, reason) -> None:
    """Void one code (--code) or a serial range of a batch (--batch --from --to)."""
    if code_text:
        result = run_command(lambda: services.void_code(code_text, reason))
    elif batch_no and first is not None and last is not None:
        result = run_command(
            lambda: services.void_range(services.get_batch(batch_no), first, last, reason)
        )
    else:
        raise click.UsageError("give --code, or --batch with --from and --to")
    click.echo(f"Voided {result.voided} code(s).")


@codes_group.command("labels")
@click.option("--batch", "batch_no", required=True, help="Batch number, e.g. SDT-20261120-01.")
@click.option("--issuance", "issuance_id", type=int, help="Only this issuance of the batch.")
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, writable=True),
    default="labels.pdf",
    show_default=True,
    help="Where to write the PDF.",
)
def labels(batch_no: str, issuance_id: int | None, out_path: str) -> None:
    """Print the A4 label sheet (PDF) of a batch's active codes, or of one issuance."""
    from backend.codes import printing
    from backend.codes.labels import DEFAULT_LAYOUT

    shown = -1

    def progress(done: int, total: int) -> None:
        nonlocal shown
        step = done * 10 // total
        if step != shown:
            shown = step
            click.echo(f"  {done:,}/{total:,} labels ({done * 100 // total}%)")

    try:
        batch = services.get_batch(batch_no)
        issuance = printing.get_issuance(issuance_id) if issuance_id is not None else None
        result = _write_atomically(
            out_path,
            lambda out: printing.render_labels(out, batch, issuance=issuance, progress=progress),
        )
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    except OSError as exc:
        raise click.ClickException(f"cannot write {out_path}: {exc.strerror}") from None
    click.echo(
        f"Wrote {result.labels:,} label(s) on {result.pages:,} page(s) "
        f"({DEFAULT_LAYOUT.name}) to {out_path}, {result.size / 1024:,.0f} KiB."
    )


def _write_atomically(path: str, write):
    """Call *write* with a file beside *path*, then rename it into place (never half a file)."""
    import os
    import tempfile
    from pathlib import Path

    target = Path(path)
    handle = tempfile.NamedTemporaryFile(  # renamed into place below, or removed
        dir=target.resolve().parent, prefix=f".{target.name}.", suffix=".part", delete=False
    )
    try:
        with handle:
            result = write(handle)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(handle.name, 0o666 & ~umask)  # as an ordinary new file, not mkstemp's 0600
        os.replace(handle.name, target)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    return result
