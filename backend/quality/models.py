"""Quality tables: standards, sampling plans, samples, results, inspections, hazards."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.models import Base, CreatedMixin, TimestampMixin
from backend.core.types import enum_type

if TYPE_CHECKING:
    from backend.production.models import Batch
    from backend.registry.models import Product, Workshop

Measure = Numeric(16, 6)


class Comparison(enum.StrEnum):
    """How a measured value is held against a limit."""

    MAX = "max"  # value ≤ limit
    NOT_PERMITTED = "not_permitted"  # additive not permitted: must not be detected
    ABSENT = "absent"  # non-food substance: must not be present
    LABEL_TOLERANCE = "label_tolerance"  # |value − labelled| ≤ limit (alcohol %vol)
    QUANTUM_SATIS = "quantum_satis"  # 按生产需要适量使用: permitted, no number


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


class ChecklistItem(enum.StrEnum):
    """The standard inspection checklist."""

    RAW_MATERIALS = "raw_materials"  # 原料采购与查验
    SANITATION = "sanitation"  # 环境卫生
    PROCESSING = "processing"  # 生产加工过程
    ADDITIVES = "additives"  # 食品添加剂使用
    STAFF_HEALTH = "staff_health"  # 从业人员健康管理
    PACKAGING_LABELING = "packaging_labeling"  # 包装标识
    AREA_SEPARATION = "area_separation"  # 生活区、生产区、成品区分离


class ItemResult(enum.StrEnum):
    """An inspection item's finding."""

    COMPLIANT = "compliant"
    NON_COMPLIANT = "non_compliant"
    NOT_APPLICABLE = "not_applicable"


class InspectionOutcome(enum.StrEnum):
    """An inspection's overall conclusion."""

    SATISFACTORY = "satisfactory"  # 符合
    RECTIFY = "rectify"  # 基本符合, rectify within a deadline
    UNSATISFACTORY = "unsatisfactory"  # 不符合


class HazardStatus(enum.StrEnum):
    """A hazard's life: open → rectifying → closed."""

    OPEN = "open"
    RECTIFYING = "rectifying"
    CLOSED = "closed"


class StandardLimit(Base):
    """One row of the standards table: it decides pass or fail, nobody types a verdict."""

    __tablename__ = "standard_limits"
    __table_args__ = (
        UniqueConstraint("category_code", "item_code"),
        CheckConstraint(
            "comparison NOT IN ('max', 'label_tolerance') OR limit_value IS NOT NULL",
            name="limit_needed",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category_code: Mapped[str] = mapped_column(
        ForeignKey("product_categories.code", ondelete="RESTRICT"), index=True
    )
    item_code: Mapped[str] = mapped_column(String(40))
    item_name_zh: Mapped[str] = mapped_column(String(100))
    item_name_en: Mapped[str] = mapped_column(String(100))
    comparison: Mapped[Comparison] = mapped_column(enum_type(Comparison))
    limit_value: Mapped[Decimal | None] = mapped_column(Measure)
    unit: Mapped[str] = mapped_column(String(20), default="")
    standard: Mapped[str] = mapped_column(String(60))
    clause: Mapped[str] = mapped_column(String(120), default="")
    # The GB 2760 Annex E food category number the row applies to (e.g. 07.02 糕点).
    gb2760_category: Mapped[str] = mapped_column(String(20), default="")
    # What the number is counted as (以山梨酸计, 干样品，以Al计, 残留量 …).
    basis: Mapped[str] = mapped_column(String(120), default="")
    # Rows of one group in one food share the limit: Σ used/limit ≤ 1 (GB 2760 使用原则).
    combined_group: Mapped[str] = mapped_column(String(40), default="")
    # False until someone has checked the number against the official text.
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    source_note: Mapped[str] = mapped_column(String(200), default="")


class NonFoodIncident(CreatedMixin, Base):
    """A non-food substance an operator tried to record as an additive: refused, and shown
    to regulators (食品中可能违法添加的非食用物质名单). Nothing of the attempt is written to
    the batch or the ledger; this row is the report."""

    __tablename__ = "non_food_incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshops.id", ondelete="RESTRICT"), index=True
    )
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id", ondelete="RESTRICT"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    substance_code: Mapped[str] = mapped_column(String(40))
    substance_name: Mapped[str] = mapped_column(String(100))
    entered_name: Mapped[str] = mapped_column(String(100))
    amount: Mapped[str] = mapped_column(String(40), default="")
    listed_in: Mapped[str] = mapped_column(String(200), default="")

    workshop: Mapped[Workshop] = relationship()
    batch: Mapped[Batch | None] = relationship()


class SubstanceAlias(CreatedMixin, Base):
    """A name a regulator taught the platform for a substance of the catalogue
    (data/additives.csv): operators' spellings that did not resolve. New substances and
    their limits go into the data files, checked by ``flask rules check``."""

    __tablename__ = "substance_aliases"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The alias folded as :func:`backend.quality.additives.normalise` folds it.
    normalised: Mapped[str] = mapped_column(String(100), unique=True)
    alias: Mapped[str] = mapped_column(String(100))
    substance_code: Mapped[str] = mapped_column(String(40))
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))


