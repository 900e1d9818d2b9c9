"""Trace and recall report at 100 times the demo, on PostgreSQL.

    .venv/bin/python bench/trace.py                   # 4,400 workshops, ~2 million codes
    .venv/bin/python bench/trace.py --scale 10        # a quicker look
    .venv/bin/python bench/trace.py --json trace-bench.json

A throwaway PostgreSQL database (created on 127.0.0.1:5432 and dropped afterwards) is built
by the migrations, then filled with COPY: per workshop (the demo has 44) one product, 6 raw
lots over a year from 800 shared suppliers, 5 batches each made of 2–3 of the workshop's
lots bought just before (so lots are shared between batches), 100 unit codes per batch
(2.2 million in all) and 2 shipments per batch to the workshop's 2 buyers. Then each
measured operation runs on samples of real starts, warm, and reports median and worst of
the runs; its SQL plan is checked with EXPLAIN for index use on every large table (no
sequential scan of a table over 10,000 rows). Target: each under 1 s. Exits 1 when a
target or a plan check fails.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.databases import throwaway_database  # noqa: E402

DEMO_WORKSHOPS = 44
SUPPLIERS_PER_44 = 8
LOTS_PER_WORKSHOP = 6  # the demo: 263 lots, 205 batches, 40 buyers for 44 workshops
BATCHES_PER_WORKSHOP = 5
CODES_PER_BATCH = 100  # the demo prints ~15; more here, for "millions of codes"
BUYERS_PER_WORKSHOP = 2
LARGE = 10_000


def copy_rows(cursor, table: str, columns: list[str], rows) -> int:
    """COPY *rows* into *table* (text format through a buffer of 50,000 rows at a time)."""
    count = 0
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def generate(connection, scale: int, seed: int = 8) -> dict[str, int]:
    """Fill the database: *scale* times the demo's 44 workshops (ids assigned in order)."""
    rng = random.Random(seed)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    workshops = DEMO_WORKSHOPS * scale
    suppliers = max(8, SUPPLIERS_PER_44 * scale)
    counts: dict[str, int] = {}
    start_day = date(2025, 11, 1)
    with connection.cursor() as cur:
        counts["workshops"] = copy_rows(
            cur,
            "workshops",
            [
                "id",
                "registration_no",
                "name",
                "operator_name",
                "contact_phone",
                "address",
                "township",
                "district",
                "status",
                "issuing_authority",
                "cert_issued_on",
                "cert_long_term",
                "description",
                "created_at",
                "updated_at",
            ],
            (
                (
                    w,
                    f"JY-XZF-B{w:08d}",
                    f"作坊{w}",
                    "经营者",
                    "",
                    f"地址{w}",
                    "岩溪镇",
                    "长泰区",
                    "filed",
                    "长泰区市场监督管理局",
                    date(2024, 1, 1),
                    True,
                    "",
                    now,
                    now,
                )
                for w in range(1, workshops + 1)
            ),
        )
        counts["products"] = copy_rows(
            cur,
            "products",
            [
                "id",
                "workshop_id",
                "category_code",
                "name",
                "name_en",
                "specification",
                "storage",
                "standard_executed",
                "ingredients",
                "description",
                "active",
                "created_at",
                "updated_at",
            ],
            (
                (w, w, "bean_products", f"黑豆腐{w}", "", "500g", "", "", "", "", True, now, now)
                for w in range(1, workshops + 1)
            ),
        )
        counts["suppliers"] = copy_rows(
            cur,
            "suppliers",
            [
                "id",
                "name",
                "licence_no",
                "address",
                "contact_name",
                "contact_phone",
                "supplies",
                "created_at",
                "updated_at",
            ],
            (
                (s, f"供应商{s}", f"JY1{s:012d}", "", "", "", "黑豆", now, now)
                for s in range(1, suppliers + 1)
            ),
        )
        counts["buyers"] = copy_rows(
            cur,
            "buyers",
            [
                "id",
                "workshop_id",
                "name",
                "address",
                "contact_name",
                "contact_phone",
                "created_at",
                "updated_at",
            ],
            (
                ((w - 1) * BUYERS_PER_WORKSHOP + b, w, f"买方{b}", "长泰区", "", "", now, now)
                for w in range(1, workshops + 1)
                for b in range(1, BUYERS_PER_WORKSHOP + 1)
            ),
        )

        lots_per_workshop = LOTS_PER_WORKSHOP
        supplier_of = [rng.randint(1, suppliers) for _ in range(workshops * lots_per_workshop)]

        def lots():
            for w in range(1, workshops + 1):
                for n in range(lots_per_workshop):
                    lot_id = (w - 1) * lots_per_workshop + n + 1
                    day = start_day + timedelta(days=(w * 37) % 300 + n * 10)
                    yield (
                        lot_id,
                        w,
                        supplier_of[lot_id - 1],
                        f"L{n:03d}",
                        "黑豆",
                        False,
                        "",
                        "50",
                        "kg",
                        "",
                        day,
                        True,
                        True,
                        True,
                        "accepted",
                        "",
                        now,
                        now,
                    )

        counts["raw_material_lots"] = copy_rows(
            cur,
            "raw_material_lots",
            [
                "id",
                "workshop_id",
                "supplier_id",
                "lot_no",
                "material_name",
                "is_additive",
                "specification",
                "quantity",
                "unit",
                "supplier_batch_no",
                "purchased_on",
                "supplier_licence_checked",
                "certificate_checked",
                "sensory_ok",
                "result",
                "note",
                "created_at",
                "updated_at",
            ],
            lots(),
        )

        batches_per_workshop = BATCHES_PER_WORKSHOP

        def batch_rows():
            for w in range(1, workshops + 1):
                for n in range(batches_per_workshop):
                    batch_id = (w - 1) * batches_per_workshop + n + 1
                    day = start_day + timedelta(days=(w * 37) % 300 + n * 12 + 5)
                    yield (
                        batch_id,
                        f"B{w:05d}-{n:03d}",
                        w,
                        w,
                        "released",
                        day,
                        "件",
                        "",
                        "",
                        now,
                        now,
                    )

        counts["batches"] = copy_rows(
            cur,
            "batches",
            [
                "id",
                "batch_no",
                "workshop_id",
                "product_id",
                "state",
                "produced_on",
                "unit",
                "process_notes",
                "hold_reason",
                "created_at",
                "updated_at",
            ],
            batch_rows(),
        )

        def inputs():
            for w in range(1, workshops + 1):
                first_lot = (w - 1) * lots_per_workshop + 1
                for n in range(batches_per_workshop):
                    batch_id = (w - 1) * batches_per_workshop + n + 1
                    # Lots bought in the weeks before the batch; neighbours share lots.
                    newest = min(
                        lots_per_workshop - 1, n * lots_per_workshop // batches_per_workshop
                    )
                    choices = list(range(max(0, newest - 3), newest + 1))
                    for offset in rng.sample(choices, min(len(choices), rng.choice((2, 3)))):
                        yield (batch_id, first_lot + offset, "10", "kg")

        counts["batch_inputs"] = copy_rows(
            cur, "batch_inputs", ["batch_id", "raw_lot_id", "quantity", "unit"], inputs()
        )
        counts["code_issuances"] = copy_rows(
            cur,
            "code_issuances",
            ["id", "batch_id", "kind", "count", "first_serial", "created_at"],
            (
                (b, b, "unit", CODES_PER_BATCH, 1, now)
                for b in range(1, workshops * batches_per_workshop + 1)
            ),
        )
        counts["unit_codes"] = copy_rows(
            cur,
            "unit_codes",
            [
                "code",
                "batch_id",
                "issuance_id",
                "serial",
                "kind",
                "status",
                "scan_count",
                "created_at",
            ],
            (
                (f"B{b:08d}{s:08d}", b, b, s, "unit", "active", 0, now)
                for b in range(1, workshops * batches_per_workshop + 1)
                for s in range(1, CODES_PER_BATCH + 1)
            ),
        )

        def shipments():
            sid = 0
            for w in range(1, workshops + 1):
                for n in range(batches_per_workshop):
                    batch_id = (w - 1) * batches_per_workshop + n + 1
                    day = start_day + timedelta(days=(w * 37) % 300 + n * 12 + 6)
                    for k in range(2):
                        sid += 1
                        buyer = (w - 1) * BUYERS_PER_WORKSHOP + rng.randint(1, BUYERS_PER_WORKSHOP)
                        yield (
                            sid,
                            batch_id,
                            (
                                sid,
                                w,
                                buyer,
                                f"XS{n:03d}-{k}",
                                day,
                                "",
                                "",
                                now,
                                now,
                            ),
                        )

        shipment_rows, item_rows = [], []
        for sid, batch_id, row in shipments():
            shipment_rows.append(row)
            item_rows.append((sid, batch_id, "20", "件"))
        counts["shipments"] = copy_rows(
            cur,
            "shipments",
            [
                "id",
                "workshop_id",
                "buyer_id",
                "document_no",
                "shipped_on",
                "inspection_cert_no",
                "note",
                "created_at",
                "updated_at",
            ],
            shipment_rows,
        )
        counts["shipment_items"] = copy_rows(
            cur, "shipment_items", ["shipment_id", "batch_id", "quantity", "unit"], item_rows
        )
        for table in (
            "workshops",
            "products",
            "suppliers",
            "buyers",
            "raw_material_lots",
            "batches",
            "code_issuances",
            "shipments",
        ):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
    connection.commit()
    with connection.cursor() as cur:
        connection.autocommit = True
        cur.execute("VACUUM ANALYZE")
        connection.autocommit = False
    return counts


