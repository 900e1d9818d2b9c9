"""The trace graph both ways on a multi-step fixture (SQLite, and PostgreSQL with
TEST_DATABASE_URL): exactly the expected lots, batches and buyers, and clear errors."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from backend.accounts.models import Role
from backend.accounts.permissions import require_role
from backend.codes.models import UnitCode
from backend.core.errors import Forbidden, NotFound, ValidationError
from backend.trace import graph
from tests.factories import UserFactory
from tests.support.trace_chain import chain_fixture  # noqa: F401  (the `chain` fixture)


def names(rows, attr):
    return {getattr(row, attr) for row in rows}


def test_backward_from_a_batch_finds_its_lots_and_suppliers(chain):
    trace = graph.backward(chain.tofu_a)
    assert names(trace.lots, "lot_no") == {"HD-1", "LS-1"}
    assert names(trace.suppliers, "name") == {"长泰黑豆合作社", "漳州盐业公司"}
    assert names(trace.batches, "batch_no") == {"FY-20261105-01"}
    assert trace.buyers == [] and trace.shipments == []

    trace = graph.backward(chain.tofu_b)
    assert names(trace.lots, "lot_no") == {"HD-1", "HD-2"}
    assert names(trace.suppliers, "name") == {"长泰黑豆合作社"}


def test_backward_from_a_code(db, chain):
    code = db.session.scalar(select(UnitCode.code).where(UnitCode.batch_id == chain.tofu_b.id))
    assert graph.batch_by_code(code).id == chain.tofu_b.id
    assert names(graph.backward(graph.batch_by_code(code)).lots, "lot_no") == {"HD-1", "HD-2"}


def test_forward_from_a_shared_lot_reaches_both_batches_and_all_buyers(chain):
    trace = graph.forward_from_lot(chain.bean_lot)
    assert names(trace.batches, "batch_no") == {"FY-20261105-01", "FY-20261106-01"}
    assert names(trace.buyers, "name") == {"岩溪镇便民超市", "长泰一中食堂", "武安农贸市场"}
    assert names(trace.shipments, "document_no") == {"XS-001", "XS-002", "XS-003"}
    assert trace.code_counts == {chain.tofu_a.id: 3, chain.tofu_b.id: 2}
    assert trace.code_total == 5


def test_forward_from_a_lot_used_once(chain):
    trace = graph.forward_from_lot(chain.brine_lot)
    assert names(trace.batches, "batch_no") == {"FY-20261105-01"}
    assert names(trace.buyers, "name") == {"岩溪镇便民超市", "长泰一中食堂"}
    trace = graph.forward_from_lot(chain.bean_lot_2)
    assert names(trace.batches, "batch_no") == {"FY-20261106-01"}
    assert names(trace.buyers, "name") == {"长泰一中食堂", "武安农贸市场"}


def test_forward_from_a_supplier(chain):
    trace = graph.forward_from_supplier(chain.soy)
    assert names(trace.lots, "lot_no") == {"HD-1", "HD-2"}
    assert names(trace.batches, "batch_no") == {"FY-20261105-01", "FY-20261106-01"}
    assert names(trace.buyers, "name") == {"岩溪镇便民超市", "长泰一中食堂", "武安农贸市场"}
    trace = graph.forward_from_supplier(chain.other_supplier)
    assert names(trace.batches, "batch_no") == {"GD-20261105-01"}
    assert names(trace.buyers, "name") == {"糕点批发部"}


def test_a_recall_reaches_the_batches_that_share_a_lot(chain):
    trace = graph.affected([chain.tofu_a], "test")
    assert names(trace.lots, "lot_no") == {"HD-1", "LS-1"}  # HD-2 is not suspect
    assert names(trace.batches, "batch_no") == {"FY-20261105-01", "FY-20261106-01"}
    assert names(trace.buyers, "name") == {"岩溪镇便民超市", "长泰一中食堂", "武安农贸市场"}
    assert names(trace.suppliers, "name") == {"长泰黑豆合作社", "漳州盐业公司"}
    assert trace.start_batch_ids == {chain.tofu_a.id}
    assert "GD-20261105-01" not in trace.as_dict().__repr__()


def test_batches_produced_in_a_range(chain):
    found = graph.batches_produced(date(2026, 11, 5), date(2026, 11, 5))
    assert names(found, "batch_no") == {"FY-20261105-01", "GD-20261105-01"}
    with pytest.raises(ValidationError):
        graph.batches_produced(date(2026, 11, 6), date(2026, 11, 5))
    with pytest.raises(ValidationError):
        graph.batches_produced(date(2024, 1, 1), date(2026, 1, 1))


@pytest.mark.parametrize("text", ["", " ", "x" * 41])
def test_bad_batch_numbers(db, text):
    with pytest.raises(ValidationError) as caught:
        graph.batch_by_no(text)
    assert "batch" in caught.value.errors


def test_unknown_starts_are_not_found(db, chain):
    with pytest.raises(NotFound):
        graph.batch_by_no("NO-SUCH-BATCH")
    for value in ("999999999", "0", "-1", str(2**70)):
        with pytest.raises(NotFound):
            graph.lot_by_id(value)
        with pytest.raises(NotFound):
            graph.supplier_by_id(value)
    for value in ("abc", "1.5", None, "１"):
        with pytest.raises((ValidationError, NotFound)):
            graph.lot_by_id(value)
    with pytest.raises(ValidationError):
        graph.batch_by_code("not-a-code")
    with pytest.raises(NotFound):
        graph.batch_by_code("0" * 16 + "0")


def test_only_staff_trace(db):
    require_role(UserFactory(role=Role.REGULATOR), *graph.TRACERS)
    require_role(UserFactory(role=Role.INSPECTOR), *graph.TRACERS)
    with pytest.raises(Forbidden):
        require_role(UserFactory(role=Role.OPERATOR), *graph.TRACERS)
