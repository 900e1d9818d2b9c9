"""What the complaint service tests build on: counting rows, a unit code, a complaint filed."""

from __future__ import annotations

from sqlalchemy import func, select

from backend.codes.codegen import generate_code
from backend.codes.models import UnitCode
from backend.complaints import services as complaints
from backend.complaints.models import Complaint, ComplaintChannel
from backend.complaints.services import ComplaintInput
from backend.extensions import db as database
from tests.factories import CodeIssuanceFactory


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def unit_code(batch) -> UnitCode:
    """A unit code of *batch*."""
    issuance = CodeIssuanceFactory(batch=batch, count=1)
    code = UnitCode(code=generate_code(), batch_id=batch.id, issuance_id=issuance.id, serial=1)
    database.session.add(code)
    database.session.flush()
    return code


def filed(world, **overrides) -> Complaint:
    """A complaint about the world's code."""
    values = {
        "content": "瓶盖封口有松动，请核实。",
        "code": world["code"].code,
        "contact_name": "李女士",
        "contact_phone": "13959612345",
    }
    values.update(overrides)
    return complaints.file_complaint(ComplaintInput(**values), channel=ComplaintChannel.SCAN_PAGE)
