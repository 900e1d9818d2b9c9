"""Code tables: issuance runs, unit codes, scan events and label print jobs."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.models import Base, CreatedMixin, TimestampMixin
from backend.core.types import BigIntKey, enum_type

if TYPE_CHECKING:
    from backend.batches.models import Batch
    from backend.files.models import StoredFile


class CodeKind(enum.StrEnum):
    """A code for one unit (bottle, pack) or one for a whole batch of loose goods."""

    UNIT = "unit"
    BATCH = "batch"


class CodeStatus(enum.StrEnum):
    """Whether a code still speaks for its product."""

    ACTIVE = "active"
    VOIDED = "voided"


class ScanChannel(enum.StrEnum):
    """Where a scan came from."""

    MINIPROGRAM = "miniprogram"
    H5 = "h5"
    DIGITAL_LINK = "digital_link"


class CodeIssuance(CreatedMixin, Base):
    """One run of codes issued for a batch; its label sheet is printed from here."""

    __tablename__ = "code_issuances"
    __table_args__ = (CheckConstraint("count > 0 AND count <= 100000", name="count_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[CodeKind] = mapped_column(enum_type(CodeKind), default=CodeKind.UNIT)
    count: Mapped[int] = mapped_column(Integer)
    first_serial: Mapped[int] = mapped_column(Integer)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    label_file_id: Mapped[int | None] = mapped_column(
        ForeignKey("stored_files.id", ondelete="SET NULL")
    )

    batch: Mapped[Batch] = relationship()


class UnitCode(CreatedMixin, Base):
    """A printed code: 16 random Crockford base32 characters (80 bits) and a check character.

    `serial` numbers the codes of a batch from 1, so a range can be voided or printed.
    """

    __tablename__ = "unit_codes"
    __table_args__ = (
        Index("uq_unit_codes_batch_serial", "batch_id", "serial", unique=True),
        CheckConstraint("length(code) = 17", name="code_length"),
        CheckConstraint("scan_count >= 0", name="scan_count_nonnegative"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    # The scan path looks codes up by this unique index.
    code: Mapped[str] = mapped_column(String(17), unique=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id", ondelete="RESTRICT"))
    issuance_id: Mapped[int] = mapped_column(
        ForeignKey("code_issuances.id", ondelete="RESTRICT"), index=True
    )
    serial: Mapped[int] = mapped_column(Integer)
    kind: Mapped[CodeKind] = mapped_column(enum_type(CodeKind), default=CodeKind.UNIT)
    status: Mapped[CodeStatus] = mapped_column(enum_type(CodeStatus), default=CodeStatus.ACTIVE)
    voided_at: Mapped[datetime | None]
    void_reason: Mapped[str | None] = mapped_column(String(200))
    # Denormalised from scan_events by the counter flush, for the anti-counterfeit notice.
    scan_count: Mapped[int] = mapped_column(Integer, default=0)
    first_scanned_at: Mapped[datetime | None]
    last_scanned_at: Mapped[datetime | None]

    batch: Mapped[Batch] = relationship()


class ScanEvent(Base):
    """One scan: when, through which channel, roughly where; never the raw openid."""

    __tablename__ = "scan_events"
    __table_args__ = (Index("ix_scan_events_code_time", "code_id", "scanned_at"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    code_id: Mapped[int] = mapped_column(ForeignKey("unit_codes.id", ondelete="RESTRICT"))
    scanned_at: Mapped[datetime] = mapped_column(index=True)
    channel: Mapped[ScanChannel] = mapped_column(enum_type(ScanChannel))
    # Coarse region (province/city), never a precise location.
    region: Mapped[str | None] = mapped_column(String(50))
    # HMAC-SHA256 of the visitor (openid, first-party cookie, or client address and user
    # agent) with a server salt: a repeat scan by the same visitor is recognised by it.
    visitor_hash: Mapped[str | None] = mapped_column(String(64))
    # HMAC-SHA256 of the client's network (/24 or /48): distinct networks stand for
    # distinct consumers in the counterfeit signal (one client cannot fake several).
    network_hash: Mapped[str | None] = mapped_column(String(64))


class ScanGeneration(Base):
    """A counter raised in the same transaction as every change a batch's consumer view
    shows (batch_id 0: every batch), when there is no Redis: each worker's copy of a view
    is checked against it in the scan's one query (backend/scan/direct.py)."""

    __tablename__ = "scan_generations"

    batch_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class PrintJobStatus(enum.StrEnum):
    """Where a label-sheet job stands."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class PrintJob(TimestampMixin, Base):
    """The label sheet of one issuance, rendered in the background; progress in done/total."""

    __tablename__ = "print_jobs"
    __table_args__ = (
        CheckConstraint("done >= 0 AND total >= 0 AND done <= total", name="progress_range"),
        Index("ix_print_jobs_issuance_status", "issuance_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issuance_id: Mapped[int] = mapped_column(ForeignKey("code_issuances.id", ondelete="RESTRICT"))
    status: Mapped[PrintJobStatus] = mapped_column(
        enum_type(PrintJobStatus), default=PrintJobStatus.QUEUED
    )
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(500))
    file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_files.id", ondelete="SET NULL"))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    issuance: Mapped[CodeIssuance] = relationship()
    file: Mapped[StoredFile | None] = relationship()
