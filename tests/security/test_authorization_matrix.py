"""The authorization matrix: every API endpoint, every forbidden crossing, nothing written.

Every rule under /api/v1 must be listed here (or be public), so a new endpoint cannot skip
the matrix. Each case names who must be refused: callers without a token, with an expired or
a revoked token, an operator of the workshop next door, staff doing an owner's thing,
inspectors and regulators where only operators write, and everyone but regulators for the
regulators' actions. Requests carry valid bodies, so the refusal is the rule's, not a
schema's; afterwards no table has gained or lost a row.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from backend.accounts.models import ApiToken
from backend.accounts.tokens import issue_token
from backend.batches.models import BatchState
from backend.batches.states import change_state
from backend.codes.models import CodeIssuance, PrintJob, PrintJobStatus, UnitCode
from backend.codes.services import issue_codes
from backend.core.models import Base
from backend.core.time import local_today, utcnow
from backend.files.models import StoredFile
from backend.ledgers.chain import append_entry
from backend.ledgers.models import LedgerKind
from backend.samples.models import Sample, TaskSource, TestKind
from tests.factories import BatchFactory
from tests.support.workshop_day import now_iso

OUT = {"anon": 401, "expired": 401, "revoked": 401, "neighbour": 403}
NOT_FOR_INSPECTORS = {"inspector": 403}
OPERATORS_ONLY = {"inspector": 403, "regulator": 403}
REGULATORS_ONLY = {"owner": 403, "staff": 403, "neighbour": 403, "inspector": 403}

PUBLIC = {
    ("GET", "/api/v1/announcements"),
    ("POST", "/api/v1/complaints"),
    ("POST", "/api/v1/auth/wechat/login"),
    ("POST", "/api/v1/auth/dev-login"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/v1/ping"),
    ("GET", "/api/v1/scan"),
    ("GET", "/api/v1/scan/<code>"),
    ("GET", "/api/v1/zones"),
    ("GET", "/api/v1/zones/<code>"),
}


@dataclass
class Case:
    method: str
    rule: str
    path: str
    body: dict | None = None
    refused: dict = field(default_factory=dict)
    multipart: bool = False


@pytest.fixture()
def world(db, shop):
    """Workshop A (shop) with a batch, codes, a print job, an entry, a sample and a file."""
    workshop = shop.workshop
    batch = BatchFactory(product=shop.product, produced_on=local_today())
    for state in (BatchState.IN_PRODUCTION, BatchState.PENDING_RELEASE, BatchState.RELEASED):
        change_state(batch, state)
    pending = BatchFactory(product=shop.product, produced_on=local_today())
    change_state(pending, BatchState.IN_PRODUCTION)
    change_state(pending, BatchState.PENDING_RELEASE)
    issuance = issue_codes(batch, 3)
    code = db.session.scalar(select(UnitCode.code).where(UnitCode.issuance_id == issuance.id))
    job = PrintJob(issuance_id=issuance.id, status=PrintJobStatus.QUEUED, done=0, total=3)
    entry = append_entry(
        workshop_id=workshop.id,
        kind=LedgerKind.CLEANING,
        payload={"what": "地面", "how": "消毒液擦拭"},
        occurred_at=utcnow() - timedelta(hours=1),
        recorded_by_id=shop.owner.id,
    )
    sample = Sample(
        sample_no="CJ-MATRIX-1",
        kind=TestKind.LAB,
        workshop_id=workshop.id,
        product_id=shop.product.id,
        batch_id=batch.id,
        task_source=TaskSource.DISTRICT,
        sampled_at=utcnow() - timedelta(hours=2),
        testing_agency="半星红酒厂实验室",
    )
    upload = StoredFile(
        storage_key="matrix/photo.jpg",
        filename="photo.jpg",
        content_type="image/jpeg",
        size=3,
        sha256="0" * 64,
        uploaded_by_id=shop.owner.id,
    )
    db.session.add_all([job, sample, upload])
    db.session.flush()

    expired_user, revoked_user = shop.owner, shop.owner
    expired = issue_token(expired_user, ttl=timedelta(seconds=-1))
    revoked = issue_token(revoked_user)
    token = db.session.scalars(select(ApiToken).order_by(ApiToken.id.desc())).first()
    token.revoked_at = datetime.now(UTC)
    db.session.flush()
    callers = {
        "anon": {},
        "expired": {"Authorization": f"Bearer {expired}"},
        "revoked": {"Authorization": f"Bearer {revoked}"},
        "neighbour": shop.other_headers,
        "owner": shop.owner_headers,
        "staff": shop.staff_headers,
        "inspector": shop.inspector_headers,
        "regulator": shop.regulator_headers,
    }
    return shop, batch, pending, issuance, code, job, entry, sample, upload, callers


def cases(world) -> list[Case]:
    shop, batch, pending, issuance, code, job, entry, sample, upload, _ = world
    w, no, when = shop.workshop.id, batch.batch_no, now_iso(minutes=-5)
    ledgers = {
        "morning_check": {
            "occurred_at": when,
            "checks": [
                {
                    "staff_id": shop.lin.id,
                    "temperature": "36.5",
                    "symptoms": False,
                    "hand_wounds": False,
                    "fit_for_work": True,
                }
            ],
        },
        "raw_acceptance": {
            "occurred_at": when,
            "supplier_id": shop.supplier.id,
            "material_name": "黑豆",
            "quantity": 10,
            "unit": "kg",
            "supplier_licence_checked": True,
            "certificate_checked": True,
        },
        "production": {"occurred_at": when, "batch_no": no, "process": "压制成型"},
        "additive_use": {
            "occurred_at": when,
            "batch_no": no,
            "additive": "盐卤（氯化镁）",
            "amount": "0.5",
            "unit": "kg",
        },
        "cleaning": {"occurred_at": when, "what": "操作台", "how": "消毒液擦拭"},
        "outgoing_inspection": {
            "occurred_at": when,
            "batch_no": no,
            "inspection_cert_no": "CJ-1",
            "items": ["感官"],
            "result": "pass",
        },
        "sale": {
            "occurred_at": when,
            "buyer": {"name": "惠民超市"},
            "items": [{"batch_no": no, "quantity": 5}],
        },
    }
    out = [
        Case(
            "GET",
            "/api/v1/workshops/<int:workshop_id>/today",
            f"/workshops/{w}/today",
            refused={**OUT, **NOT_FOR_INSPECTORS},
        ),
        Case(
            "GET",
            "/api/v1/workshops/<int:workshop_id>/ledgers",
            f"/workshops/{w}/ledgers",
            refused={**OUT, **NOT_FOR_INSPECTORS},
        ),
        Case(
            "GET",
            "/api/v1/workshops/<int:workshop_id>/ledgers/<kind>/last",
            f"/workshops/{w}/ledgers/cleaning/last",
            refused={**OUT, **NOT_FOR_INSPECTORS},
        ),
        Case(
            "GET",
            "/api/v1/workshops/<int:workshop_id>/raw-lots",
            f"/workshops/{w}/raw-lots",
            refused={**OUT, **NOT_FOR_INSPECTORS},
        ),
        Case(
            "GET",
            "/api/v1/workshops/<int:workshop_id>/batches",
            f"/workshops/{w}/batches",
            refused={**OUT, **NOT_FOR_INSPECTORS},
        ),
        Case(
            "POST",
            "/api/v1/workshops/<int:workshop_id>/batches",
            f"/workshops/{w}/batches",
            {
                "occurred_at": when,
                "product_id": shop.product.id,
                "planned_quantity": 10,
                "unit": "盒",
                "inputs": [{"raw_lot_id": shop.beans.id, "quantity": 1}],
            },
            refused={**OUT, **OPERATORS_ONLY},
        ),
        Case(
            "POST",
            "/api/v1/workshops/<int:workshop_id>/ledgers/entries/<int:entry_id>/corrections",
            f"/workshops/{w}/ledgers/entries/{entry.id}/corrections",
            {"reason": "写错了", "changes": {"how": "清水冲洗"}},
            refused={**OUT, **OPERATORS_ONLY, "staff": 403},
        ),
        Case(
            "GET",
            "/api/v1/batches/<batch_no>",
            f"/batches/{no}",
            refused={**OUT, **NOT_FOR_INSPECTORS},
        ),
        Case(
            "GET",
            "/api/v1/batches/<batch_no>/results",
            f"/batches/{no}/results",
            refused={**OUT},
        ),
        Case(
            "POST",
            "/api/v1/batches/<batch_no>/additives",
            f"/batches/{no}/additives",
            {"occurred_at": when, "additive": "盐卤（氯化镁）", "amount": "0.5", "unit": "kg"},
            refused={**OUT, **OPERATORS_ONLY},
        ),
        Case(
            "POST",
            "/api/v1/batches/<batch_no>/codes",
            f"/batches/{no}/codes",
            {"count": 1},
            refused={**OUT, **NOT_FOR_INSPECTORS},
        ),
        Case(
            "POST",
            "/api/v1/batches/<batch_no>/state",
            f"/batches/{pending.batch_no}/state",
            {"to": "released"},
            refused={**OUT, **OPERATORS_ONLY, "staff": 403},
        ),
        Case(
            "POST",
            "/api/v1/batches/<batch_no>/hold",
            f"/batches/{no}/hold",
            {"reason": "抽检"},
            refused={**OUT, **REGULATORS_ONLY},
        ),
        Case(
            "POST",
            "/api/v1/batches/<batch_no>/recall",
            f"/batches/{no}/recall",
            {"reason": "不合格"},
            refused={**OUT, **REGULATORS_ONLY},
        ),
        Case(
            "POST",
            "/api/v1/batches/<batch_no>/release",
            f"/batches/{no}/release",
            {"reason": "复检合格"},
            refused={**OUT, **REGULATORS_ONLY},
        ),
        Case(
            "POST",
            "/api/v1/codes/void",
            "/codes/void",
            {"code": code, "reason": "损坏"},
            refused={**OUT, **NOT_FOR_INSPECTORS, "staff": 403},
        ),
        Case(
            "GET",
            "/api/v1/codes/<code>/qr.png",
            f"/codes/{code}/qr.png",
            refused={**OUT, **NOT_FOR_INSPECTORS},
        ),
        Case(
            "GET",
            "/api/v1/codes/<code>/qr.svg",
            f"/codes/{code}/qr.svg",
            refused={**OUT, **NOT_FOR_INSPECTORS},
        ),
        Case(
            "GET",
            "/api/v1/codes/<code>/wxacode.png",
            f"/codes/{code}/wxacode.png",
            refused={**OUT, **NOT_FOR_INSPECTORS},
        ),
        Case(
            "POST",
            "/api/v1/issuances/<int:issuance_id>/labels",
            f"/issuances/{issuance.id}/labels",
            refused={**OUT, **NOT_FOR_INSPECTORS},
        ),
        Case(
            "GET",
            "/api/v1/print-jobs/<int:job_id>",
            f"/print-jobs/{job.id}",
            refused={**OUT, **NOT_FOR_INSPECTORS},
        ),
        Case(
            "GET",
            "/api/v1/print-jobs/<int:job_id>/file",
            f"/print-jobs/{job.id}/file",
            refused={**OUT, **NOT_FOR_INSPECTORS},
        ),
        Case(
            "POST",
            "/api/v1/samples",
            "/samples",
            {"kind": "lab", "batch_no": no},
            refused={**OUT, "owner": 403, "staff": 403},
        ),
        Case("GET", "/api/v1/samples/<sample_no>", f"/samples/{sample.sample_no}", refused={**OUT}),
        Case(
            "POST",
            "/api/v1/samples/<sample_no>/results",
            f"/samples/{sample.sample_no}/results",
            {
                "results": [
                    {
                        "item_code": "benzoic_acid",
                        "method": "GB 5009.28",
                        "value": "0",
                        "unit": "g/kg",
                    }
                ]
            },
            refused={**OUT, "owner": 403, "staff": 403},
        ),
        Case(
            "POST",
            "/api/v1/samples/<sample_no>/publish",
            f"/samples/{sample.sample_no}/publish",
            {},
            refused={**OUT, **REGULATORS_ONLY},
        ),
        Case(
            "GET",
            "/api/v1/samples/<sample_no>/report",
            f"/samples/{sample.sample_no}/report",
            refused={**OUT},
        ),
        Case(
            "POST",
            "/api/v1/samples/<sample_no>/report",
            f"/samples/{sample.sample_no}/report",
            {"file": (b"%PDF-1.4\n%%EOF\n", "r.pdf")},
            refused={**OUT, "owner": 403, "staff": 403},
            multipart=True,
        ),
        Case(
            "GET",
            "/api/v1/workshops/<int:workshop_id>/self-checks",
            f"/workshops/{w}/self-checks",
            refused={**OUT},
        ),
        Case(
            "POST",
            "/api/v1/workshops/<int:workshop_id>/self-checks",
            f"/workshops/{w}/self-checks",
            {
                "batch_no": no,
                "sampled_at": when,
                "results": [
                    {"item_code": "benzoic_acid", "method": "胶体金法", "qualitative": "positive"}
                ],
            },
            refused={**OUT, **OPERATORS_ONLY},
        ),
        Case(
            "POST",
            "/api/v1/uploads",
            "/uploads",
            {"file": (jpeg(), "p.jpg")},
            refused={"anon": 401, "expired": 401, "revoked": 401},
            multipart=True,
        ),
        Case(
            "GET",
            "/api/v1/uploads/<int(max=2147483647):file_id>",
            f"/uploads/{upload.id}",
            refused={**OUT, "staff": 403, "inspector": 403},
        ),
        Case(
            "POST",
            "/api/v1/users/<int(max=2147483647):user_id>/revoke-tokens",
            f"/users/{shop.staff_user.id}/revoke-tokens",
            {},
            refused={**OUT, **REGULATORS_ONLY},
        ),
        Case(
            "POST",
            "/api/v1/workshops/<registration_no>/invites",
            f"/workshops/{shop.workshop.registration_no}/invites",
            {"role": "staff", "days": 7},
            refused={**OUT, **REGULATORS_ONLY},
        ),
        Case(
            "POST",
            "/api/v1/invites/redeem",
            "/invites/redeem",
            {"code": "ABCD2345"},
            refused={"anon": 401, "expired": 401, "revoked": 401},
        ),
        Case(
            "POST",
            "/api/v1/auth/logout",
            "/auth/logout",
            {},
            refused={"anon": 401, "expired": 401, "revoked": 401},
        ),
        Case(
            "POST",
            "/api/v1/auth/phone",
            "/auth/phone",
            {"code": "phone-code"},
            refused={"anon": 401, "expired": 401, "revoked": 401},
        ),
        Case("GET", "/api/v1/me", "/me", refused={"anon": 401, "expired": 401, "revoked": 401}),
        # Full traces and EPCIS export are the regulators'.
        Case(
            "GET",
            "/api/v1/trace/backward",
            f"/trace/backward?batch={no}",
            refused={**OUT, **REGULATORS_ONLY},
        ),
        Case(
            "GET",
            "/api/v1/trace/forward",
            "/trace/forward?lot=1",
            refused={**OUT, **REGULATORS_ONLY},
        ),
        Case(
            "GET",
            "/api/v1/trace/epcis",
            f"/trace/epcis?batch={no}",
            refused={**OUT, **REGULATORS_ONLY},
        ),
        # The mini-program's look-ups: finding a workshop, and a workshop's products.
        Case(
            "GET",
            "/api/v1/workshops",
            "/workshops?q=豆腐",
            refused={**OUT, "owner": 403, "staff": 403},
        ),
        Case(
            "GET",
            "/api/v1/workshops/<int:workshop_id>/products",
            f"/workshops/{w}/products",
            refused={**OUT},
        ),
    ]
    for kind, body in ledgers.items():
        out.append(
            Case(
                "POST",
                f"/api/v1/workshops/<int:workshop_id>/ledgers/{kind}",
                f"/workshops/{w}/ledgers/{kind}",
                body,
                refused={**OUT, **OPERATORS_ONLY},
            )
        )
    return out


def jpeg() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(buffer, format="JPEG")
    return buffer.getvalue()


def row_counts(db) -> dict[str, int]:
    return {
        t.name: db.session.scalar(select(func.count()).select_from(t))
        for t in Base.metadata.sorted_tables
        if t.name not in ("api_tokens", "audit_log")  # refusals may touch token use
    }


def send(client, case: Case, headers: dict):
    url = "/api/v1" + case.path
    if case.method == "GET":
        return client.get(url, headers=headers)
    if case.multipart:
        data = {k: (io.BytesIO(v[0]), v[1]) for k, v in case.body.items()}
        return client.post(url, data=data, headers=headers, content_type="multipart/form-data")
    return client.post(url, json=case.body, headers=headers)


def test_every_api_endpoint_is_in_the_matrix(app, world):
    listed = {(c.method, c.rule) for c in cases(world)} | PUBLIC
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, rule.rule) in listed, f"{method} {rule.rule} is not in the matrix"


def test_every_forbidden_crossing_is_refused_and_writes_nothing(client, db, world):
    callers = world[-1]
    before = row_counts(db)
    failures = []
    for case in cases(world):
        for who, status in case.refused.items():
            response = send(client, case, callers[who])
            body = response.get_json(silent=True) or {}
            if response.status_code != status or set(body) != {
                "code",
                "status",
                "error",
                "message",
                "errors",
            }:
                failures.append(
                    f"{who} {case.method} {case.path}: {response.status_code} "
                    f"{body.get('error')} (wanted {status})"
                )
    assert failures == []
    db.session.expire_all()
    assert row_counts(db) == before


def test_the_allowed_caller_gets_through(client, db, world):
    """The matrix is not refusing everyone: the owner reads and writes, the regulator holds."""
    shop, batch, *_, callers = world
    assert (
        client.get(
            f"/api/v1/workshops/{shop.workshop.id}/today", headers=callers["owner"]
        ).status_code
        == 200
    )
    assert (
        client.get(
            f"/api/v1/workshops/{shop.workshop.id}/today", headers=callers["staff"]
        ).status_code
        == 200
    )
    assert (
        client.get(
            f"/api/v1/workshops/{shop.workshop.id}/today", headers=callers["regulator"]
        ).status_code
        == 200
    )
    hold = client.post(
        f"/api/v1/batches/{batch.batch_no}/hold",
        json={"reason": "抽检"},
        headers=callers["regulator"],
    )
    assert hold.status_code == 200, hold.get_json()
    assert db.session.scalar(select(CodeIssuance.id).where(CodeIssuance.batch_id == batch.id))
