"""Training tables: sessions and attendance."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.models import Base, TimestampMixin


class Training(TimestampMixin, Base):
    """A food-safety training session organised by the bureau or the zone."""

    __tablename__ = "trainings"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    # The topics covered, e.g. 食品安全法规、添加剂使用、台账记录 (separated by 、).
    topics: Mapped[str] = mapped_column(String(300), default="")
    held_on: Mapped[date] = mapped_column(Date, index=True)
    organiser: Mapped[str] = mapped_column(String(100))
    location: Mapped[str] = mapped_column(String(200), default="")
    hours: Mapped[int] = mapped_column(Integer, default=2)
    content: Mapped[str] = mapped_column(Text, default="")

    attendances: Mapped[list[TrainingAttendance]] = relationship(
        back_populates="training", order_by="TrainingAttendance.id"
    )


class TrainingAttendance(Base):
    """One staff member at one training, and whether they passed its quiz."""

    __tablename__ = "training_attendances"
    __table_args__ = (UniqueConstraint("training_id", "staff_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    training_id: Mapped[int] = mapped_column(
        ForeignKey("trainings.id", ondelete="RESTRICT"), index=True
    )
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="RESTRICT"), index=True)
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshops.id", ondelete="RESTRICT"), index=True
    )
    attended: Mapped[bool] = mapped_column(Boolean, default=True)
    passed: Mapped[bool | None] = mapped_column(Boolean)

    training: Mapped[Training] = relationship(back_populates="attendances")
