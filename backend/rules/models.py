"""The rule base's tables: limits with their sources, substance aliases, non-food incidents."""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.models import Base, CreatedMixin
from backend.core.types import Measure, enum_type

if TYPE_CHECKING:
    from backend.batches.models import Batch
    from backend.registry.models import Workshop


class Comparison(enum.StrEnum):
    """How a measured value is held against a limit."""

    MAX = "max"  # value ≤ limit
    NOT_PERMITTED = "not_permitted"  # additive not permitted: must not be detected
    ABSENT = "absent"  # non-food substance: must not be present
    LABEL_TOLERANCE = "label_tolerance"  # |value − labelled| ≤ limit (alcohol %vol)
    QUANTUM_SATIS = "quantum_satis"  # 按生产需要适量使用: permitted, no number


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
    # The alias folded as :func:`backend.rules.additives.normalise` folds it.
    normalised: Mapped[str] = mapped_column(String(100), unique=True)
    alias: Mapped[str] = mapped_column(String(100))
    substance_code: Mapped[str] = mapped_column(String(40))
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