class SamplingPlan(TimestampMixin, Base):
    """A sampling task (抽检计划) for a year or one quarter of it, ordered by a level of
    government, with the workshops and products it means to sample (its targets)."""

    __tablename__ = "sampling_plans"
    __table_args__ = (
        UniqueConstraint("year", "name"),
        CheckConstraint("quarter IS NULL OR quarter BETWEEN 1 AND 4", name="quarter_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    # None: the whole year; 1–4: that quarter.
    quarter: Mapped[int | None] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    task_source: Mapped[TaskSource] = mapped_column(enum_type(TaskSource))
    testing_agency: Mapped[str] = mapped_column(String(100))
    notes: Mapped[str] = mapped_column(Text, default="")

    targets: Mapped[list[SamplingPlanTarget]] = relationship(
        back_populates="plan", order_by="SamplingPlanTarget.id", cascade="all, delete-orphan"
    )


class SamplingPlanTarget(Base):
    """A workshop (and, when named, one of its products) a plan means to sample."""

    __tablename__ = "sampling_plan_targets"
    __table_args__ = (
        UniqueConstraint("plan_id", "workshop_id", "product_id"),
        CheckConstraint("planned_samples >= 1", name="planned_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(
        ForeignKey("sampling_plans.id", ondelete="CASCADE"), index=True
    )
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshops.id", ondelete="RESTRICT"), index=True
    )
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    planned_samples: Mapped[int] = mapped_column(Integer, default=1)

    plan: Mapped[SamplingPlan] = relationship(back_populates="targets")
    workshop: Mapped[Workshop] = relationship()
    product: Mapped[Product | None] = relationship()


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


class Inspection(TimestampMixin, Base):
    """An on-site inspection of a workshop with the standard checklist."""

    __tablename__ = "inspections"
    __table_args__ = (Index("ix_inspections_workshop_date", "workshop_id", "inspected_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshops.id", ondelete="RESTRICT"))
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    inspected_on: Mapped[date] = mapped_column(Date)
    outcome: Mapped[InspectionOutcome | None] = mapped_column(enum_type(InspectionOutcome))
    summary: Mapped[str] = mapped_column(Text, default="")

    workshop: Mapped[Workshop] = relationship()
    items: Mapped[list[InspectionItem]] = relationship(
        back_populates="inspection", order_by="InspectionItem.id"
    )
    hazards: Mapped[list[Hazard]] = relationship(back_populates="inspection", order_by="Hazard.id")


class InspectionItem(Base):
    """One checklist item's finding, with a note and a photo."""

    __tablename__ = "inspection_items"
    __table_args__ = (UniqueConstraint("inspection_id", "item"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(
        ForeignKey("inspections.id", ondelete="CASCADE"), index=True
    )
    item: Mapped[ChecklistItem] = mapped_column(enum_type(ChecklistItem))
    result: Mapped[ItemResult] = mapped_column(enum_type(ItemResult))
    note: Mapped[str] = mapped_column(Text, default="")
    photo_file_id: Mapped[int | None] = mapped_column(
        ForeignKey("stored_files.id", ondelete="SET NULL")
    )

    inspection: Mapped[Inspection] = relationship(back_populates="items")


class Hazard(TimestampMixin, Base):
    """A hazard found in an inspection, to be rectified by a deadline."""

    __tablename__ = "hazards"
    __table_args__ = (
        CheckConstraint("status != 'closed' OR closed_at IS NOT NULL", name="closed_has_time"),
        Index("ix_hazards_status_deadline", "status", "deadline"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(
        ForeignKey("inspections.id", ondelete="RESTRICT"), index=True
    )
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshops.id", ondelete="RESTRICT"), index=True
    )
    item: Mapped[ChecklistItem] = mapped_column(enum_type(ChecklistItem))
    description: Mapped[str] = mapped_column(Text)
    deadline: Mapped[date] = mapped_column(Date)
    status: Mapped[HazardStatus] = mapped_column(enum_type(HazardStatus), default=HazardStatus.OPEN)
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))

    inspection: Mapped[Inspection] = relationship(back_populates="hazards")
    rectifications: Mapped[list[Rectification]] = relationship(
        back_populates="hazard", order_by="Rectification.id"
    )


class Rectification(CreatedMixin, Base):
    """What the workshop did about a hazard, and the regulator's review of it."""

    __tablename__ = "rectifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    hazard_id: Mapped[int] = mapped_column(
        ForeignKey("hazards.id", ondelete="RESTRICT"), index=True
    )
    description: Mapped[str] = mapped_column(Text)
    photo_file_id: Mapped[int | None] = mapped_column(
        ForeignKey("stored_files.id", ondelete="SET NULL")
    )
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    accepted: Mapped[bool | None] = mapped_column(Boolean)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    reviewed_at: Mapped[datetime | None]
    review_note: Mapped[str] = mapped_column(Text, default="")

    hazard: Mapped[Hazard] = relationship(back_populates="rectifications")
