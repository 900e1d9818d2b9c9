"""Fixtures of the training tests: a regulator, an inspector, an operator and two workshops with
their staff."""

from __future__ import annotations

import pytest

from backend.accounts.models import Role
from backend.registry.models import Staff
from tests.factories import WorkshopFactory
from tests.support.console import console_user


@pytest.fixture()
def people(db):
    """A regulator, an inspector, an operator and two workshops with their staff."""
    first = WorkshopFactory(name="四大桶红曲酒坊", registration_no="XZF0001")
    second = WorkshopFactory(name="内坊豆腐坊", registration_no="XZF0002")
    staff = {
        "lin": Staff(workshop_id=first.id, name="林德福"),
        "zheng": Staff(workshop_id=first.id, name="郑国平"),
        "gone": Staff(workshop_id=first.id, name="已离岗者", active=False),
        "yang": Staff(workshop_id=second.id, name="杨阿婆"),
    }
    db.session.add_all(staff.values())
    db.session.flush()
    return {
        "regulator": console_user(Role.REGULATOR),
        "inspector": console_user(Role.INSPECTOR),
        "operator": console_user(Role.OPERATOR),
        "first": first,
        "second": second,
        **staff,
    }
