"""Printing codes: QR look-ups, label text of a batch, print jobs. Services flush, never commit.

A print job renders the label sheet of one issuance in the background
(:mod:`backend.codes.tasks`); the task commits its progress, these functions only change
the rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import BinaryIO

from flask_babel import gettext as _
from sqlalchemy import func, select

from backend.accounts.models import User
from backend.accounts.permissions import require_workshop_member
from backend.batches.models import Batch, BatchState
from backend.codes import labels
from backend.codes.models import (
    CodeIssuance,
    CodeStatus,
    PrintJob,
    PrintJobStatus,
    UnitCode,
)
from backend.codes.services import parse_code
from backend.codes.urls import scan_url
from backend.core.errors import Conflict, NotFound
from backend.core.time import utcnow
from backend.extensions import db
from backend.files import storage
from backend.files.models import StoredFile

CODE_CHUNK = 1000  # codes read from the database at a time
MAX_ID = 2**31 - 1  # ids are 32-bit: a larger one cannot exist (and would upset PostgreSQL)
# A job still "running" this long after its last progress is taken as dead.
STALE_AFTER = timedelta(minutes=15)
ACTIVE = (PrintJobStatus.QUEUED, PrintJobStatus.RUNNING)


def code_for_qr(code_text: str, *, by: User) -> UnitCode:
    """The active code whose QR *by* may fetch: an operator of its workshop or a regulator."""
    code = parse_code(code_text)
    unit = db.session.scalar(select(UnitCode).where(UnitCode.code == code))
    if unit is None:
        raise NotFound(_("该码不存在。"), slug="code_not_found")
    require_workshop_member(by, unit.batch.workshop_id)
    if unit.status is not CodeStatus.ACTIVE:
        raise Conflict(_("该码已作废，不能再打印。"), slug="code_voided")
    return unit


def get_issuance(issuance_id: int, *, by: User | None = None) -> CodeIssuance:
    """The issuance *issuance_id*, checked against *by*'s workshops; NotFound otherwise."""
    issuance = db.session.get(CodeIssuance, issuance_id) if 0 < issuance_id <= MAX_ID else None
    if issuance is None:
        raise NotFound(_("该次发码记录不存在。"), slug="issuance_not_found")
    if by is not None:
        require_workshop_member(by, issuance.batch.workshop_id)
    return issuance


def get_print_job(job_id: int, *, by: User | None = None) -> PrintJob:
    """The print job *job_id*, checked against *by*'s workshops; NotFound otherwise."""
    job = db.session.get(PrintJob, job_id) if 0 < job_id <= MAX_ID else None
    if job is None:
        raise NotFound(_("打印任务不存在。"), slug="print_job_not_found")
    if by is not None:
        require_workshop_member(by, job.issuance.batch.workshop_id)
    return job


def label_text_for(batch: Batch) -> labels.LabelText:
    """The fixed text of every label of *batch*; Conflict when the batch cannot be labelled."""
    if batch.state is BatchState.RECALLED:
        raise Conflict(
            _("批次 %(batch)s 已召回，不能打印标签。", batch=batch.batch_no), slug="batch_recalled"
        )
    if batch.produced_on is None:
        raise Conflict(
            _("批次 %(batch)s 未填写生产日期，标签必须标注生产日期。", batch=batch.batch_no),
            slug="batch_missing_production_date",
        )
    product, workshop = batch.product, batch.workshop
    specification = f" {product.specification}" if product.specification else ""
    return labels.LabelText(
        product=f"{product.name}{specification}",
        workshop=workshop.name,
        registration_no=workshop.licence_no or workshop.registration_no,
        certificate_caption="生产许可证号" if workshop.licence_no else "登记证号",
        produced_on=batch.produced_on.isoformat(),
        shelf_life=labels.format_shelf_life(product.shelf_life_days, batch.expires_on),
        alcohol=labels.format_alcohol(product.labelled_alcohol),
        batch_no=batch.batch_no,
        address=workshop.address,
        contact=workshop.contact_phone,
        ingredients=product.ingredients,
        storage=product.storage,
    )


def _active_codes(batch_id: int, issuance_id: int | None):
    """The WHERE clause of a batch's (or one issuance's) active codes."""
    clauses = [UnitCode.batch_id == batch_id, UnitCode.status == CodeStatus.ACTIVE]
    if issuance_id is not None:
        clauses.append(UnitCode.issuance_id == issuance_id)
    return clauses


def count_active_codes(batch_id: int, issuance_id: int | None = None) -> int:
    """How many active codes the batch (or one of its issuances) has."""
    return db.session.scalar(
        select(func.count()).select_from(UnitCode).where(*_active_codes(batch_id, issuance_id))
    )


