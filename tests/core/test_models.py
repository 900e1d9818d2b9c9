"""The database itself enforces the rules, not only Python: checked with plain SQL.

Each bad row is written with a plain INSERT inside a SAVEPOINT; the same INSERT with good
values succeeds first, so the refusal is due to the one bad value.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from backend.models import Zone
from tests.factories import (
    CodeIssuanceFactory,
    ProductCategoryFactory,
    WorkshopFactory,
    ZoneFactory,
)
from tests.support.network import NetworkBlocked

WORKSHOP_INSERT = text(
    "INSERT INTO workshops (registration_no, name, operator_name, contact_phone, address,"
    " township, district, status, issuing_authority, cert_issued_on, cert_long_term,"
    " description, created_at, updated_at)"
    " VALUES (:registration_no, '测试作坊', '林某', '', '半里乡', '半里乡', '长泰区', :status,"
    " '长泰区市场监督管理局', '2024-01-01', :long_term, '', CURRENT_TIMESTAMP,"
    " CURRENT_TIMESTAMP)"
)
PRODUCT_INSERT = text(
    "INSERT INTO products (workshop_id, category_code, name, name_en, specification, storage,"
    " standard_executed, ingredients, gtin, description, active, created_at, updated_at)"
    " VALUES (:workshop_id, :category_code, :name, '', '500ml', '', '', '', :gtin, '', :active,"
    " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
)
UNIT_CODE_INSERT = text(
    "INSERT INTO unit_codes (code, batch_id, issuance_id, serial, kind, status, scan_count,"
    " created_at)"
    " VALUES (:code, :batch_id, :issuance_id, :serial, 'unit', 'active', 0, CURRENT_TIMESTAMP)"
)


def execute(db, statement, **params) -> None:
    """Run *statement* in a SAVEPOINT, so a refusal leaves the test's transaction usable."""
    with db.session.begin_nested():
        db.session.execute(statement, params)


def refused(rule: str):
    """Expect an IntegrityError whose database message names *rule* (both dialects)."""
    return pytest.raises(IntegrityError, match=f"(?i){rule}")


def insert_workshop(db, registration_no: str, status: str = "filed") -> None:
    """Insert a workshop with plain SQL."""
    execute(db, WORKSHOP_INSERT, registration_no=registration_no, status=status, long_term=True)


def count(db, table: str) -> int:
    """Rows in *table*."""
    return db.session.scalar(text(f"SELECT count(*) FROM {table}"))


def test_workshop_status_outside_the_enum_is_refused(db):
    insert_workshop(db, "SQL-0001", status="active")
    with refused("check constraint"):
        insert_workshop(db, "SQL-0002", status="bogus")
    assert count(db, "workshops") == 1


def test_duplicate_registration_no_is_refused(db):
    WorkshopFactory(registration_no="JY-DUP-1")
    insert_workshop(db, "JY-DUP-2")
    with refused("unique"):
        insert_workshop(db, "JY-DUP-1")
    assert count(db, "workshops") == 2


def test_foreign_key_to_a_missing_row_is_refused(db):
    """This would pass silently on SQLite if foreign keys were off."""
    workshop = WorkshopFactory()
    category = ProductCategoryFactory()
    good = {"category_code": category.code, "gtin": None, "active": True}
    execute(db, PRODUCT_INSERT, workshop_id=workshop.id, name="红曲酒", **good)
    with refused("foreign key"):
        execute(db, PRODUCT_INSERT, workshop_id=999999, name="无主酒", **good)
    with refused("foreign key"):
        execute(
            db,
            PRODUCT_INSERT,
            workshop_id=workshop.id,
            name="无类酒",
            category_code="no-such-category",
            gtin=None,
            active=True,
        )
    assert count(db, "products") == 1


def test_gtin_must_have_14_digits(db):
    workshop = WorkshopFactory()
    category = ProductCategoryFactory()
    good = {"workshop_id": workshop.id, "category_code": category.code, "active": True}
    execute(db, PRODUCT_INSERT, name="有码酒", gtin="06901234567892", **good)
    with refused("check constraint"):
        execute(db, PRODUCT_INSERT, name="短码酒", gtin="12345", **good)
    assert count(db, "products") == 1


def test_unit_code_must_have_17_characters(db):
    issuance = CodeIssuanceFactory()
    ids = {"batch_id": issuance.batch_id, "issuance_id": issuance.id}
    execute(db, UNIT_CODE_INSERT, code="0123456789ABCDEFG", serial=1, **ids)
    with refused("check constraint"):
        execute(db, UNIT_CODE_INSERT, code="SHORT", serial=2, **ids)
    assert count(db, "unit_codes") == 1


def test_aware_datetime_round_trips_as_utc(db):
    shanghai_morning = datetime(2024, 5, 1, 8, 30, tzinfo=timezone(timedelta(hours=8)))
    zone = ZoneFactory(created_at=shanghai_morning)
    db.session.expire_all()

    stored = db.session.scalar(select(Zone.created_at).where(Zone.id == zone.id))
    assert stored == datetime(2024, 5, 1, 0, 30, tzinfo=UTC)
    assert stored.tzinfo is not None
    assert stored.utcoffset() == timedelta(0)


def test_naive_datetime_is_refused(db):
    with pytest.raises(StatementError) as caught:
        with db.session.begin_nested():
            ZoneFactory(created_at=datetime(2024, 5, 1, 8, 30))
    assert isinstance(caught.value.orig, ValueError)
    assert "naive datetime" in str(caught.value.orig)


def test_commits_in_a_test_stay_inside_its_transaction(db):
    """What a test commits is seen by the test only, and rolled back after it."""
    ZoneFactory(code="committed-in-test")
    db.session.commit()
    query = select(func.count(Zone.id)).where(Zone.code == "committed-in-test")
    assert db.session.scalar(query) == 1
    with db.engine.connect() as outside:
        assert outside.scalar(query) == 0


def test_network_beyond_this_machine_is_blocked():
    with pytest.raises(NetworkBlocked):
        socket.create_connection(("203.0.113.5", 80), timeout=1)
    with pytest.raises(NetworkBlocked):
        socket.getaddrinfo("example.com", 80)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        with pytest.raises(NetworkBlocked):
            sock.connect(("203.0.113.5", 80))
        with pytest.raises(NetworkBlocked):
            sock.connect_ex(("203.0.113.5", 80))


def test_loopback_is_allowed():
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=1) as client:
            assert client.getpeername() == ("127.0.0.1", port)
    # Now nothing listens there: the attempt is made and refused by this machine.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1)
    assert socket.getaddrinfo("localhost", port)
