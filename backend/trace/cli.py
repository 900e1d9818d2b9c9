"""``flask --app backend trace backward|forward|report`` and ``flask --app backend epcis export``:
thin wrappers over the trace services (they only read, so nothing is committed)."""

from __future__ import annotations

import json
from datetime import date

import click

from backend.core.errors import DomainError


def _fail(exc: DomainError):
    """A service's refusal as a clean command-line error (exit status 1)."""
    messages = [exc.message] + [m for ms in exc.errors.values() for m in ms if m != exc.message]
    return click.ClickException("；".join(dict.fromkeys(messages)))


def _print_trace(trace, as_json: bool) -> None:
    """A trace as JSON, or as readable lines."""
    data = trace.as_dict()
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo(data["origin"])
    for supplier in data["suppliers"]:
        click.echo(f"supplier\t{supplier['id']}\t{supplier['name']}\t{supplier['licence_no']}")
    for lot in data["lots"]:
        click.echo(
            f"lot\t{lot['id']}\t{lot['lot_no']}\t{lot['material_name']}\t"
            f"{lot['quantity']} {lot['unit']}\t{lot['purchased_on']}\t{lot['workshop']}"
        )
    for batch in data["batches"]:
        click.echo(
            f"batch\t{batch['batch_no']}\t{batch['product']}\t{batch['state']}\t"
            f"{batch['produced_on'] or ''}\t{batch['codes']} codes"
        )
    for shipment in data["shipments"]:
        click.echo(
            f"shipment\t{shipment['document_no']}\t{shipment['shipped_on']}\t"
            f"{','.join(shipment['batches'])}"
        )
    for buyer in data["buyers"]:
        click.echo(f"buyer\t{buyer['id']}\t{buyer['name']}\t{buyer['phone']}")


@click.group("trace")
def trace_group() -> None:
    """Trace the graph: backward to lots and suppliers, forward to batches and buyers."""


@trace_group.command("backward")
@click.option("--batch", "batch_no", help="Batch number.")
@click.option("--code", help="A unit code printed on a product.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def backward(batch_no: str | None, code: str | None, as_json: bool) -> None:
    """From a batch (or a code) back to its raw lots and their suppliers."""
    from backend.trace import graph

    if bool(batch_no) == bool(code):
        raise click.UsageError("give exactly one of --batch and --code")
    try:
        batch = graph.batch_by_no(batch_no) if batch_no else graph.batch_by_code(code)
        _print_trace(graph.backward(batch), as_json)
    except DomainError as exc:
        raise _fail(exc) from None


@trace_group.command("forward")
@click.option("--lot", help="Raw lot id.")
@click.option("--supplier", help="Supplier id.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def forward(lot: str | None, supplier: str | None, as_json: bool) -> None:
    """From a raw lot (or every lot of a supplier) to batches, shipments and buyers."""
    from backend.trace import graph

    if bool(lot) == bool(supplier):
        raise click.UsageError("give exactly one of --lot and --supplier")
    try:
        if lot:
            trace = graph.forward_from_lot(graph.lot_by_id(lot))
        else:
            trace = graph.forward_from_supplier(graph.supplier_by_id(supplier))
        _print_trace(trace, as_json)
    except DomainError as exc:
        raise _fail(exc) from None


@trace_group.command("report")
@click.option("--batch", "batch_no", help="Batch number (with every batch sharing its lots).")
@click.option("--lot", help="Raw lot id.")
@click.option("--supplier", help="Supplier id.")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="Produced from.")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="Produced until.")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="File (stdout for CSV).")
def report(batch_no, lot, supplier, start, end, fmt: str, output: str | None) -> None:
    """The recall report (FSMA-204 style rows) as CSV or XLSX."""
    from backend.trace import recall_report

    try:
        trace = recall_report.trace_for(
            batch=batch_no,
            lot=lot,
            supplier=supplier,
            start=_day(start),
            end=_day(end),
        )
        data = recall_report.export(trace, fmt)
    except DomainError as exc:
        raise _fail(exc) from None
    if output:
        with open(output, "wb") as out:
            out.write(data)
        click.echo(f"{output}: {len(recall_report.rows(trace))} rows", err=True)
    elif fmt == "xlsx":
        raise click.UsageError("XLSX needs --output")
    else:
        click.echo(data.decode("utf-8-sig"), nl=False)


def _day(value) -> date | None:
    """A click DateTime as a date."""
    return value.date() if value is not None else None


@click.group("epcis")
def epcis_group() -> None:
    """EPCIS 2.0 (JSON-LD) export."""


@epcis_group.command("export")
@click.option("--batch", "batch_no", required=True, help="Batch number.")
def export(batch_no: str) -> None:
    """Print the batch's EPCIS 2.0 document."""
    from backend.trace import epcis, graph

    try:
        document = epcis.batch_document(graph.batch_by_no(batch_no))
    except DomainError as exc:
        raise _fail(exc) from None
    click.echo(json.dumps(document, ensure_ascii=False, indent=2))
