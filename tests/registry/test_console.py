"""Census and filing in the console: list, file, edit, status history, staff, who may change.

Every form is posted with its CSRF token (tests/support/console.py), as a browser would.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from backend.accounts.models import Role
from backend.audit.models import AuditLog
from backend.core.errors import Forbidden
from backend.core.time import local_today
from backend.registry import filing, listing
from backend.registry.models import (
    HealthCertificate,
    Staff,
    StaffRole,
    Workshop,
    WorkshopStatus,
    WorkshopStatusChange,
)
from tests.factories import (
    BrandFactory,
    ProductCategoryFactory,
    WorkshopFactory,
    ZoneFactory,
)
from tests.support.console import console_user, logged_in, submit, text


@pytest.fixture()
def setting(db):
    """A zone with its brand, two categories and two workshops in different places."""
    zone = ZoneFactory(code="banli", name_zh="半里小作坊集中加工区")
    brand = BrandFactory(zone=zone, code="banli-red", name_zh="半里红")
    wine = ProductCategoryFactory(code="huangjiu", name_zh="黄酒（含红曲酒）")
    tofu = ProductCategoryFactory(code="bean_products", name_zh="豆制品")
    in_zone = WorkshopFactory(
        registration_no="XZF3506252023001",
        name="四大桶红曲酒坊",
        zone=zone,
        brand=brand,
        township="半里乡",
        product_types=[wine],
        cert_valid_until=local_today() + timedelta(days=400),
    )
    outside = WorkshopFactory(
        registration_no="XZF3506252023002",
        name="枋洋豆腐坊",
        zone=None,
        township="枋洋镇",
        status=WorkshopStatus.SUSPENDED,
        product_types=[tofu],
        cert_valid_until=local_today() + timedelta(days=400),
    )
    return {
        "zone": zone,
        "brand": brand,
        "wine": wine,
        "tofu": tofu,
        "in_zone": in_zone,
        "outside": outside,
    }


def filing_form(setting, **overrides) -> dict:
    """A valid new-workshop form."""
    issued = local_today() - timedelta(days=100)
    data = {
        "registration_no": "XZF3506252024009",
        "name": "半里阿婆糕点坊",
        "operator_name": "杨阿婆",
        "contact_phone": "0596-8321234",
        "address": "漳州市长泰区半里乡加工区 9 号",
        "township": "半里乡",
        "product_types": ["huangjiu", "bean_products"],
        "issuing_authority": "漳州市长泰区市场监督管理局",
        "cert_issued_on": issued.isoformat(),
        "cert_valid_until": (issued + timedelta(days=3 * 365)).isoformat(),
        "zone_id": str(setting["zone"].id),
        "brand_id": str(setting["brand"].id),
        "description": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --- the list -------------------------------------------------------------------------------


def test_list_shows_every_workshop_with_its_status(client, setting):
    logged_in(client)
    page = text(client.get("/console/registry/"))
    assert "共 2 个" in page
    assert "四大桶红曲酒坊" in page and "枋洋豆腐坊" in page
    assert "停产整改" in page


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ("township=枋洋镇", "枋洋豆腐坊", "四大桶红曲酒坊"),
        ("zone=none", "枋洋豆腐坊", "四大桶红曲酒坊"),
        ("status=active", "四大桶红曲酒坊", "枋洋豆腐坊"),
        ("product_type=huangjiu", "四大桶红曲酒坊", "枋洋豆腐坊"),
        ("q=2023002", "枋洋豆腐坊", "四大桶红曲酒坊"),
    ],
)
def test_list_filters(client, setting, query, shown, hidden):
    logged_in(client, Role.INSPECTOR)
    page = text(client.get(f"/console/registry/?{query}"))
    assert shown in page
    assert hidden not in page


def test_list_filters_by_zone_id(client, setting):
    logged_in(client)
    page = text(client.get(f"/console/registry/?zone={setting['zone'].id}"))
    assert "四大桶红曲酒坊" in page and "枋洋豆腐坊" not in page


@pytest.mark.parametrize(
    "query",
    [
        "status=bogus",
        "zone=abc",
        "page=-1",
        "page=99999999999",
        "q=%25_%5C",
        "_external=1&_scheme=ftp",
        "fmt=pdf",
    ],
)
def test_list_survives_odd_query_strings(client, setting, query):
    logged_in(client)
    response = client.get(f"/console/registry/?{query}")
    assert response.status_code == 200


def test_list_pages(client, db, setting):
    for n in range(55):
        WorkshopFactory(registration_no=f"ZZ{n:04d}", zone=None, township="武安镇")
    logged_in(client)
    first = text(client.get("/console/registry/?township=武安镇"))
    assert "第 1 / 2 页" in first
    assert "page=2" in first and "township=" in first
    second = text(client.get("/console/registry/?township=武安镇&page=2"))
    assert "ZZ0054" in second and "ZZ0000" not in second


# --- filing a workshop ------------------------------------------------------------------------


def test_regulator_files_a_workshop(client, db, setting):
    user = logged_in(client)
    response = submit(client, "/console/registry/new", filing_form(setting))
    assert response.status_code == 302, text(response)[:2000]
    workshop = db.session.scalar(
        select(Workshop).where(Workshop.registration_no == "XZF3506252024009")
    )
    assert workshop.status is WorkshopStatus.FILED
    assert workshop.district == "长泰区"
    assert workshop.zone_id == setting["zone"].id
    assert workshop.brand_id == setting["brand"].id
    assert sorted(c.code for c in workshop.product_types) == ["bean_products", "huangjiu"]
    assert response.headers["Location"] == f"/console/registry/{workshop.id}"
    history = workshop.status_changes
    assert [(h.from_status, h.to_status, h.changed_by_id) for h in history] == [
        (None, WorkshopStatus.FILED, user.id)
    ]
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "workshop.filed"))
    assert audit.actor_id == user.id and audit.object_id == str(workshop.id)
    page = text(client.get(response.headers["Location"]))
    assert "已登记作坊 半里阿婆糕点坊" in page
    assert "XZF3506252024009" in page and "登记备案" in page


def test_long_term_certificates_need_no_end_date(client, db, setting):
    logged_in(client)
    form = filing_form(setting, cert_valid_until="", cert_long_term="y", brand_id="", zone_id="")
    response = submit(client, "/console/registry/new", form)
    assert response.status_code == 302
    workshop = db.session.scalar(select(Workshop).where(Workshop.name == "半里阿婆糕点坊"))
    assert workshop.cert_long_term and workshop.cert_valid_until is None
    assert "长期" in text(client.get(f"/console/registry/{workshop.id}"))


def test_township_aliases_are_read_as_the_township(client, db, setting):
    logged_in(client)
    response = submit(client, "/console/registry/new", filing_form(setting, township="坂里乡"))
    assert response.status_code == 302
    assert db.session.scalar(
        select(Workshop.township).where(Workshop.name == "半里阿婆糕点坊")
    ) == ("半里乡")


BAD_FILINGS = [
    ({"registration_no": "XZF3506252023001"}, "registration_no", "已被其他作坊使用"),
    ({"registration_no": " xzf3506252023001 "}, "registration_no", "已被其他作坊使用"),
    ({"registration_no": "=cmd|' /C calc'!A0"}, "registration_no", "不能有空格"),
    ({"registration_no": ""}, "registration_no", "必填"),
    ({"township": "厦门市思明区"}, "township", "不是本区的乡镇"),
    ({"cert_issued_on": "2024-13-45"}, "cert_issued_on", "不是有效的日期"),
    ({"cert_issued_on": "abc"}, "cert_issued_on", "不是有效的日期"),
    ({"cert_issued_on": "1899-01-01"}, "cert_issued_on", "日期须在 2000-01-01"),
    (
        {"cert_issued_on": (local_today() + timedelta(days=1)).isoformat()},
        "cert_issued_on",
        "日期须在",
    ),
    ({"cert_valid_until": "2001-01-01"}, "cert_valid_until", "日期须在"),
    ({"cert_valid_until": "9999-12-31"}, "cert_valid_until", "日期须在"),
    ({"cert_valid_until": ""}, "cert_valid_until", "或选择长期有效"),
    ({"cert_long_term": "y"}, "cert_valid_until", "请不要再填写有效期至"),
    ({"product_types": None}, "product_types", "至少选择一个"),
    ({"product_types": ["huangjiu", "poison"]}, "product_types", "未知的食品类别：poison"),
    ({"zone_id": "999999"}, "zone_id", "加工区不存在"),
    ({"zone_id": "abc"}, "zone_id", "加工区不存在"),
    ({"zone_id": ""}, "brand_id", "只供其加工区内的作坊使用"),
    ({"brand_id": "999999"}, "brand_id", "品牌不存在"),
    ({"name": "坊" * 101}, "name", "不能超过 100 个字符"),
    ({"name": "半里\t坊"}, "name", "控制字符"),
    ({"contact_phone": "call me"}, "contact_phone", "电话只能包含"),
    ({"operator_name": "   "}, "operator_name", "必填"),
]


@pytest.mark.parametrize(("overrides", "field", "message"), BAD_FILINGS)
def test_bad_filings_are_refused_next_to_the_field(client, db, setting, overrides, field, message):
    logged_in(client)
    before = count(db, Workshop), count(db, WorkshopStatusChange), count(db, AuditLog)
    response = submit(client, "/console/registry/new", filing_form(setting, **overrides))
    assert response.status_code == 422
    page = text(response)
    assert message in page
    # the message sits in the error list right under that field
    assert f'id="{field}-errors"' in page
    errors_at = page.index(f'id="{field}-errors"')
    assert message in page[errors_at : errors_at + 600]
    assert "未保存任何内容" in page
    after = count(db, Workshop), count(db, WorkshopStatusChange), count(db, AuditLog)
    assert after == before


def test_several_mistakes_are_reported_at_once(client, db, setting):
    logged_in(client)
    form = filing_form(setting, cert_issued_on="not a date", township="火星", name="")
    page = text(submit(client, "/console/registry/new", form))
    assert "不是有效的日期" in page and "不是本区的乡镇" in page and "必填" in page


# --- editing --------------------------------------------------------------------------------


def test_regulator_edits_a_workshop_and_the_change_is_audited(client, db, setting):
    user = logged_in(client)
    workshop = setting["in_zone"]
    form_page = text(client.get(f"/console/registry/{workshop.id}/edit"))
    assert 'value="XZF3506252023001"' in form_page
    response = submit(
        client,
        f"/console/registry/{workshop.id}/edit",
        filing_form(
            setting,
            registration_no="XZF3506252023001",
            name="四大桶酒业",
            product_types=["huangjiu"],
            cert_issued_on="2024-01-01",
            cert_valid_until="2027-01-01",
        ),
    )
    assert response.status_code == 302, text(response)[:3000]
    db.session.refresh(workshop)
    assert workshop.name == "四大桶酒业"
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "workshop.updated"))
    assert audit.actor_id == user.id
    assert audit.details["changes"]["name"] == ["四大桶红曲酒坊", "四大桶酒业"]


def test_editing_to_another_workshops_number_is_refused(client, db, setting):
    logged_in(client)
    workshop = setting["in_zone"]
    response = submit(
        client,
        f"/console/registry/{workshop.id}/edit",
        filing_form(setting, registration_no="XZF3506252023002"),
    )
    assert response.status_code == 422
    assert "已被其他作坊使用" in text(response)
    db.session.refresh(workshop)
    assert workshop.registration_no == "XZF3506252023001"


def test_unknown_workshop_is_an_html_404(client, setting):
    logged_in(client)
    for path in ("/console/registry/999999", "/console/registry/999999/edit"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.mimetype == "text/html"
        assert "作坊不存在" in text(response)


# --- status changes ----------------------------------------------------------------------------


def test_suspend_reactivate_and_cancel_are_kept_as_history(client, db, setting):
    logged_in(client)
    workshop = setting["in_zone"]
    url = f"/console/registry/{workshop.id}/status"
    assert submit(client, url, {"action": "suspend", "reason": "检查发现问题"}).status_code == 302
    assert submit(client, url, {"action": "reactivate", "reason": "整改完成"}).status_code == 302
    assert submit(client, url, {"action": "cancel", "reason": "经营者申请注销"}).status_code == 302
    db.session.refresh(workshop)
    assert workshop.status is WorkshopStatus.CANCELLED
    changes = db.session.scalars(
        select(WorkshopStatusChange)
        .where(WorkshopStatusChange.workshop_id == workshop.id)
        .order_by(WorkshopStatusChange.id)
    ).all()
    assert [(c.from_status, c.to_status, c.reason) for c in changes] == [
        (WorkshopStatus.ACTIVE, WorkshopStatus.SUSPENDED, "检查发现问题"),
        (WorkshopStatus.SUSPENDED, WorkshopStatus.ACTIVE, "整改完成"),
        (WorkshopStatus.ACTIVE, WorkshopStatus.CANCELLED, "经营者申请注销"),
    ]
    page = text(client.get(f"/console/registry/{workshop.id}"))
    for reason in ("检查发现问题", "整改完成", "经营者申请注销"):
        assert reason in page
    # a cancelled registration is final
    refused = submit(client, f"{url}?action=reactivate", {"action": "reactivate", "reason": "x"})
    assert refused.status_code == 422
    assert "不能整改完成，恢复生产" in text(refused)


def test_upgrade_needs_a_licence_and_a_trademark(client, db, setting):
    logged_in(client)
    workshop = setting["in_zone"]
    url = f"/console/registry/{workshop.id}/status"
    missing = submit(client, url, {"action": "upgrade"})
    assert missing.status_code == 422
    assert "须填写食品生产许可证编号" in text(missing) and "须填写商标" in text(missing)
    malformed = submit(
        client, url, {"action": "upgrade", "licence_no": "JY123", "trademark": "四大桶"}
    )
    assert "SC 加 14 位数字" in text(malformed)
    setting["outside"].licence_no = "SC12435062500025"
    db.session.flush()
    taken = submit(
        client, url, {"action": "upgrade", "licence_no": "SC12435062500025", "trademark": "四大桶"}
    )
    assert "已登记在其他作坊名下" in text(taken)
    db.session.refresh(workshop)
    assert workshop.status is WorkshopStatus.ACTIVE
    done = submit(
        client, url, {"action": "upgrade", "licence_no": "sc11535062500017", "trademark": "四大桶"}
    )
    assert done.status_code == 302
    db.session.refresh(workshop)
    assert workshop.status is WorkshopStatus.UPGRADED
    assert (workshop.licence_no, workshop.trademark) == ("SC11535062500017", "四大桶")
    last = workshop.status_changes[-1]
    assert (last.licence_no, last.trademark) == ("SC11535062500017", "四大桶")
    assert "SC11535062500017" in text(client.get(f"/console/registry/{workshop.id}"))


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"action": "suspend", "reason": ""}, "必填"),
        ({"action": "explode", "reason": "x"}, "未知的状态变更"),
        ({"action": "reactivate", "reason": "x"}, "当前状态为“在产”"),
        ({"action": "suspend", "reason": "x" * 501}, "不能超过 500 个字符"),
    ],
)
def test_bad_status_changes_are_refused(client, db, setting, form, message):
    logged_in(client)
    workshop = setting["in_zone"]
    response = submit(client, f"/console/registry/{workshop.id}/status", form)
    assert response.status_code == 422
    assert message in text(response)
    db.session.refresh(workshop)
    assert workshop.status is WorkshopStatus.ACTIVE
    assert not workshop.status_changes


# --- staff and health certificates ----------------------------------------------------------------


def test_staff_and_health_certificates(client, db, setting):
    logged_in(client)
    workshop = setting["in_zone"]
    response = submit(
        client,
        f"/console/registry/{workshop.id}/staff/new",
        {
            "name": "郑国平",
            "role": "owner",
            "phone": "13860612345",
            "handles_ready_to_eat": "y",
            "active": "y",
        },
    )
    assert response.status_code == 302
    person = db.session.scalar(select(Staff).where(Staff.workshop_id == workshop.id))
    assert (person.name, person.role, person.active) == ("郑国平", StaffRole.OWNER, True)
    issued = local_today() - timedelta(days=10)
    response = submit(
        client,
        f"/console/registry/staff/{person.id}/certificates/new",
        {
            "cert_no": "JKZ2026001",
            "issued_by": "长泰区疾病预防控制中心",
            "issued_on": issued.isoformat(),
            "expires_on": (issued + timedelta(days=365)).isoformat(),
        },
    )
    assert response.status_code == 302
    page = text(client.get(f"/console/registry/{workshop.id}"))
    assert "郑国平" in page and "JKZ2026001" in page
    # the person leaves: kept, marked
    response = submit(
        client,
        f"/console/registry/staff/{person.id}/edit",
        {"name": "郑国平", "role": "owner", "phone": "13860612345", "handles_ready_to_eat": "y"},
    )
    assert response.status_code == 302
    db.session.refresh(person)
    assert person.active is False
    assert "已离岗" in text(client.get(f"/console/registry/{workshop.id}"))


def test_staff_without_certificate_and_expired_ones_stand_out(client, db, setting):
    logged_in(client)
    workshop = setting["in_zone"]
    bare = Staff(workshop_id=workshop.id, name="无证者", handles_ready_to_eat=True)
    old = Staff(workshop_id=workshop.id, name="过期者", handles_ready_to_eat=True)
    db.session.add_all([bare, old])
    db.session.flush()
    db.session.add(
        HealthCertificate(
            staff_id=old.id,
            cert_no="JKZ2020",
            issued_on=date(2020, 1, 1),
            expires_on=date(2021, 1, 1),
        )
    )
    db.session.flush()
    page = text(client.get(f"/console/registry/{workshop.id}"))
    assert "无健康证" in page and "已过期" in page


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"issued_on": "yesterday"}, "issued_on", "不是有效的日期"),
        ({"issued_on": "2030-01-01", "expires_on": "2031-01-01"}, "issued_on", "日期须在"),
        ({"issued_on": "2025-01-01", "expires_on": "2024-01-01"}, "expires_on", "日期须在"),
        ({"issued_on": "2025-01-01", "expires_on": "2029-01-01"}, "expires_on", "日期须在"),
        ({"cert_no": ""}, "cert_no", "必填"),
        ({"cert_no": "DUP1"}, "cert_no", "已登记过编号为 DUP1"),
    ],
)
def test_bad_health_certificates_are_refused(client, db, setting, form, field, message):
    logged_in(client)
    person = Staff(workshop_id=setting["in_zone"].id, name="林德福")
    db.session.add(person)
    db.session.flush()
    db.session.add(
        HealthCertificate(
            staff_id=person.id,
            cert_no="DUP1",
            issued_on=date(2024, 1, 1),
            expires_on=date(2025, 1, 1),
        )
    )
    db.session.flush()
    data = {"cert_no": "JKZ1", "issued_on": "2025-03-01", "expires_on": "2026-03-01", **form}
    response = submit(client, f"/console/registry/staff/{person.id}/certificates/new", data)
    assert response.status_code == 422
    page = text(response)
    errors_at = page.index(f'id="{field}-errors"')
    assert message in page[errors_at : errors_at + 400]
    assert count(db, HealthCertificate) == 1


def test_bad_staff_is_refused(client, db, setting):
    logged_in(client)
    workshop = setting["in_zone"]
    response = submit(
        client,
        f"/console/registry/{workshop.id}/staff/new",
        {"name": "", "role": "boss", "phone": "abc"},
    )
    assert response.status_code == 422
    page = text(response)
    assert "必填" in page and "未知的岗位" in page and "电话只能包含" in page
    assert count(db, Staff) == 0


# --- who may change the registry -------------------------------------------------------------


def test_inspector_reads_but_cannot_change_the_registry(client, db, setting):
    logged_in(client, Role.INSPECTOR)
    workshop = setting["in_zone"]
    assert client.get("/console/registry/").status_code == 200
    detail = text(client.get(f"/console/registry/{workshop.id}"))
    assert "四大桶红曲酒坊" in detail
    assert "修改登记信息" not in detail and "变更状态" not in detail
    assert "登记新作坊" not in text(client.get("/console/registry/"))
    assert client.get("/console/registry/export.csv").status_code == 200
    for path in (
        "/console/registry/new",
        f"/console/registry/{workshop.id}/edit",
        f"/console/registry/{workshop.id}/status",
        f"/console/registry/{workshop.id}/staff/new",
        "/console/registry/import",
    ):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "只有监管人员可以修改作坊登记信息" in text(response)
    # posting with a valid token is refused too, and nothing changes
    token_page = "/console/registry/"
    for path, data in (
        ("/console/registry/new", filing_form(setting)),
        (f"/console/registry/{workshop.id}/status", {"action": "suspend", "reason": "x"}),
        (f"/console/registry/{workshop.id}/edit", filing_form(setting, name="改名")),
    ):
        response = submit(client, token_page, data, action=path)
        assert response.status_code == 403, path
    db.session.refresh(workshop)
    assert workshop.status is WorkshopStatus.ACTIVE and workshop.name == "四大桶红曲酒坊"
    assert count(db, Workshop) == 2


def test_services_refuse_anyone_but_a_regulator(db, setting):
    inspector = console_user(Role.INSPECTOR)
    operator = console_user(Role.OPERATOR)
    workshop = setting["in_zone"]
    for user in (inspector, operator, None):
        with pytest.raises(Forbidden):
            filing.change_status(workshop.id, "suspend", by=user, reason="x")
        with pytest.raises(Forbidden):
            filing.file_workshop(filing.WorkshopInput(), by=user)
    with pytest.raises(Forbidden):
        listing.search_workshops(listing.RegistryFilter(), by=operator)


def test_home_page_counts_the_registry(client, db, setting):
    WorkshopFactory(status=WorkshopStatus.CANCELLED)
    WorkshopFactory(
        status=WorkshopStatus.UPGRADED, licence_no="SC11535062500017", trademark="内坊豆腐"
    )
    WorkshopFactory(cert_valid_until=local_today() + timedelta(days=5), zone=None)
    logged_in(client)
    summary = listing.summary(by=console_user())
    assert (summary.filed, summary.in_zone, summary.upgraded, summary.suspended) == (4, 2, 1, 1)
    assert summary.cert_expiring == 1
    page = text(client.get("/console/"))
    assert "<strong>4</strong> 登记在册的作坊" in page
