"""Every route of the app, with real values for its path arguments taken from the demo data.

The security tests walk ``app.url_map`` rather than a hand-written list, so a new route is
tested (or makes a test fail until it is classified) without anyone remembering to add it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select

from backend.accounts.models import User
from backend.batches.models import Batch
from backend.cameras.models import Camera
from backend.codes.models import CodeIssuance, PrintJob, UnitCode
from backend.complaints.models import Complaint
from backend.inspections.models import Hazard, Inspection, InspectionItem, Rectification
from backend.ledgers.models import LedgerEntry
from backend.plans.models import SamplingPlan, SamplingPlanTarget
from backend.registry.models import Brand, Product, Staff, Workshop
from backend.samples.models import Sample
from backend.training.models import Training

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
ARGUMENT = re.compile(r"<(?:(?P<converter>[a-z]+)(?:\((?P<options>[^)]*)\))?:)?(?P<name>\w+)>")


@dataclass(frozen=True)
class Route:
    """One URL rule with one of its methods."""

    endpoint: str
    method: str
    rule: str

    @property
    def key(self) -> tuple[str, str]:
        """(method, rule), as the tables in the tests name routes."""
        return self.method, self.rule


def all_routes(app) -> list[Route]:
    """Every (endpoint, method, rule) of *app*, HEAD and OPTIONS left out."""
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append(Route(rule.endpoint, method, rule.rule))
    return sorted(found, key=lambda r: (r.rule, r.method))


MISSING = 999999  # an id nothing has: the route's 404 path


def _first(db, statement):
    """The first value *statement* selects, or MISSING when the demo data has none."""
    value = db.session.scalars(statement.limit(1)).first()
    return MISSING if value is None else value


def demo_values(db) -> dict[str, str]:
    """A real value for every path argument name, from the seeded demo data."""
    photo = (
        db.session.scalars(
            select(InspectionItem.photo_file_id).where(InspectionItem.photo_file_id.is_not(None))
        ).first()
        or db.session.scalars(
            select(Rectification.photo_file_id).where(Rectification.photo_file_id.is_not(None))
        ).first()
    )
    batch = _first(db, select(Batch).join(Product).where(Product.gtin.is_not(None)))
    return {
        "workshop_id": _first(db, select(Workshop.id).order_by(Workshop.id)),
        "camera_id": _first(db, select(Camera.id).order_by(Camera.id)),
        "complaint_id": _first(db, select(Complaint.id).order_by(Complaint.id)),
        "inspection_id": _first(db, select(Inspection.id).order_by(Inspection.id)),
        "hazard_id": _first(db, select(Hazard.id).order_by(Hazard.id)),
        "rectification_id": _first(db, select(Rectification.id).order_by(Rectification.id)),
        "file_id": photo or MISSING,
        "plan_id": _first(db, select(SamplingPlan.id).order_by(SamplingPlan.id)),
        "target_id": _first(db, select(SamplingPlanTarget.id).order_by(SamplingPlanTarget.id)),
        "sample_no": _first(db, select(Sample.sample_no).order_by(Sample.id)),
        "training_id": _first(db, select(Training.id).order_by(Training.id)),
        "staff_id": _first(db, select(Staff.id).order_by(Staff.id)),
        "product_id": _first(db, select(Product.id).order_by(Product.id)),
        "code": _first(db, select(UnitCode.code).order_by(UnitCode.id)),
        "brand": _first(db, select(Brand.code).order_by(Brand.id)),
        "gtin": batch.product.gtin,
        "batch_no": batch.batch_no,
        "filename": "css/console.css",
        "rest": f"{batch.product.gtin}/10/{batch.batch_no}",
        "fmt": "csv",
        "action": "hold",
        "registration_no": _first(db, select(Workshop.registration_no).order_by(Workshop.id)),
        "kind": "cleaning",
        "issuance_id": _first(db, select(CodeIssuance.id).order_by(CodeIssuance.id)),
        "job_id": _first(db, select(PrintJob.id).order_by(PrintJob.id)),
        "user_id": _first(db, select(User.id).order_by(User.id)),
        "entry_id": _first(db, select(LedgerEntry.id).order_by(LedgerEntry.id)),
    }


# Arguments named alike but meaning something else on some rules.
OVERRIDES = {
    "/brands/<code>": {"code": "brand"},
    "/language/<code>": {"code": "=en"},
    "/console/language/<code>": {"code": "=en"},
    "/api/v1/zones/<code>": {"code": "=BANLI"},
}


def build_path(rule: str, values: dict, replace: dict | None = None) -> str:
    """*rule* with its arguments filled in (``replace`` forces some of them)."""
    aliases = OVERRIDES.get(rule, {})

    def fill(match: re.Match) -> str:
        name = match["name"]
        if replace and name in replace:
            return str(replace[name])
        alias = aliases.get(name, name)
        if alias.startswith("="):
            return alias[1:]
        if match["converter"] == "any":
            return match["options"].split(",")[0].strip()
        return str(values[alias])

    return ARGUMENT.sub(fill, rule)


def arguments(rule: str) -> list[tuple[str | None, str]]:
    """The (converter, name) of each argument of *rule*."""
    return [(m["converter"], m["name"]) for m in ARGUMENT.finditer(rule)]