def plan_problems(session, statement: str, params, sizes: dict[str, int]) -> list[str]:
    """Sequential scans of large tables in the plan of the SQL *statement*."""
    from sqlalchemy import text

    explain = session.execute(text(f"EXPLAIN (FORMAT JSON) {statement}"), params).scalar()
    plan = explain if isinstance(explain, list) else json.loads(explain)
    problems = []

    def walk(node):
        relation = node.get("Relation Name")
        if node.get("Node Type") == "Seq Scan" and sizes.get(relation, 0) > LARGE:
            problems.append(f"Seq Scan on {relation} ({sizes[relation]:,} rows)")
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return problems


def timed(function, repeat: int) -> tuple[float, float]:
    """Median and worst seconds of *repeat* runs of *function* (after one warm-up run)."""
    function()
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs), max(runs)


def measure(app, counts: dict[str, int], repeat: int, seed: int = 9) -> list[dict]:
    """Time each operation on a few real starts and check its plans."""
    from sqlalchemy import select

    from backend.batches.models import Batch
    from backend.extensions import db
    from backend.ledgers.models import RawMaterialLot
    from backend.registry.models import Supplier
    from backend.trace import graph, recall_report

    rng = random.Random(seed)
    results = []
    with app.app_context(), app.test_request_context():
        session = db.session
        batch_ids = [rng.randint(1, counts["batches"]) for _ in range(5)]
        lot_ids = [rng.randint(1, counts["raw_material_lots"]) for _ in range(5)]
        supplier_ids = [rng.randint(1, counts["suppliers"]) for _ in range(3)]
        batches = [session.get(Batch, i) for i in batch_ids]
        lots = [session.get(RawMaterialLot, i) for i in lot_ids]
        suppliers = [session.get(Supplier, i) for i in supplier_ids]

        def walk_plan(kind, ids, forward):
            sql = graph.WALK.format(
                seed_table=graph.SEED_TABLES[kind],
                edges=graph.FORWARD_EDGES if forward else graph.BACKWARD_EDGES,
            ).replace(":ids", "(" + ", ".join(str(int(i)) for i in ids) + ")")
            return plan_problems(session, sql, {"kind": kind}, counts)

        operations = [
            (
                "backward trace from a batch",
                lambda b=batches: [graph.backward(x) for x in b],
                len(batches),
                walk_plan("batch", batch_ids, False),
            ),
            (
                "forward trace from a raw lot",
                lambda lo=lots: [graph.forward_from_lot(x) for x in lo],
                len(lots),
                walk_plan("lot", lot_ids, True),
            ),
            (
                "forward trace from a supplier",
                lambda s=suppliers: [graph.forward_from_supplier(x) for x in s],
                len(suppliers),
                walk_plan("supplier", supplier_ids, True),
            ),
            (
                "recall scope of a batch (back and forth)",
                lambda b=batches: [graph.affected([x], "b") for x in b],
                len(batches),
                [],
            ),
            (
                "recall report XLSX of a batch",
                lambda b=batches: [
                    recall_report.export(graph.affected([x], "b"), "xlsx") for x in b
                ],
                len(batches),
                [],
            ),
            (
                "recall report CSV of a supplier",
                lambda s=suppliers: [
                    recall_report.export(graph.forward_from_supplier(x), "csv") for x in s
                ],
                len(suppliers),
                [],
            ),
        ]
        day = session.scalar(select(Batch.produced_on).where(Batch.id == batch_ids[0]))
        day_plan = plan_problems(
            session,
            "SELECT * FROM batches WHERE produced_on >= :day AND produced_on <= :day",
            {"day": day},
            counts,
        )
        operations.append(
            (
                "recall report CSV of one production day",
                lambda d=day: recall_report.export(recall_report.trace_for(start=d, end=d), "csv"),
                1,
                day_plan + walk_plan("batch", batch_ids, False),
            ),
        )
        for name, function, per_run, problems in operations:
            median, worst = timed(function, repeat)
            session.expunge_all()
            sizes = _sizes(name, batches, lots, suppliers, day)
            results.append(
                {
                    "operation": name,
                    "median_s": median / per_run,
                    "worst_s": worst / per_run,
                    "plan": "index scans" if not problems else "; ".join(problems),
                    "reached": sizes,
                }
            )
    return results


