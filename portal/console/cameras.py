"""Live kitchen cameras in the console: the registry of cameras per workshop and area, who is
live now, online rates per day, recent events, snapshots, and the stream key.

Regulators register, change, enable, disable cameras and rotate their keys; inspectors see
everything but the push URL (it holds the key) and change nothing (the service refuses).
Watching happens on the public live pages (``/live/``): the console's pages may not load
video from the streaming server (their Content-Security-Policy is ``'self'`` only).
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField, StringField, TimeField

from backend.accounts.models import Role
from backend.accounts.permissions import require_role
from backend.cameras import services as cameras
from backend.cameras.links import push_url
from backend.cameras.models import CameraArea, StreamProvider
from backend.cameras.services import AREA_LABELS, EVENT_LABELS, PROVIDER_LABELS, CameraInput
from backend.core.errors import ValidationError
from backend.core.i18n import gettext as _
from backend.files.storage import open_file
from portal.console.common import NavItem, acting_user, refused

blueprint = Blueprint("cameras", __name__, url_prefix="/cameras")
navigation = [NavItem("console.cameras.index", _l("明厨亮灶"), order=70)]
# Buttons on a workshop's page; each endpoint takes ``workshop_id``.
workshop_actions = [
    NavItem("console.cameras.workshop", _l("摄像头"), (Role.REGULATOR, Role.INSPECTOR), order=70)
]
HISTORY_DAYS = 14


class LocalTimeField(TimeField):
    """A time of day typed as 06:00 (the HTML time input's format), with a Chinese message."""

    def process_formdata(self, valuelist):
        """Read the time (nothing typed: None); a clear message when it is not one."""
        if not valuelist or not any(v.strip() for v in valuelist):
            self.data = None
            return
        try:
            super().process_formdata([v.strip()[:5] for v in valuelist])
        except ValueError:
            self.data = None
            raise ValueError(str(_l("不是有效的时间，请写成 06:00。"))) from None


class CameraForm(FlaskForm):
    """A camera: where it is, what it is called, who carries its stream, its hours."""

    area = SelectField(
        _l("区域"),
        choices=[SelectChoice(a.value, _l(AREA_LABELS[a])) for a in CameraArea],
        default=CameraArea.PRODUCTION.value,
        validate_choice=False,
    )
    name = StringField(_l("名称"))
    provider = SelectField(
        _l("直播服务"),
        choices=[SelectChoice(p.value, _l(PROVIDER_LABELS[p])) for p in StreamProvider],
        default=StreamProvider.NGINX_RTMP.value,
        validate_choice=False,
    )
    live_from = LocalTimeField(_l("每日直播开始"))
    live_until = LocalTimeField(_l("每日直播结束"))
    enabled = BooleanField(_l("启用"), default=True)

    def fill_from(self, camera) -> None:
        """Put a camera's values into the form (for editing)."""
        self.area.data = camera.area.value
        self.name.data = camera.name
        self.provider.data = camera.provider.value
        self.live_from.data = camera.live_from
        self.live_until.data = camera.live_until
        self.enabled.data = camera.enabled

    def to_input(self) -> CameraInput:
        """What was typed, for the camera service."""
        return CameraInput(
            area=self.area.data or "",
            name=self.name.data or "",
            provider=self.provider.data or "",
            live_from=self.live_from.data,
            live_until=self.live_until.data,
            enabled=bool(self.enabled.data),
        )


class RotateKeyForm(FlaskForm):
    """Rotating a key is a POST with the CSRF token."""


@blueprint.context_processor
def labels() -> dict:
    """Names of areas, providers and events, for the templates."""
    return {
        "area_labels": AREA_LABELS,
        "provider_labels": PROVIDER_LABELS,
        "event_labels": EVENT_LABELS,
        "hours_text": cameras.hours_text,
    }


def _filters() -> cameras.CameraFilter:
    """The list's filters from the query string."""
    live = request.args.get("live", "")
    return cameras.CameraFilter(
        live=live if live in ("0", "1") else "", q=request.args.get("q", "")
    )


@blueprint.get("/")
def index():
    """Every camera: workshop, area, provider, live now, last seen, today's online rate."""
    user = acting_user()
    filters = _filters()
    found = cameras.list_cameras(filters, by=user)
    return render_template(
        "console/cameras/index.html",
        cameras=found,
        filters=filters,
        rates=cameras.today_rates(found, by=user),
        live_count=sum(1 for c in found if c.is_live),
    )


@blueprint.get("/workshops/<int:workshop_id>")
def workshop(workshop_id: int):
    """One workshop's cameras, with today's online rate."""
    user = acting_user()
    shop = cameras.get_workshop(workshop_id, by=user)
    found = cameras.list_cameras(cameras.CameraFilter(workshop_id=shop.id), by=user)
    return render_template(
        "console/cameras/workshop.html",
        workshop=shop,
        cameras=found,
        rates=cameras.today_rates(found, by=user),
    )


@blueprint.route("/workshops/<int:workshop_id>/new", methods=["GET", "POST"])
def create(workshop_id: int):
    """Register a camera in one of the workshop's areas (regulators only)."""
    user = acting_user()
    require_role(user, Role.REGULATOR, message=_(cameras.REGULATORS_ONLY), slug="regulator_only")
    shop = cameras.get_workshop(workshop_id, by=user)
    form = CameraForm()
    template_name = "console/cameras/form.html"
    context = {"workshop": shop, "camera": None}
    if not form.is_submitted():
        return render_template(template_name, form=form, **context)
    data = form.to_input()
    if not form.validate():  # a time that could not be read
        return refused(template_name, form, cameras.check_camera(data, shop)[0], **context)
    try:
        camera = cameras.register_camera(shop.id, data, by=user)
    except ValidationError as exc:
        return refused(template_name, form, exc.errors, **context)
    flash(_l("已登记摄像头 %(name)s。", name=camera.name), "success")
    return redirect(url_for(".detail", camera_id=camera.id))


@blueprint.get("/<int:camera_id>")
def detail(camera_id: int):
    """A camera: settings, live now, push URL (regulators), online rate by day, events."""
    user = acting_user()
    camera = cameras.get_camera(camera_id, by=user)
    history = cameras.daily_rates([camera], HISTORY_DAYS, by=user).get(camera.id, [])
    return render_template(
        "console/cameras/detail.html",
        camera=camera,
        history=list(reversed(history)),
        events=cameras.recent_events(camera.id, by=user),
        push_url=push_url(camera) if user.role is Role.REGULATOR else None,
        rotate_form=RotateKeyForm(),
    )


@blueprint.route("/<int:camera_id>/edit", methods=["GET", "POST"])
def edit(camera_id: int):
    """Change a camera's area, name, provider, hours, or enable/disable it (regulators)."""
    user = acting_user()
    require_role(user, Role.REGULATOR, message=_(cameras.REGULATORS_ONLY), slug="regulator_only")
    camera = cameras.get_camera(camera_id, by=user)
    form = CameraForm()
    if not form.is_submitted():
        form.fill_from(camera)
    template_name = "console/cameras/form.html"
    context = {"workshop": camera.workshop, "camera": camera}
    if not form.is_submitted():
        return render_template(template_name, form=form, **context)
    data = form.to_input()
    if not form.validate():
        errors = cameras.check_camera(data, camera.workshop, camera)[0]
        return refused(template_name, form, errors, **context)
    try:
        cameras.update_camera(camera.id, data, by=user)
    except ValidationError as exc:
        return refused(template_name, form, exc.errors, **context)
    flash(_l("已保存修改。"), "success")
    return redirect(url_for(".detail", camera_id=camera.id))


@blueprint.post("/<int:camera_id>/rotate-key")
def rotate_key(camera_id: int):
    """Give the camera a new stream key; the old one stops working (regulators only)."""
    user = acting_user()
    require_role(
        user, Role.REGULATOR, message=_(cameras.REGULATORS_ONLY), slug="regulator_only"
    )  # (the console checked the CSRF token already)
    camera = cameras.rotate_key(camera_id, by=user)
    flash(_l("已更换推流密钥：请把新的推流地址设置到摄像头上，旧密钥已失效。"), "success")
    return redirect(url_for(".detail", camera_id=camera.id, _anchor="push"))


@blueprint.get("/<int:camera_id>/snapshot.jpg")
def snapshot(camera_id: int):
    """The camera's latest snapshot (404 when none has been taken)."""
    camera = cameras.get_camera(camera_id, by=acting_user())
    stored = cameras.snapshot_file(camera)
    return send_file(open_file(stored), mimetype="image/jpeg", max_age=0)
