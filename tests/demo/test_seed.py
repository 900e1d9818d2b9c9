import re

from sqlalchemy import func, select

from backend.batches.models import Batch, BatchState
from backend.codes.codegen import is_well_formed
from backend.codes.models import UnitCode
from backend.demo.seed import row_counts
from backend.ledgers.chain import verify_chains
from backend.registry.models import Brand, Workshop, WorkshopStatus, Zone
from backend.registry.standing import Standing, registration_standing
from backend.samples.models import TestResult, Verdict

URL = re.compile(r"https://yipin\.test/t/([0-9A-Z]{17})")


def test_seed_demo_builds_the_zone_once_and_prints_scannable_urls(db, runner, client):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    counts = row_counts()

    zone = db.session.scalar(select(Zone).where(Zone.code == "banli"))
    assert zone.name_zh == "半里小作坊集中加工区"
    assert {b.name_zh for b in db.session.scalars(select(Brand))} == {"半里红", "半里鲜"}
    assert counts["workshops"] == 44
    cancelled = select(func.count()).where(Workshop.status == WorkshopStatus.CANCELLED)
    assert db.session.scalar(cancelled) == 0  # all 44 are on file
    in_zone = db.session.scalar(select(func.count()).where(Workshop.zone_id == zone.id))
    assert in_zone == 10
    upgraded = db.session.scalars(
        select(Workshop).where(Workshop.status == WorkshopStatus.UPGRADED)
    ).all()
    assert sorted(w.trademark for w in upgraded) == ["内坊豆腐", "四大桶"]
    assert all(w.licence_no for w in upgraded)
    for table in (
        "products",
        "suppliers",
        "raw_material_lots",
        "batches",
        "batch_inputs",
        "additive_uses",
        "ledger_entries",
        "unit_codes",
        "scan_events",
        "samples",
        "test_results",
        "inspections",
        "hazards",
        "cameras",
        "trainings",
        "complaints",
        "shipments",
        "standard_limits",
        "health_certificates",
    ):
        assert counts[table] > 0, table

    # Sample URLs: a released batch, a held and a recalled one, and a product with a GTIN.
    urls = URL.findall(first.output)
    assert len(urls) >= 4
    states = set()
    for code_text in urls:
        assert is_well_formed(code_text)
        code = db.session.scalar(select(UnitCode).where(UnitCode.code == code_text))
        assert code is not None, code_text
        assert code.batch.batch_no in first.output
        states.add(code.batch.state)
    assert BatchState.RELEASED in states
    assert states & {BatchState.HELD, BatchState.RECALLED}
    assert "/01/06941234567010/10/" in first.output

    # Verdicts come from the standards table; the recalled batch failed in the lab.
    recalled = db.session.scalar(select(Batch).where(Batch.state == BatchState.RECALLED))
    failed = db.session.scalars(select(TestResult).where(TestResult.verdict == Verdict.FAIL))
    assert recalled.id in {r.sample.batch_id for r in failed}
    assert all(r.standard_limit_id for r in db.session.scalars(select(TestResult)))

    assert all(result.ok for result in verify_chains())

    # Some certificates have expired (kept so, they show the gate): the scan of a batch made
    # after the expiry says so, and the workshop can release nothing more.
    expired = [
        w
        for w in db.session.scalars(
            select(Workshop).where(Workshop.status == WorkshopStatus.ACTIVE)
        )
        if registration_standing(w).state is Standing.EXPIRED
    ]
    assert expired
    late = db.session.scalar(
        select(UnitCode.code)
        .join(Batch, UnitCode.batch_id == Batch.id)
        .join(Workshop, Batch.workshop_id == Workshop.id)
        .where(
            Workshop.id.in_([w.id for w in expired]),
            Batch.produced_on > Workshop.cert_valid_until,
        )
        .limit(1)
    )
    assert late is not None
    view = client.get(f"/api/v1/scan/{late}").get_json()
    assert view["batch"]["made_after_expiry"] is True
    assert view["workshop"]["registration"]["state"] == "expired"

    # The home page shows the seeded zone.
    home = client.get("/").get_data(as_text=True)
    assert "半里小作坊集中加工区" in home
    assert "<strong>10</strong>" in home and "<strong>44</strong>" in home
    assert "四大桶" in home and "内坊豆腐" in home

    # Every printed URL resolves; the held or recalled batch says so before anything else.
    for code_text in urls:
        code = db.session.scalar(select(UnitCode).where(UnitCode.code == code_text))
        page = client.get(f"/t/{code_text}")
        assert page.status_code == 200, code_text
        html = page.get_data(as_text=True)
        if code.batch.state in (BatchState.HELD, BatchState.RECALLED):
            # the status panel's word comes before the product's name (the panel leads)
            word = "已召回" if code.batch.state is BatchState.RECALLED else "已暂控"
            assert html.index('class="status-panel') < html.index(word) < html.index("<h1>")
            assert 'class="alert alert-danger"' in html
        api = client.get(f"/api/v1/scan/{code_text}").get_json()
        assert api["batch"]["batch_no"] == code.batch.batch_no
    for link in re.findall(r"https://yipin\.test(/01/\S+)", first.output):
        assert client.get(link).status_code == 307, link  # the resolver's default link
        assert client.get(link, follow_redirects=True).status_code == 200, link

    counts = row_counts()  # the scans above were written in their requests (no Redis)
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    assert "nothing changed" in second.output
    assert row_counts() == counts
    assert URL.findall(second.output) == urls
