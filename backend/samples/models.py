"""Samples and their test results (lab and rapid), judged against the rule base."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.models import Base, CreatedMixin, TimestampMixin
from backend.core.types import Measure, enum_type

if TYPE_CHECKING:
    from backend.batches.models import Batch
    from backend.registry.models import Product, Workshop
    from backend.rules.models import StandardLimit


class TestKind(enum.StrEnum):
    """A lab test decides; a rapid test only screens."""

    __test__ = False  # not a pytest test class

    LAB = "lab"
    RAPID = "rapid"


class TaskSource(enum.StrEnum):
    """Who ordered the sampling."""

    MUNICIPAL = "municipal"
    DISTRICT = "district"
    SPECIAL = "special"  # special campaign 专项
    ROUTINE = "routine"  # routine screening by the rapid-test vehicle
    ALLIANCE = "alliance"  # commissioned from the inspection alliance's laboratory 检验联盟
    SELF_CHECK = "self_check"  # the workshop's own check 自检


class Verdict(enum.StrEnum):
    """A result's verdict, computed from the standards table."""

    PENDING = "pending"
    PASS = "pass"
    FAIL = "fail"
    POSITIVE_SCREEN = "positive_screen"  # rapid test positive: held until the lab confirms


class Qualitative(enum.StrEnum):
    """A rapid test's qualitative reading."""

    NEGATIVE = "negative"
    POSITIVE = "positive"


class SampleStatus(enum.StrEnum):
    """Where a sample is in its life."""

    COLLECTED = "collected"
    TESTING = "testing"
    COMPLETED = "completed"


class Sample(TimestampMixin, Base):
    """A sample taken from a batch, for the lab or the rapid-test vehicle."""

    __tablename__ = "samples"

    id: Mapped[int] = mapped_column(primary_key=True)
    sample_no: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[TestKind] = mapped_column(enum_type(TestKind))
    plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("sampling_plans.id", ondelete="RESTRICT"), index=True
    )
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshops.id", ondelete="RESTRICT"), index=True
    )
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("batches.id", ondelete="RESTRICT"), index=True
    )
    task_source: Mapped[TaskSource] = mapped_column(enum_type(TaskSource))
    sampled_at: Mapped[datetime]
    sampled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    sampling_place: Mapped[str] = mapped_column(String(200), default="")
    testing_agency: Mapped[str] = mapped_column(String(100))
    station: Mapped[str] = mapped_column(String(100), default="")  # vehicle or lab
    status: Mapped[SampleStatus] = mapped_column(
        enum_type(SampleStatus), default=SampleStatus.COLLECTED
    )
    # Published in the sampling announcement (抽检信息公示) when set.
    published_at: Mapped[datetime | None]
    report_file_id: Mapped[int | None] = mapped_column(
        ForeignKey("stored_files.id", ondelete="SET NULL")
    )

    workshop: Mapped[Workshop] = relationship()
    product: Mapped[Product] = relationship()
    batch: Mapped[Batch | None] = relationship()
    results: Mapped[list[TestResult]] = relationship(
        back_populates="sample", order_by="TestResult.id"
    )


class TestResult(CreatedMixin, Base):
    """One test item's result on a sample; its verdict comes from the standards table.

    A lab result may confirm a positive rapid screen (`confirms_id`). Results are evidence:
    a correction is a new result naming the one it supersedes.
    """

    __tablename__ = "test_results"
    __test__ = False  # not a pytest test class
    __table_args__ = (
        CheckConstraint(
            "value IS NOT NULL OR qualitative IS NOT NULL OR verdict = 'pending'",
            name="has_reading",
        ),
        Index("ix_test_results_sample_item", "sample_id", "item_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("samples.id", ondelete="RESTRICT"))
    standard_limit_id: Mapped[int | None] = mapped_column(
        ForeignKey("standard_limits.id", ondelete="RESTRICT")
    )
    item_code: Mapped[str] = mapped_column(String(40))
    method: Mapped[str] = mapped_column(String(100), default="")
    value: Mapped[Decimal | None] = mapped_column(Measure)
    unit: Mapped[str] = mapped_column(String(20), default="")
    qualitative: Mapped[Qualitative | None] = mapped_column(enum_type(Qualitative))
    verdict: Mapped[Verdict] = mapped_column(enum_type(Verdict), default=Verdict.PENDING)
    tested_at: Mapped[datetime]
    tested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    device_no: Mapped[str] = mapped_column(String(50), default="")
    action_taken: Mapped[str] = mapped_column(Text, default="")
    confirms_id: Mapped[int | None] = mapped_column(
        ForeignKey("test_results.id", ondelete="RESTRICT"), index=True
    )
    supersedes_id: Mapped[int | None] = mapped_column(
        ForeignKey("test_results.id", ondelete="RESTRICT"), index=True
    )

    sample: Mapped[Sample] = relationship(back_populates="results")
    standard_limit: Mapped[StandardLimit | None] = relationship()
