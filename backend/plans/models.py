"""Sampling plans and the workshops and products each one targets."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.models import Base, TimestampMixin
from backend.core.types import enum_type
from backend.samples.models import TaskSource

if TYPE_CHECKING:
    from backend.registry.models import Product, Workshop


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
