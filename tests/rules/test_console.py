"""The rule base in the console: regulators see every row with its source, export it (a
Chinese file name that any server accepts), see reports of refused non-food substances and
past additive uses today's rules flag; operators' records are never rewritten."""

import csv
import io
from decimal import Decimal

from sqlalchemy import select

from backend.accounts.models import Role
from backend.audit.models import AuditLog
from backend.batches.models import AdditiveUse, BatchState
from backend.registry.models import ProductCategory
from backend.rules import standards
from tests.factories import BatchFactory, ProductFactory
from tests.support.console import logged_in, submit, text
from tests.support.workshop_day import now_iso


def test_regulators_read_the_rule_base_with_its_sources(client, db):
    standards.load_categories()
    standards.load_standards()
    logged_in(client, Role.REGULATOR)
    page = text(client.get("/console/rules/"))
    assert "食品安全规则库" in page and "GB 2760-2024" in page and "07.02" in page
    assert "表A.1 安赛蜜（CNS 19.011） 07.02 糕点" in page and "未核对" in page
    assert 'href="/console/rules/"' in text(client.get("/console/"))  # in the navigation
    only = text(client.get("/console/rules/?unverified=1&category=cakes"))
    assert "山梨酸及其钾盐" in only and "表A.1 安赛蜜（CNS 19.011） 07.02 糕点" not in only


def test_the_rule_base_exports_as_csv_and_xlsx_with_a_safe_file_name(client, db):
    standards.load_categories()
    standards.load_standards()
    logged_in(client, Role.INSPECTOR)
    response = client.get("/console/rules/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    disposition.encode("latin-1")  # a server refuses raw non-ASCII header values
    assert "filename*=UTF-8''%E8%A7%84%E5%88%99%E5%BA%93-" in disposition
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][:4] == ["产品类别", "GB 2760 食品类别", "项目代码", "项目"]
    assert len(rows) == len(standards.read_rules()) + 1
    assert all(row[8] and row[9] and row[1] for row in rows[1:])  # standard, clause, category
    xlsx = client.get("/console/rules/export.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


def test_operators_cannot_read_the_rule_base_console(client, db):
    assert client.get("/console/rules/").status_code in (302, 401)


def test_non_food_reports_and_flagged_past_uses_reach_the_console(client, db, shop):
    cakes = db.session.get(ProductCategory, "cakes")
    shop.workshop.product_types.append(cakes)
    cake = ProductFactory(workshop=shop.workshop, category=cakes, specification="500g/盒")
    batch = BatchFactory(
        workshop=shop.workshop,
        product=cake,
        planned_quantity=Decimal(200),
        state=BatchState.IN_PRODUCTION,
    )
    # A past entry written before the rules (legacy data): flagged on read, never rewritten.
    legacy = AdditiveUse(
        batch_id=batch.id, additive_name="苯甲酸钠", amount=Decimal("0.5"), unit="kg"
    )
    db.session.add(legacy)
    db.session.commit()
    refused = client.post(
        f"/api/v1/batches/{batch.batch_no}/additives",
        json={"occurred_at": now_iso(), "additive": "苏丹红", "amount": "1", "unit": "g"},
        headers=shop.staff_headers,
    )
    assert refused.status_code == 422 and refused.get_json()["error"] == "non_food_substance"
    logged_in(client, Role.REGULATOR)
    page = text(client.get("/console/rules/incidents"))
    assert "苏丹红" in page and shop.workshop.name in page  # the report
    assert "非食用物质报告（1）" in text(client.get("/console/rules/"))
    assert "违反规则" in page and "苯甲酸钠" in page and batch.batch_no in page
    assert "糕点中不得使用苯甲酸及其钠盐" in page
    db.session.refresh(legacy)
    assert legacy.additive_name == "苯甲酸钠" and legacy.amount == Decimal("0.5")
    assert (
        db.session.scalar(select(AdditiveUse.additive_code).where(AdditiveUse.id == legacy.id))
        is None
    )


def test_a_regulator_adds_a_name_and_the_operator_can_then_record_it(app, client, db, shop):
    cakes = db.session.get(ProductCategory, "cakes")
    shop.workshop.product_types.append(cakes)
    cake = ProductFactory(workshop=shop.workshop, category=cakes, specification="500g/盒")
    batch = BatchFactory(
        workshop=shop.workshop,
        product=cake,
        planned_quantity=Decimal(200),
        state=BatchState.IN_PRODUCTION,
    )
    db.session.commit()

    def record():
        return client.post(
            f"/api/v1/batches/{batch.batch_no}/additives",
            json={"occurred_at": now_iso(), "additive": "AK糖", "amount": "10", "unit": "g"},
            headers=shop.staff_headers,
        )

    assert record().get_json()["error"] == "unknown_substance"
    inspector = app.test_client()
    logged_in(inspector, Role.INSPECTOR)
    refused = submit(
        inspector,
        "/console/rules/",
        {"alias": "AK糖", "substance_code": "acesulfame"},
        action="/console/rules/aliases",
    )
    assert refused.status_code == 403 and "只有监管部门可以添加物质名称" in text(refused)
    logged_in(client, Role.REGULATOR)
    for alias, code, message in [
        ("安赛蜜", "acesulfame", "已是“安赛蜜（乙酰磺胺酸钾）”的名称"),
        ("AK糖", "no_such", "目录中没有代码为“no_such”的物质"),
        ("  ", "acesulfame", "请填写物质名称"),
    ]:
        submit(
            client,
            "/console/rules/",
            {"alias": alias, "substance_code": code},
            action="/console/rules/aliases",
        )
        assert message in text(client.get("/console/rules/")), alias
    added = submit(
        client,
        "/console/rules/",
        {"alias": "AK糖", "substance_code": "acesulfame"},
        action="/console/rules/aliases",
    )
    assert added.status_code == 303
    assert "AK糖 → acesulfame" in text(client.get("/console/rules/"))
    logged = db.session.scalar(select(AuditLog).where(AuditLog.action == "substance.alias_added"))
    assert logged.details["alias"] == "AK糖" and logged.details["substance_code"] == "acesulfame"
    answer = record()
    assert (
        answer.status_code == 201 and answer.get_json()["additive"]["additive_code"] == "acesulfame"
    )
    assert answer.get_json()["check"]["status"] == "within"


def test_the_cli_adds_a_name(app, db):
    runner = app.test_cli_runner()
    done = runner.invoke(args=["rules", "add-alias", "sorbic_acid", "山梨酸K"])
    assert done.exit_code == 0 and "山梨酸K → sorbic_acid" in done.output
    again = runner.invoke(args=["rules", "add-alias", "sorbic_acid", "山梨酸K"])
    assert again.exit_code == 1 and "已是" in again.output
