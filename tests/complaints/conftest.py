"""Fixtures of the complaint tests: console users of every kind, two workshops, a batch and
a code."""

from __future__ import annotations

import pytest

from backend.accounts.models import Role
from tests.complaints.helpers import unit_code
from tests.factories import BatchFactory
from tests.support.console import console_user


@pytest.fixture()
def world(db):
    """Console users of every kind, two workshops, a batch of the first and one of its codes."""
    batch = BatchFactory(batch_no="B20260501")
    other_batch = BatchFactory(batch_no="B20260502")
    return {
        "regulator": console_user(Role.REGULATOR, display_name="王科长"),
        "inspector": console_user(Role.INSPECTOR, display_name="陈检验"),
        "other_inspector": console_user(Role.INSPECTOR, display_name="李检验"),
        "operator": console_user(Role.OPERATOR),
        "retired": console_user(Role.INSPECTOR, active=False),
        "batch": batch,
        "workshop": batch.workshop,
        "other_batch": other_batch,
        "other_workshop": other_batch.workshop,
        "code": unit_code(batch),
    }
