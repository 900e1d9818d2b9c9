"""Importing and exporting the workshop directory (CSV and XLSX), through the console."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date, timedelta

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from backend.accounts.models import Role
from backend.audit.models import AuditLog
from backend.core import spreadsheets
from backend.core.time import local_today
from backend.registry import imports
from backend.registry.models import Workshop, WorkshopStatus, WorkshopStatusChange
from tests.factories import BrandFactory, ProductCategoryFactory, WorkshopFactory, ZoneFactory
from tests.support.console import logged_in, submit, text

HEADER = [
    "登记证编号",
    "作坊名称",
    "经营者",
    "联系电话",
    "生产地址",
    "所在乡镇",
    "准许生产食品类别",
    "发证机关",
    "发证日期",
    "有效期至",
    "所属加工区",
    "使用品牌",
    "状态",
]
AUTHORITY = "漳州市长泰区市场监督管理局"
IMPORT = "/console/registry/import"


@pytest.fixture()
def setting(db):
    """The Banli zone with its brand and the categories a directory names."""
    zone = ZoneFactory(code="banli", name_zh="半里小作坊集中加工区")
    BrandFactory(zone=zone, code="banli-red", name_zh="半里红")
    ProductCategoryFactory(code="huangjiu", name_zh="黄酒（含红曲酒）", name_en="Huangjiu")
    ProductCategoryFactory(code="bean_products", name_zh="豆制品", name_en="Bean products")
    ProductCategoryFactory(code="cakes", name_zh="糕点", name_en="Cakes")
    return zone


def good_rows() -> list[list[str]]:
    """Three valid directory rows."""
    return [
        [
            "XZF3506252021001",
            "半里红曲酒坊",
            "郑国平",
            "13860612345",
            "半里乡加工区 1 号",
            "半里乡",
            "黄酒（含红曲酒）",
            AUTHORITY,
            "2021-03-01",
            "2027-02-28",
            "半里小作坊集中加工区",
            "半里红",
            "在产",
        ],
        [
            "XZF3506252022002",
            "枋洋黑豆腐坊",
            "林秀兰",
            "",
            "枋洋镇江都村 8 号",
            "坊洋镇",
            "豆制品、糕点",
            AUTHORITY,
            "2022/5/6",
            "长期",
            "",
            "",
            "",
        ],
        [
            "XZF3506252023003",
            "武安糕点坊",
            "陈建华",
            "0596-8321234",
            "武安镇人民路 3 号",
            "武安镇",
            "cakes",
            AUTHORITY,
            "2023年7月1日",
            "2026年6月30日",
            "",
            "",
            "已备案",
        ],
    ]


def csv_bytes(rows, header=HEADER, encoding="utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows, header=HEADER) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def upload(client, data: bytes, filename: str):
    return submit(
        client,
        IMPORT,
        {"file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def workshops(db) -> int:
    return db.session.scalar(select(func.count(Workshop.id)))


def test_import_page_offers_templates(client, setting):
    logged_in(client)
    page = text(client.get(IMPORT))
    assert "全部行校验通过才会导入" in page
    for fmt in ("csv", "xlsx"):
        response = client.get(f"/console/registry/template.{fmt}")
        assert response.status_code == 200
        assert "attachment" in response.headers["Content-Disposition"]
    header = client.get("/console/registry/template.csv").get_data().decode("utf-8-sig")
    assert header.strip().split(",")[:3] == ["登记证编号", "作坊名称", "经营者"]


@pytest.mark.parametrize("kind", ["csv", "xlsx", "gb18030"])
def test_a_clean_directory_is_imported_whole(client, db, setting, kind):
    user = logged_in(client)
    data = {
        "csv": lambda: csv_bytes(good_rows()),
        "xlsx": lambda: xlsx_bytes(good_rows()),
        "gb18030": lambda: csv_bytes(good_rows(), encoding="gb18030"),
    }[kind]()
    filename = "名录.xlsx" if kind == "xlsx" else "名录.csv"
    response = upload(client, data, filename)
    assert response.status_code == 200, text(response)[:3000]
    page = text(response)
    assert "已导入 3 个作坊" in page
    assert workshops(db) == 3
    wine, tofu, cakes = db.session.scalars(select(Workshop).order_by(Workshop.registration_no))
    assert wine.status is WorkshopStatus.ACTIVE
    assert wine.zone_id == setting.id and wine.brand.name_zh == "半里红"
    assert wine.cert_valid_until == date(2027, 2, 28)
    assert tofu.township == "枋洋镇"  # 坊洋镇 is read as 枋洋镇
    assert tofu.cert_long_term and tofu.cert_valid_until is None
    assert tofu.cert_issued_on == date(2022, 5, 6)
    assert sorted(c.code for c in tofu.product_types) == ["bean_products", "cakes"]
    assert tofu.status is WorkshopStatus.FILED
    assert cakes.cert_issued_on == date(2023, 7, 1)
    history = db.session.scalars(
        select(WorkshopStatusChange).where(WorkshopStatusChange.workshop_id == wine.id)
    ).all()
    assert [(h.from_status, h.to_status, h.changed_by_id) for h in history] == [
        (None, WorkshopStatus.ACTIVE, user.id)
    ]
    assert "导入" in history[0].reason
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "registry.imported"))
    assert audit.details["imported"] == 3


def test_xlsx_dates_and_numbers_from_excel_cells(client, db, setting):
    logged_in(client)
    rows = good_rows()[:1]
    rows[0][0] = 350625202101  # a number typed into the cell
    rows[0][3] = 13860612345
    rows[0][8] = date(2021, 3, 1)
    rows[0][9] = date(2027, 2, 28)
    response = upload(client, xlsx_bytes(rows), "dir.xlsx")
    assert "已导入 1 个作坊" in text(response), text(response)[:3000]
    workshop = db.session.scalar(select(Workshop))
    assert workshop.registration_no == "350625202101"
    assert workshop.contact_phone == "13860612345"
    assert workshop.cert_issued_on == date(2021, 3, 1)


def bad_directory() -> list[list]:
    """Good rows plus one row with every kind of mistake, and a duplicate of row 2."""
    rows = good_rows()
    rows.append(
        [
            "XZF3506252024004",
            "",
            "王宝珠",
            "电话",
            "岩溪镇 1 号",
            "鼓浪屿",
            "黄酒、毒药",
            AUTHORITY,
            "2030-01-01",
            "昨天",
            "不存在的加工区",
            "",
            "营业中",
        ]
    )
    rows.append(list(good_rows()[0]))  # the same registration number as row 2
    return rows


def test_one_bad_row_stops_the_import_and_every_problem_is_reported(client, db, setting):
    logged_in(client)
    response = upload(client, csv_bytes(bad_directory()), "dir.csv")
    assert response.status_code == 422
    page = text(response)
    assert workshops(db) == 0
    assert "未导入任何内容" in page
    for message in (
        "作坊名称</strong>：必填",
        "电话只能包含",
        "“鼓浪屿”不是本区的乡镇",
        "未知的食品类别“毒药”",
        "日期须在 2000-01-01",
        "“昨天”不是日期",
        "未知的所属加工区“不存在的加工区”",
        "未知的状态“营业中”",
        "与第 2 行的登记证编号重复",
    ):
        assert message in page, message
    # rows are numbered as the spreadsheet numbers them (the header is row 1)
    assert re.search(r"<td>5</td>\s*<td>XZF3506252024004</td>", page)
    assert "只导入校验通过的 3 行" in page


def test_the_user_may_choose_to_import_only_the_valid_rows(client, db, setting):
    logged_in(client)
    report = text(upload(client, csv_bytes(bad_directory()), "dir.csv"))
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', report) or re.search(
        r'id="token" name="token" type="hidden" value="([^"]+)"', report
    )
    token = token or re.search(r'name="token"[^>]*value="([^"]+)"', report)
    assert token, report[:3000]
    csrf = re.findall(r'name="csrf_token" type="hidden" value="([^"]+)"', report)[-1]
    response = client.post(
        "/console/registry/import/confirm",
        data={"token": token.group(1), "csrf_token": csrf},
    )
    assert response.status_code == 200
    page = text(response)
    assert "已导入 3 个作坊" in page
    assert "有错误的行已跳过" in page
    assert workshops(db) == 3
    assert (
        db.session.scalar(select(Workshop.id).where(Workshop.registration_no == "XZF3506252024004"))
        is None
    )


def test_a_tampered_or_missing_token_imports_nothing(client, db, setting):
    logged_in(client)
    for token in ("", "eyJmYWtlIjp0cnVlfQ.abc.def"):
        response = submit(
            client, IMPORT, {"token": token}, action="/console/registry/import/confirm"
        )
        assert response.status_code == 422
        assert "请重新上传文件" in text(response)
    assert workshops(db) == 0


def test_formula_cells_in_xlsx_are_refused(client, db, setting):
    logged_in(client)
    rows = good_rows()[:1]
    rows[0][1] = '=HYPERLINK("http://evil.example","点我")'
    response = upload(client, xlsx_bytes(rows), "dir.xlsx")
    assert response.status_code == 422
    assert "单元格含有公式" in text(response)
    assert workshops(db) == 0


def test_formula_text_is_kept_as_text_and_neutralised_on_export(client, db, setting):
    logged_in(client)
    rows = good_rows()
    rows[0][1] = "=cmd|' /C calc'!A0"
    rows[1][1] = "@SUM(1+1)"
    rows[2][4] = "-武安镇人民路 3 号"
    rows[2][3] = "+86 138 6061 2345"
    response = upload(client, csv_bytes(rows), "dir.csv")
    assert "已导入 3 个作坊" in text(response), text(response)[:4000]
    names = set(db.session.scalars(select(Workshop.name)))
    assert "=cmd|' /C calc'!A0" in names  # stored as typed, shown escaped
    detail = text(client.get("/console/registry/"))
    assert "=cmd|&#39; /C calc&#39;!A0" in detail

    exported = client.get("/console/registry/export.csv")
    assert exported.status_code == 200
    assert exported.mimetype == "text/csv"
    cells = [
        c for row in csv.reader(io.StringIO(exported.get_data().decode("utf-8-sig"))) for c in row
    ]
    assert "'=cmd|' /C calc'!A0" in cells
    assert "'@SUM(1+1)" in cells
    assert "'-武安镇人民路 3 号" in cells
    assert "'+86 138 6061 2345" in cells
    assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells)

    exported = client.get("/console/registry/export.xlsx")
    assert exported.status_code == 200
    sheet = load_workbook(io.BytesIO(exported.get_data())).active
    values = [cell for row in sheet.iter_rows() for cell in row]
    assert all(cell.data_type != "f" for cell in values)
    texts = [cell.value for cell in values if isinstance(cell.value, str)]
    assert "'=cmd|' /C calc'!A0" in texts and "'@SUM(1+1)" in texts
    assert not any(t.startswith(("=", "+", "-", "@", "\t", "\r")) for t in texts)


def test_export_then_import_gives_the_same_directory(client, db, setting):
    logged_in(client)
    upload(client, csv_bytes(good_rows()), "dir.csv")
    rows = good_rows()
    rows[0][1] = "=1+1 酒坊"
    # the exported file, re-imported into an empty registry, gives the same rows
    exported = client.get("/console/registry/export.xlsx").get_data()
    for workshop in db.session.scalars(select(Workshop)):
        db.session.execute(
            WorkshopStatusChange.__table__.delete().where(
                WorkshopStatusChange.workshop_id == workshop.id
            )
        )
        workshop.product_types = []
        db.session.flush()
        db.session.delete(workshop)
    db.session.flush()
    response = upload(client, exported, "export.xlsx")
    assert "已导入 3 个作坊" in text(response), text(response)[:3000]
    tofu = db.session.scalar(select(Workshop).where(Workshop.name == "枋洋黑豆腐坊"))
    assert tofu.cert_long_term and tofu.township == "枋洋镇"


def test_export_follows_the_filters_and_is_audited(client, db, setting):
    user = logged_in(client, Role.INSPECTOR)
    WorkshopFactory(name="岩溪肉丸坊", township="岩溪镇", zone=None)
    WorkshopFactory(name="半里面线坊", township="半里乡")
    response = client.get("/console/registry/export.csv?township=岩溪镇")
    body = response.get_data().decode("utf-8-sig")
    assert "岩溪肉丸坊" in body and "半里面线坊" not in body
    assert "filename*=UTF-8''workshops-" in response.headers["Content-Disposition"]
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "registry.exported"))
    assert audit.actor_id == user.id and audit.details["rows"] == 1


def test_oversized_files_are_refused_with_the_limit(client, db, setting, app, monkeypatch):
    logged_in(client)
    assert "不超过 2 MB" in text(client.get(IMPORT))
    # (a small limit: the test client leaks the temporary file of bodies over 500 KB)
    monkeypatch.setitem(app.config, "REGISTRY_IMPORT_MAX_BYTES", 10 * 1024)
    data = csv_bytes(good_rows()) + b"#" * 10 * 1024
    response = upload(client, data, "big.csv")
    assert response.status_code == 422
    page = text(response)
    errors_at = page.index('id="file-errors"')
    assert "文件过大：不能超过 10 KB" in page[errors_at : errors_at + 300]
    assert workshops(db) == 0


def test_a_request_over_the_server_limit_gets_an_html_413(client, db, setting, app, monkeypatch):
    logged_in(client)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 20 * 1024)
    response = upload(client, b"#" * 40 * 1024, "huge.csv")
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    assert "上传内容过大" in text(response)
    assert workshops(db) == 0


def test_too_many_rows_are_refused(client, db, setting, monkeypatch, app):
    logged_in(client)
    monkeypatch.setitem(app.config, "REGISTRY_IMPORT_MAX_ROWS", 2)
    response = upload(client, csv_bytes(good_rows()), "dir.csv")
    assert response.status_code == 422
    assert "文件超过 2 行" in text(response)
    assert workshops(db) == 0


def zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"<" + b" " * (60 * 1024 * 1024))
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "old.xls", "不支持旧版 Excel"),
        (b"%PDF-1.7 not a directory", "report.pdf", "只支持 .csv 和 .xlsx"),
        (b"PK\x03\x04 broken zip", "broken.xlsx", "无法读取该 XLSX 文件"),
        (zip_bomb(), "bomb.xlsx", "文件解压后过大"),
        (b"", "empty.csv", "文件是空的"),
        (b"\xef\xbb\xbf", "bom-only.csv", "文件是空的"),
        ("登记证编号,作坊名称\nX1,Y\n".encode(), "few.csv", "缺少：经营者"),
        (csv_bytes([]), "header-only.csv", "没有数据行"),
        (b"a,b\x00c\n", "binary.csv", "不是文本格式"),
        ('登记证编号,"作坊名称\n'.encode() * 2, "quote.csv", "缺少"),
    ],
)
def test_files_that_are_not_directories_get_a_clear_message(
    client, db, setting, data, filename, message
):
    logged_in(client)
    response = upload(client, data, filename)
    assert response.status_code == 422
    assert message in text(response)
    assert workshops(db) == 0


def test_no_file_chosen(client, db, setting):
    logged_in(client)
    response = submit(client, IMPORT, {}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "请选择要导入的 CSV 或 XLSX 文件" in text(response)


def test_rows_clashing_with_the_registry_are_reported(client, db, setting):
    logged_in(client)
    WorkshopFactory(registration_no="XZF3506252021001")
    WorkshopFactory(licence_no="SC11535062500017", status=WorkshopStatus.UPGRADED)
    rows = good_rows()
    rows[2][12] = "已升级为企业"
    header = [*HEADER, "食品生产许可证编号", "商标"]
    rows = [r + ["", ""] for r in rows]
    rows[2][13:15] = ["SC11535062500017", "武安"]
    rows[1][13] = "SC99999999999999"  # a licence for a workshop that is not upgraded
    page = text(upload(client, csv_bytes(rows, header=header), "dir.csv"))
    assert "登记证编号 XZF3506252021001 已被其他作坊使用" in page
    assert "已登记在其他作坊名下" in page
    assert "只有升级为企业的作坊才填写" in page
    assert workshops(db) == 2


def test_inspectors_cannot_import(client, db, setting):
    logged_in(client, Role.INSPECTOR)
    assert client.get(IMPORT).status_code == 403
    response = submit(
        client,
        "/console/registry/",
        {"file": (io.BytesIO(csv_bytes(good_rows())), "dir.csv")},
        action=IMPORT,
        content_type="multipart/form-data",
    )
    assert response.status_code == 403
    assert workshops(db) == 0


def test_neutralise_and_its_inverse():
    for dangerous in ("=1+1", "+1", "-1", "@A1", "\tx", "\rx"):
        assert spreadsheets.neutralise(dangerous) == "'" + dangerous
        assert spreadsheets.unneutralise(spreadsheets.neutralise(dangerous)) == dangerous
    for safe in ("半里", "'quoted", "1", "", None, 3, date(2024, 1, 1)):
        assert spreadsheets.neutralise(safe) == safe
    assert spreadsheets.unneutralise("'plain") == "'plain"


def test_dates_people_write(setting):
    assert imports.parse_date("2024-01-31") == date(2024, 1, 31)
    assert imports.parse_date("2024/1/31") == date(2024, 1, 31)
    assert imports.parse_date("2024.01.31") == date(2024, 1, 31)
    assert imports.parse_date("2024年1月31日") == date(2024, 1, 31)
    assert imports.parse_date("20240131") == date(2024, 1, 31)
    assert imports.parse_date("") is None
    for bad in ("31/01/2024", "2024-02-30", "tomorrow", str(local_today() + timedelta(1)) + "x"):
        with pytest.raises(ValueError):
            imports.parse_date(bad)
