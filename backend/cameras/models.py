"""Camera tables: the camera registry and its online/offline events."""

from __future__ import annotations

import enum
from datetime import datetime, time
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, Index, String, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.models import Base, TimestampMixin
from backend.core.types import BigIntKey, enum_type

if TYPE_CHECKING:
    from backend.registry.models import Workshop


class CameraArea(enum.StrEnum):
    """The areas a workshop's cameras watch."""

    RAW_MATERIAL = "raw_material"  # 原料区
    WASHING = "washing"  # 清洗消毒区
    PRODUCTION = "production"  # 生产加工区
    FINISHED = "finished"  # 成品区


class StreamProvider(enum.StrEnum):
    """Which streaming server carries the camera."""

    NGINX_RTMP = "nginx_rtmp"
    SRS = "srs"
    TENCENT = "tencent"


class CameraEventKind(enum.StrEnum):
    """What the streaming server (or our probe) told us."""

    PUBLISH = "publish"
    PUBLISH_DONE = "publish_done"
    PUBLISH_REFUSED = "publish_refused"
    PROBE_UP = "probe_up"
    PROBE_DOWN = "probe_down"


class Camera(TimestampMixin, Base):
    """A camera in one area of a workshop, pushing to a streaming server."""

    __tablename__ = "cameras"
    __table_args__ = (UniqueConstraint("workshop_id", "area", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshops.id", ondelete="RESTRICT"), index=True
    )
    area: Mapped[CameraArea] = mapped_column(enum_type(CameraArea))
    name: Mapped[str] = mapped_column(String(50))
    provider: Mapped[StreamProvider] = mapped_column(
        enum_type(StreamProvider), default=StreamProvider.NGINX_RTMP
    )
    stream_name: Mapped[str] = mapped_column(String(64), unique=True)
    # Secret the camera must present to publish; rotated by the regulator or owner.
    stream_key: Mapped[str] = mapped_column(String(64))
    key_rotated_at: Mapped[datetime | None]
    live_from: Mapped[time | None] = mapped_column(Time)
    live_until: Mapped[time | None] = mapped_column(Time)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    is_live: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    last_seen_at: Mapped[datetime | None]
    # The streaming server's id of the connection now publishing (address and client id),
    # so that the end of another, refused connection does not mark the camera offline.
    publisher_id: Mapped[str | None] = mapped_column(String(80))
    snapshot_file_id: Mapped[int | None] = mapped_column(
        ForeignKey("stored_files.id", ondelete="SET NULL")
    )

    workshop: Mapped[Workshop] = relationship()


class CameraEvent(Base):
    """A camera going live or dark; online rates are computed from these."""

    __tablename__ = "camera_events"
    __table_args__ = (Index("ix_camera_events_camera_time", "camera_id", "at"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="RESTRICT"))
    kind: Mapped[CameraEventKind] = mapped_column(enum_type(CameraEventKind))
    at: Mapped[datetime]
    client_addr: Mapped[str | None] = mapped_column(String(64))
    # Why a publish was refused, or what a probe saw (short, for the console).
    detail: Mapped[str | None] = mapped_column(String(100))