def _sizes(name, batches, lots, suppliers, day) -> str:
    """What one run reached, for the table (from the first start)."""
    from backend.trace import graph, recall_report

    if "supplier" in name:
        trace = graph.forward_from_supplier(suppliers[0])
    elif "raw lot" in name:
        trace = graph.forward_from_lot(lots[0])
    elif "day" in name:
        trace = recall_report.trace_for(start=day, end=day)
    elif "backward" in name:
        trace = graph.backward(batches[0])
    else:
        trace = graph.affected([batches[0]], "b")
    return (
        f"{len(trace.lots)} lots, {len(trace.batches)} batches, {trace.code_total} codes, "
        f"{len(trace.shipments)} shipments, {len(trace.buyers)} buyers"
    )


def main() -> int:
    """Build, fill, measure, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=100, help="times the demo (44 workshops)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, help="write the results here too")
    args = parser.parse_args()

    import flask_migrate
    import psycopg

    from backend import create_app
    from backend.config import TestingConfig
    from backend.extensions import db
    from backend.rules import standards

    with throwaway_database("postgresql", "trace") as url:
        config = type("BenchConfig", (TestingConfig,), {"SQLALCHEMY_DATABASE_URI": url})
        app = create_app(config)
        with app.app_context():
            flask_migrate.upgrade()
            standards.load_categories()
            db.session.commit()
            db.engine.dispose()
        started = time.perf_counter()
        with psycopg.connect(url) as connection:
            counts = generate(connection, args.scale)
        generated = time.perf_counter() - started
        print(
            f"generated in {generated:.1f} s: " + ", ".join(f"{k} {v:,}" for k, v in counts.items())
        )
        results = measure(app, counts, args.repeat)
        with app.app_context():
            db.engine.dispose()
    failed = False
    print(f"{'operation':45} {'median':>9} {'worst':>9}  plan / reached")
    for row in results:
        ok = row["worst_s"] < 1.0 and row["plan"] == "index scans"
        failed |= not ok
        print(
            f"{row['operation']:45} {row['median_s'] * 1000:7.1f}ms {row['worst_s'] * 1000:7.1f}ms"
            f"  {row['plan']} · {row['reached']}{'' if ok else '  FAIL'}"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "scale": args.scale,
                    "counts": counts,
                    "generated_s": generated,
                    "results": results,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
