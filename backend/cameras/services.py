"""The camera registry (明厨亮灶摄像头): cameras per workshop and area, their keys and hours.

Regulators register, change, enable or disable cameras and rotate their stream keys;
inspectors and regulators read. Each camera gets a stream name (public, in playback links)
and a secret stream key (only in its push URL); rotating the key makes the old one useless
at once for new connections, and drops a connection still using it at the streaming
server's next ``on_update``. A Tencent Cloud camera's push URL is signed with Tencent's own
key, so rotating it gives the camera a new stream name instead.

Every rule is checked here before anything is written; refusals are ValidationErrors whose
``errors`` name the field at fault. Functions flush and never commit.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from backend.accounts.models import Role, User
from backend.accounts.permissions import require_role
from backend.audit.log import record
from backend.cameras.links import tencent_configured
from backend.cameras.models import (
    Camera,
    CameraArea,
    CameraEvent,
    CameraEventKind,
    StreamProvider,
)
from backend.cameras.status import mark_offline
from backend.cameras.uptime import DayUptime, uptime
from backend.core.errors import Errors, NotFound, refuse
from backend.core.i18n import N_
from backend.core.i18n import gettext as _
from backend.core.time import local_today, utcnow
from backend.extensions import db
from backend.files.models import StoredFile
from backend.registry.models import Workshop, WorkshopStatus

MAX_PER_WORKSHOP = 16
NAME_LIMIT = 50


AREA_LABELS = {
    CameraArea.RAW_MATERIAL: N_("原料区"),
    CameraArea.WASHING: N_("清洗消毒区"),
    CameraArea.PRODUCTION: N_("生产加工区"),
    CameraArea.FINISHED: N_("成品区"),
}
PROVIDER_LABELS = {
    StreamProvider.NGINX_RTMP: N_("自建 nginx-rtmp"),
    StreamProvider.SRS: N_("自建 SRS"),
    StreamProvider.TENCENT: N_("腾讯云直播"),
}
EVENT_LABELS = {
    CameraEventKind.PUBLISH: N_("开始推流"),
    CameraEventKind.PUBLISH_DONE: N_("停止推流"),
    CameraEventKind.PUBLISH_REFUSED: N_("推流被拒绝"),
    CameraEventKind.PROBE_UP: N_("探测在线"),
    CameraEventKind.PROBE_DOWN: N_("判定离线"),
}


@dataclass
class CameraInput:
    """What a regulator says about a camera."""

    area: str = ""
    name: str = ""
    provider: str = StreamProvider.NGINX_RTMP.value
    live_from: time | None = None
    live_until: time | None = None
    enabled: bool = True


@dataclass
class CameraFilter:
    """What the camera list is narrowed to; empty fields do not narrow."""

    workshop_id: int | None = None
    live: str = ""  # "1" live now, "0" not live, "" all
    q: str = ""


# --- who may do what --------------------------------------------------------------------

#: What those refused by ``require_role`` are told: only regulators manage cameras, only
#: regulators and inspectors see them.
REGULATORS_ONLY = N_("只有监管人员可以管理摄像头。")
STAFF_ONLY = N_("只有监管和检验人员可以查看摄像头。")


# --- checks -----------------------------------------------------------------------------


def check_camera(
    data: CameraInput, workshop: Workshop, camera: Camera | None = None
) -> tuple[Errors, CameraArea | None, StreamProvider | None]:
    """Every rule a camera must meet: the errors, and the area and provider it names."""
    errors = Errors()
    area = provider = None
    try:
        area = CameraArea(data.area)
    except ValueError:
        errors.add("area", _("请选择摄像头所在区域。"))
    try:
        provider = StreamProvider(data.provider)
    except ValueError:
        errors.add("provider", _("请选择直播服务。"))
    data.name = (data.name or "").strip()
    if not data.name:
        errors.add("name", _("必填。"))
    elif len(data.name) > NAME_LIMIT:
        errors.add("name", _("不能超过 %(limit)d 个字符。", limit=NAME_LIMIT))
    elif any(unicodedata.category(ch) == "Cc" for ch in data.name):
        errors.add("name", _("不能包含制表符、换行等控制字符。"))
    elif area is not None:
        taken = select(Camera.id).where(
            Camera.workshop_id == workshop.id, Camera.area == area, Camera.name == data.name
        )
        if camera is not None:
            taken = taken.where(Camera.id != camera.id)
        if db.session.scalar(taken) is not None:
            errors.add("name", _("该区域已有名为“%(name)s”的摄像头。", name=data.name))
    if (data.live_from is None) != (data.live_until is None):
        name = "live_until" if data.live_until is None else "live_from"
        errors.add(name, _("直播时间须同时填写开始和结束，或都不填（全天）。"))
    elif data.live_from is not None and data.live_from == data.live_until:
        errors.add("live_until", _("结束时间不能与开始时间相同；全天直播请都不填。"))
    if provider is StreamProvider.TENCENT and not (
        tencent_configured("push") and tencent_configured("play")
    ):
        errors.add("provider", _("腾讯云直播尚未配置（推流、播放域名及防盗链密钥）。"))
    if workshop.status is WorkshopStatus.CANCELLED and (camera is None or data.enabled):
        errors.add("workshop", _("作坊已注销，不能添加或启用摄像头。"))
    return errors, area, provider


def new_stream_name(workshop_id: int, area: CameraArea) -> str:
    """A fresh stream name such as ``w12-production-3f9a1c`` (public, in playback links)."""
    label = area.value.replace("_", "")
    while True:
        name = f"w{workshop_id}-{label}-{secrets.token_hex(3)}"
        if db.session.scalar(select(Camera.id).where(Camera.stream_name == name)) is None:
            return name


def new_stream_key() -> str:
    """A fresh secret stream key (32 URL-safe characters)."""
    return secrets.token_urlsafe(24)


# --- changing ---------------------------------------------------------------------------


def _workshop(workshop_id: int) -> Workshop:
    """The workshop, or NotFound."""
    workshop = db.session.get(Workshop, workshop_id)
    if workshop is None:
        raise NotFound(_("作坊不存在。"), slug="workshop_not_found")
    return workshop


def register_camera(workshop_id: int, data: CameraInput, *, by: User) -> Camera:
    """Register a camera in one of a workshop's areas (regulators only)."""
    require_role(by, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    workshop = _workshop(workshop_id)
    errors, area, provider = check_camera(data, workshop)
    count = db.session.scalar(
        select(func.count(Camera.id)).where(Camera.workshop_id == workshop.id)
    )
    if (count or 0) >= MAX_PER_WORKSHOP:
        errors.add("workshop", _("每个作坊最多 %(n)d 个摄像头。", n=MAX_PER_WORKSHOP))
    refuse(errors, "camera_invalid")
    camera = Camera(
        workshop_id=workshop.id,
        area=area,
        name=data.name,
        provider=provider,
        stream_name=new_stream_name(workshop.id, area),
        stream_key=new_stream_key(),
        key_rotated_at=utcnow(),
        live_from=data.live_from,
        live_until=data.live_until,
        enabled=data.enabled,
        is_live=False,
    )
    db.session.add(camera)
    db.session.flush()
    record(
        "camera.registered",
        "camera",
        camera.id,
        actor=by,
        workshop_id=workshop.id,
        area=area,
        name=camera.name,
        provider=provider,
        stream_name=camera.stream_name,
    )
    return camera


def update_camera(camera_id: int, data: CameraInput, *, by: User) -> Camera:
    """Change a camera's area, name, provider, hours or whether it is enabled (regulators).

    A camera that is disabled or moved to another provider stops counting as live at once.
    """
    require_role(by, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    camera = get_camera(camera_id, by=by)
    errors, area, provider = check_camera(data, camera.workshop, camera)
    refuse(errors, "camera_invalid")
    changes = {}
    for name, value in (
        ("area", area),
        ("name", data.name),
        ("provider", provider),
        ("live_from", data.live_from),
        ("live_until", data.live_until),
        ("enabled", data.enabled),
    ):
        old = getattr(camera, name)
        if old != value:
            changes[name] = [old, value]
            setattr(camera, name, value)
    db.session.flush()
    if changes:
        record("camera.updated", "camera", camera.id, actor=by, changes=changes)
        if "enabled" in changes and not camera.enabled:
            mark_offline(camera, utcnow(), CameraEventKind.PROBE_DOWN, detail="camera_disabled")
        elif "provider" in changes:
            mark_offline(camera, utcnow(), CameraEventKind.PROBE_DOWN, detail="provider_changed")
    return camera


def rotate_key(camera_id: int, *, by: User) -> Camera:
    """Give a camera a new stream key (a Tencent camera: a new stream name) (regulators)."""
    require_role(by, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulator_only")
    camera = get_camera(camera_id, by=by)
    camera.stream_key = new_stream_key()
    camera.key_rotated_at = utcnow()
    details = {}
    if camera.provider is StreamProvider.TENCENT:
        details["old_stream_name"] = camera.stream_name
        camera.stream_name = new_stream_name(camera.workshop_id, camera.area)
        details["stream_name"] = camera.stream_name
        mark_offline(camera, utcnow(), CameraEventKind.PROBE_DOWN, detail="key_rotated")
    db.session.flush()
    record("camera.key_rotated", "camera", camera.id, actor=by, **details)
    return camera


# --- reading ----------------------------------------------------------------------------


def get_camera(camera_id: int, *, by: User) -> Camera:
    """A camera with its workshop, or NotFound."""
    require_role(by, Role.REGULATOR, Role.INSPECTOR, message=_(STAFF_ONLY), slug="staff_only")
    camera = db.session.scalar(
        select(Camera).options(selectinload(Camera.workshop)).where(Camera.id == camera_id)
    )
    if camera is None:
        raise NotFound(_("摄像头不存在。"), slug="camera_not_found")
    return camera


def get_workshop(workshop_id: int, *, by: User) -> Workshop:
    """A workshop whose cameras are looked at, or NotFound."""
    require_role(by, Role.REGULATOR, Role.INSPECTOR, message=_(STAFF_ONLY), slug="staff_only")
    return _workshop(workshop_id)


def list_cameras(filters: CameraFilter, *, by: User) -> list[Camera]:
    """Cameras by workshop registration number, area and name, narrowed by *filters*."""
    require_role(by, Role.REGULATOR, Role.INSPECTOR, message=_(STAFF_ONLY), slug="staff_only")
    query = select(Camera).join(Workshop, Camera.workshop_id == Workshop.id)
    if filters.workshop_id is not None:
        query = query.where(Camera.workshop_id == filters.workshop_id)
    if filters.live in ("0", "1"):
        query = query.where(Camera.is_live.is_(filters.live == "1"))
    text = (filters.q or "").strip()[:100]
    if text:
        escaped = re.sub(r"([\\%_])", r"\\\1", text)
        pattern = f"%{escaped}%"
        query = query.where(
            Workshop.name.ilike(pattern, escape="\\")
            | Camera.name.ilike(pattern, escape="\\")
            | Camera.stream_name.ilike(pattern, escape="\\")
        )
    query = query.options(selectinload(Camera.workshop)).order_by(
        Workshop.registration_no, Camera.area, Camera.name, Camera.id
    )
    return list(db.session.scalars(query))


def recent_events(camera_id: int, *, by: User, limit: int = 50) -> list[CameraEvent]:
    """The camera's latest events, newest first."""
    require_role(by, Role.REGULATOR, Role.INSPECTOR, message=_(STAFF_ONLY), slug="staff_only")
    return list(
        db.session.scalars(
            select(CameraEvent)
            .where(CameraEvent.camera_id == camera_id)
            .order_by(CameraEvent.at.desc(), CameraEvent.id.desc())
            .limit(limit)
        )
    )


def daily_rates(cameras: list[Camera], days: int, *, by: User) -> dict[int, list[DayUptime]]:
    """Each camera's online rate on each of the last *days* days (today last)."""
    require_role(by, Role.REGULATOR, Role.INSPECTOR, message=_(STAFF_ONLY), slug="staff_only")
    today = local_today()
    wanted = [today - timedelta(days=back) for back in range(days - 1, -1, -1)]
    return uptime(cameras, wanted, utcnow())


def today_rates(cameras: list[Camera], *, by: User) -> dict[int, DayUptime]:
    """Each camera's online rate today so far."""
    return {k: v[-1] for k, v in daily_rates(cameras, 1, by=by).items()}


def hours_text(camera: Camera) -> str | None:
    """The camera's hours as "06:00–20:00" (None: all day)."""
    if camera.live_from is None or camera.live_until is None:
        return None
    return f"{camera.live_from:%H:%M}–{camera.live_until:%H:%M}"


def snapshot_file(camera: Camera) -> StoredFile:
    """The camera's latest snapshot, or NotFound when none has been taken."""
    stored = (
        db.session.get(StoredFile, camera.snapshot_file_id) if camera.snapshot_file_id else None
    )
    if stored is None:
        raise NotFound(_("暂无画面。"), slug="snapshot_not_found")
    return stored