def iter_active_codes(
    batch_id: int, issuance_id: int | None = None, *, chunk: int = CODE_CHUNK
) -> Iterator[tuple[int, str]]:
    """``(serial, code)`` of the active codes in serial order, *chunk* rows per query.

    Keyset pagination on the (batch, serial) index: no query holds more than *chunk* rows
    and no cursor stays open, so the caller may commit between chunks.
    """
    last = 0
    while True:
        rows = db.session.execute(
            select(UnitCode.serial, UnitCode.code)
            .where(*_active_codes(batch_id, issuance_id), UnitCode.serial > last)
            .order_by(UnitCode.serial)
            .limit(chunk)
        ).all()
        yield from ((serial, code) for serial, code in rows)
        if len(rows) < chunk:
            return
        last = rows[-1][0]


def render_labels(
    out: BinaryIO,
    batch: Batch,
    *,
    issuance: CodeIssuance | None = None,
    progress: labels.ProgressCallback | None = None,
) -> labels.SheetResult:
    """Write the label sheet of the batch's active codes (or one issuance's) to *out*."""
    if issuance is not None and issuance.batch_id != batch.id:
        raise NotFound(
            _(
                "批次 %(batch)s 没有编号为 %(id)s 的发码记录。",
                batch=batch.batch_no,
                id=issuance.id,
            ),
            slug="issuance_not_found",
        )
    text = label_text_for(batch)
    issuance_id = issuance.id if issuance is not None else None
    total = count_active_codes(batch.id, issuance_id)
    if total == 0:
        raise Conflict(_("没有可打印的有效码。"), slug="nothing_to_print")
    font = labels.find_font()
    return labels.write_label_sheet(
        out,
        text,
        iter_active_codes(batch.id, issuance_id),
        total,
        url_for=scan_url,
        font=font,
        progress=progress,
        title=f"{batch.batch_no} 标签 labels",
    )


def request_print_job(issuance: CodeIssuance, *, by: User | None = None) -> tuple[PrintJob, bool]:
    """Queue the label sheet of *issuance*; return ``(job, created)``.

    A job already queued or running for the issuance is returned instead of a second one.
    The font, the batch and the codes are checked now, so the caller hears of a problem at
    once rather than from a failed job.
    """
    if by is not None:
        require_workshop_member(by, issuance.batch.workshop_id)
    label_text_for(issuance.batch)
    labels.find_font()
    total = count_active_codes(issuance.batch_id, issuance.id)
    if total == 0:
        raise Conflict(_("该次发码已没有有效码可打印。"), slug="nothing_to_print")
    now = utcnow()
    for job in db.session.scalars(
        select(PrintJob).where(PrintJob.issuance_id == issuance.id, PrintJob.status.in_(ACTIVE))
    ):
        if now - job.updated_at < STALE_AFTER:
            return job, False
        fail_job(job, _("任务中断（长时间无进度），已重新排队。"))
    job = PrintJob(
        issuance_id=issuance.id,
        status=PrintJobStatus.QUEUED,
        done=0,
        total=total,
        requested_by_id=by.id if by else None,
    )
    db.session.add(job)
    db.session.flush()
    return job, True


def start_job(job: PrintJob) -> bool:
    """Mark a queued job running; False when it is not queued (already taken or finished)."""
    if job.status is not PrintJobStatus.QUEUED:
        return False
    job.status, job.started_at, job.done = PrintJobStatus.RUNNING, utcnow(), 0
    db.session.flush()
    return True


def restart_abandoned(job: PrintJob) -> bool:
    """Put a running job whose worker died back in the queue (its task came again); False
    when the job is not running."""
    if job.status is not PrintJobStatus.RUNNING:
        return False
    job.status, job.done = PrintJobStatus.QUEUED, 0
    db.session.flush()
    return True


def record_progress(job: PrintJob, done: int, total: int) -> None:
    """Note that *done* of *total* labels are drawn."""
    job.total = max(total, done)
    job.done = done
    db.session.flush()


def render_job_file(job: PrintJob, progress: labels.ProgressCallback | None = None) -> StoredFile:
    """Render the job's sheet into storage and return the stored file (flushed)."""
    issuance = job.issuance
    batch = issuance.batch
    requested_by = db.session.get(User, job.requested_by_id) if job.requested_by_id else None
    return storage.save_stream(
        lambda out: render_labels(out, batch, issuance=issuance, progress=progress),
        filename=f"labels-{batch.batch_no}-{issuance.id}.pdf",
        content_type="application/pdf",
        prefix="labels",
        by=requested_by,
    )


def finish_job(job: PrintJob, stored: StoredFile) -> None:
    """Mark the job done with its file, which also becomes the issuance's label sheet."""
    job.status, job.file_id, job.finished_at = PrintJobStatus.DONE, stored.id, utcnow()
    job.done = job.total
    job.error = None
    job.issuance.label_file_id = stored.id
    db.session.flush()


def fail_job(job: PrintJob, message: str) -> None:
    """Mark the job failed with a message for people."""
    job.status, job.error, job.finished_at = PrintJobStatus.FAILED, message[:500], utcnow()
    db.session.flush()


def job_file(job: PrintJob) -> StoredFile:
    """The finished job's PDF; Conflict while it is not done."""
    if job.status is not PrintJobStatus.DONE or job.file is None:
        raise Conflict(_("标签尚未生成完毕。"), slug="print_job_not_done")
    return job.file
