"""Issuing and voiding unit codes. Services flush, never commit."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, insert, select, update

from backend.accounts.models import User
from backend.accounts.permissions import require_workshop_member
from backend.batches.models import Batch, BatchState
from backend.codes.codegen import generate_codes, is_well_formed, normalise
from backend.codes.models import CodeIssuance, CodeKind, CodeStatus, UnitCode
from backend.core.errors import Conflict, NotFound, ValidationError
from backend.core.time import utcnow
from backend.extensions import db
from backend.registry.standing import Action, require_trading

MAX_CODES_PER_CALL = 100_000
INSERT_CHUNK = 10_000
# Codes may be issued while a batch is being made or once it is out; never for a recall.
ISSUABLE_STATES = {
    BatchState.IN_PRODUCTION,
    BatchState.PENDING_RELEASE,
    BatchState.RELEASED,
    BatchState.HELD,
}


def get_batch(batch_no: str) -> Batch:
    """The batch with *batch_no*, or NotFound."""
    batch = db.session.scalar(select(Batch).where(Batch.batch_no == batch_no))
    if batch is None:
        raise NotFound(f"批次 {batch_no} 不存在。", slug="batch_not_found")
    return batch


def issue_codes(
    batch: Batch,
    count: int,
    *,
    kind: CodeKind = CodeKind.UNIT,
    by: User | None = None,
) -> CodeIssuance:
    """Issue *count* new random codes for *batch* in one bulk insert.

    A batch-level code (for loose goods) is issued one at a time. *by* is checked against the
    batch's workshop; the command line passes None and acts for the bureau. Refused while the
    workshop's registration has expired or it is suspended or cancelled.
    """
    if by is not None:
        require_workshop_member(by, batch.workshop_id)
    if (
        isinstance(count, bool)
        or not isinstance(count, int)
        or not 1 <= count <= MAX_CODES_PER_CALL
    ):
        raise ValidationError(
            f"每次可发码 1 至 {MAX_CODES_PER_CALL} 个。",
            slug="bad_code_count",
            errors={"count": [f"must be between 1 and {MAX_CODES_PER_CALL}"]},
        )
    if kind is CodeKind.BATCH and count != 1:
        raise ValidationError(
            "批次码每次只能发 1 个。",
            slug="bad_code_count",
            errors={"count": ["a batch-level code is issued one at a time"]},
        )
    if batch.state not in ISSUABLE_STATES:
        raise Conflict(f"批次 {batch.batch_no} 当前状态不能发码。", slug="batch_not_issuable")
    # Only a workshop that may trade today issues codes (the bureau's command line too).
    require_trading(batch.workshop, Action.ISSUE_CODES)
    # Serials continue the batch's numbering; the workshop's row lock keeps them unique.
    db.session.execute(select(Batch.id).where(Batch.id == batch.id).with_for_update())
    last = (
        db.session.scalar(select(func.max(UnitCode.serial)).where(UnitCode.batch_id == batch.id))
        or 0
    )
    issuance = CodeIssuance(
        batch_id=batch.id,
        kind=kind,
        count=count,
        first_serial=last + 1,
        issued_by_id=by.id if by else None,
    )
    db.session.add(issuance)
    db.session.flush()
    rows = (
        (
            code,
            batch.id,
            issuance.id,
            last + 1 + i,
            kind.value,
            CodeStatus.ACTIVE.value,
            0,
            utcnow(),
        )
        for i, code in enumerate(generate_codes(count))
    )
    _bulk_insert_codes(rows)
    return issuance


CODE_COLUMNS = (
    "code",
    "batch_id",
    "issuance_id",
    "serial",
    "kind",
    "status",
    "scan_count",
    "created_at",
)


def _bulk_insert_codes(rows) -> None:
    """Insert code rows in bulk: COPY on PostgreSQL, chunked executemany elsewhere."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        cursor = connection.connection.driver_connection.cursor()
        with cursor.copy(f"COPY unit_codes ({', '.join(CODE_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    batch: list[dict] = []
    for row in rows:
        batch.append(dict(zip(CODE_COLUMNS, row, strict=True)))
        if len(batch) == INSERT_CHUNK:
            db.session.execute(insert(UnitCode.__table__), batch)
            batch = []
    if batch:
        db.session.execute(insert(UnitCode.__table__), batch)


@dataclass(frozen=True)
class VoidResult:
    """How many codes a void call changed."""

    voided: int


def parse_code(text: str, *, strict: bool = False) -> str:
    """Check a code before any database look-up and return it in canonical form.

    People typing a code may use lower case, spaces and hyphens, and O for 0; a scanned
    link (*strict*) must carry the code exactly as printed.
    """
    if not isinstance(text, str) or len(text) > 64 or not text.isascii():
        raise ValidationError(_("码格式不正确。"), slug="malformed_code")
    code = normalise(text)
    if (strict and code != text) or not is_well_formed(code):
        raise ValidationError(_("码格式不正确，请核对后重试。"), slug="malformed_code")
    return code


def void_code(code_text: str, reason: str, *, by: User | None = None) -> VoidResult:
    """Void one code (it then scans as "not from this platform")."""
    code = db.session.scalar(select(UnitCode).where(UnitCode.code == parse_code(code_text)))
    if code is None:
        raise NotFound("该码不存在。", slug="code_not_found")
    if by is not None:
        require_workshop_member(by, code.batch.workshop_id, owner=True)
    if code.status is CodeStatus.VOIDED:
        return VoidResult(0)
    code.status, code.voided_at, code.void_reason = CodeStatus.VOIDED, utcnow(), reason[:200]
    db.session.flush()
    return VoidResult(1)


def void_range(
    batch: Batch, first: int, last: int, reason: str, *, by: User | None = None
) -> VoidResult:
    """Void the batch's codes with serials first..last (inclusive)."""
    if by is not None:
        require_workshop_member(by, batch.workshop_id, owner=True)
    if first < 1 or last < first or last - first >= MAX_CODES_PER_CALL:
        raise ValidationError(
            "序号范围不正确。",
            slug="bad_serial_range",
            errors={"range": ["first must be ≥ 1 and ≤ last"]},
        )
    in_range = (
        UnitCode.batch_id == batch.id,
        UnitCode.serial.between(first, last),
        UnitCode.status == CodeStatus.ACTIVE,
    )
    result = db.session.execute(
        update(UnitCode)
        .where(*in_range)
        .values(status=CodeStatus.VOIDED, voided_at=utcnow(), void_reason=reason[:200])
        .execution_options(synchronize_session=False)
    )
    return VoidResult(result.rowcount or 0)


def wxa_code_image(code_text: str, *, by: User) -> bytes:
    """The mini-program code image for a code (scene = the code), for operators' labels."""
    from backend.integrations import wechat

    code = db.session.scalar(select(UnitCode).where(UnitCode.code == parse_code(code_text)))
    if code is None:
        raise NotFound(_("该码不存在。"), slug="code_not_found")
    require_workshop_member(by, code.batch.workshop_id)
    return wechat.wxa_code_png(code.code, page=current_app.config["WECHAT_SCAN_PAGE"])
