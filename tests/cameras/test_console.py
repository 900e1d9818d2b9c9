"""Cameras in the console: register, change, disable, rotate keys; who may; bad input.

Every form is posted with its CSRF token (tests/support/console.py), as a browser would.
"""

from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy import func, select

from backend.accounts.models import Role
from backend.audit.models import AuditLog
from backend.cameras.models import Camera, CameraArea, StreamProvider
from backend.registry.models import WorkshopStatus
from tests.factories import WorkshopFactory
from tests.support.console import logged_in, submit, text
from tests.support.video import make_camera, nginx_call


def camera_form(**overrides) -> dict:
    data = {
        "area": "production",
        "name": "蒸饭灶台",
        "provider": "nginx_rtmp",
        "live_from": "06:00",
        "live_until": "20:00",
        "enabled": "y",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def cameras_of(db, workshop) -> list[Camera]:
    return list(db.session.scalars(select(Camera).where(Camera.workshop_id == workshop.id)))


def test_a_regulator_registers_a_camera_and_sees_its_push_url(client, db):
    logged_in(client)
    workshop = WorkshopFactory(name="四大桶红曲酒坊")
    page = f"/console/cameras/workshops/{workshop.id}/new"
    response = submit(client, page, camera_form())
    assert response.status_code == 302
    (camera,) = cameras_of(db, workshop)
    assert (camera.area, camera.name, camera.provider) == (
        CameraArea.PRODUCTION,
        "蒸饭灶台",
        StreamProvider.NGINX_RTMP,
    )
    assert (camera.live_from, camera.live_until) == (time(6), time(20))
    assert camera.stream_name.startswith(f"w{workshop.id}-production-")
    assert len(camera.stream_key) >= 32 and camera.is_live is False
    assert response.headers["Location"].endswith(f"/console/cameras/{camera.id}")
    detail = text(client.get(f"/console/cameras/{camera.id}"))
    assert f"rtmp://live.yipin.test/live/{camera.stream_name}?key={camera.stream_key}" in detail
    assert "近 14 天在线率" in detail
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "camera.registered")).one()
    assert entry.object_id == str(camera.id)
    assert camera.stream_key not in str(entry.details)


def test_the_lists_show_who_is_live(client, db):
    logged_in(client)
    workshop = WorkshopFactory(name="枋洋豆腐坊")
    live = make_camera(workshop, name="磨浆间")
    make_camera(workshop, name="原料仓", area=CameraArea.RAW_MATERIAL)
    nginx_call(client, "publish", live)
    index = text(client.get("/console/cameras/"))
    assert "枋洋豆腐坊" in index and "磨浆间" in index and "原料仓" in index
    assert "共 2 个摄像头，1 个直播中" in index
    only_live = text(client.get("/console/cameras/?live=1"))
    assert "磨浆间" in only_live and "原料仓" not in only_live
    assert "原料仓" in text(client.get("/console/cameras/?q=原料"))
    shop = text(client.get(f"/console/cameras/workshops/{workshop.id}"))
    assert "磨浆间" in shop and "直播中" in shop and "登记摄像头" in shop


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": ""}, "name", "必填"),
        ({"name": "长" * 51}, "name", "不能超过 50 个字符"),
        ({"area": "kitchen"}, "area", "请选择摄像头所在区域"),
        ({"provider": "youtube"}, "provider", "请选择直播服务"),
        ({"live_from": "25:99"}, "live_from", "不是有效的时间"),
        ({"live_until": ""}, "live_until", "须同时填写开始和结束"),
        ({"live_until": "06:00"}, "live_until", "不能与开始时间相同"),
    ],
)
def test_bad_input_is_shown_next_to_the_field_and_nothing_is_saved(
    client, db, overrides, field, message
):
    logged_in(client)
    workshop = WorkshopFactory()
    response = submit(
        client, f"/console/cameras/workshops/{workshop.id}/new", camera_form(**overrides)
    )
    assert response.status_code == 422
    body = text(response)
    assert message in body
    assert f'id="{field}-errors"' in body
    assert cameras_of(db, workshop) == []


def test_a_duplicate_name_in_the_same_area_is_refused(client, db):
    logged_in(client)
    workshop = WorkshopFactory()
    make_camera(workshop, name="蒸饭灶台", area=CameraArea.PRODUCTION)
    page = f"/console/cameras/workshops/{workshop.id}/new"
    response = submit(client, page, camera_form())
    assert response.status_code == 422 and "已有名为“蒸饭灶台”的摄像头" in text(response)
    assert len(cameras_of(db, workshop)) == 1
    # The same name in another area is fine.
    assert submit(client, page, camera_form(area="washing")).status_code == 302


def test_hours_may_be_left_out_or_run_past_midnight(client, db):
    logged_in(client)
    workshop = WorkshopFactory()
    page = f"/console/cameras/workshops/{workshop.id}/new"
    assert submit(client, page, camera_form(live_from="", live_until="")).status_code == 302
    night = camera_form(name="夜班", live_from="22:00", live_until="06:00")
    assert submit(client, page, night).status_code == 302
    by_name = {c.name: c for c in cameras_of(db, workshop)}
    assert by_name["蒸饭灶台"].live_from is None
    assert (by_name["夜班"].live_from, by_name["夜班"].live_until) == (time(22), time(6))


def test_tencent_cameras_need_tencent_configured(app, client, db, monkeypatch):
    logged_in(client)
    workshop = WorkshopFactory()
    monkeypatch.setitem(app.config, "TENCENT_LIVE_PUSH_KEY", None)
    page = f"/console/cameras/workshops/{workshop.id}/new"
    response = submit(client, page, camera_form(provider="tencent"))
    assert response.status_code == 422 and "腾讯云直播尚未配置" in text(response)
    monkeypatch.setitem(app.config, "TENCENT_LIVE_PUSH_KEY", "push-key")
    assert submit(client, page, camera_form(provider="tencent")).status_code == 302
    (camera,) = cameras_of(db, workshop)
    detail = text(client.get(f"/console/cameras/{camera.id}"))
    assert f"rtmp://push.tencent.test/live/{camera.stream_name}?txSecret=" in detail


def test_cancelled_and_unknown_workshops(client, db):
    logged_in(client)
    cancelled = WorkshopFactory(status=WorkshopStatus.CANCELLED)
    response = submit(client, f"/console/cameras/workshops/{cancelled.id}/new", camera_form())
    assert response.status_code == 422 and "作坊已注销" in text(response)
    assert client.get("/console/cameras/workshops/999999").status_code == 404
    assert client.get("/console/cameras/workshops/999999/new").status_code == 404
    assert client.get("/console/cameras/999999").status_code == 404
    assert client.get("/console/cameras/999999/edit").status_code == 404


def test_editing_and_disabling_a_live_camera_takes_it_off_air(client, db):
    logged_in(client)
    camera = make_camera(name="灶台")
    nginx_call(client, "publish", camera)
    page = f"/console/cameras/{camera.id}/edit"
    assert 'value="灶台"' in text(client.get(page))
    response = submit(client, page, camera_form(name="灶台一", enabled=None))
    assert response.status_code == 302
    db.session.refresh(camera)
    assert camera.name == "灶台一" and camera.enabled is False and camera.is_live is False
    assert nginx_call(client, "publish", camera).status_code == 403  # no longer accepted
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "camera.updated")).one()
    assert set(entry.details["changes"]) == {"name", "enabled"}
    bad = submit(client, page, camera_form(name=""))
    assert bad.status_code == 422
    db.session.refresh(camera)
    assert camera.name == "灶台一"


def test_rotating_the_key_refuses_the_old_one(client, db):
    logged_in(client)
    camera = make_camera()
    old_key = camera.stream_key
    page = f"/console/cameras/{camera.id}"
    response = submit(client, page, {}, action=f"{page}/rotate-key")
    assert response.status_code == 302
    db.session.refresh(camera)
    assert camera.stream_key != old_key and camera.key_rotated_at is not None
    assert nginx_call(client, "publish", camera, key=old_key).status_code == 403
    assert nginx_call(client, "publish", camera).status_code == 200
    assert camera.stream_key in text(client.get(page))
    # Without the CSRF token nothing happens.
    key = camera.stream_key
    assert client.post(f"{page}/rotate-key").status_code == 400
    db.session.refresh(camera)
    assert camera.stream_key == key


def test_rotating_a_tencent_camera_gives_it_a_new_stream_name(client, db):
    logged_in(client)
    camera = make_camera(provider=StreamProvider.TENCENT)
    old_name = camera.stream_name
    page = f"/console/cameras/{camera.id}"
    assert submit(client, page, {}, action=f"{page}/rotate-key").status_code == 302
    db.session.refresh(camera)
    assert camera.stream_name != old_name


def test_inspectors_read_but_change_nothing_and_never_see_the_key(client, db):
    logged_in(client, Role.INSPECTOR)
    workshop = WorkshopFactory()
    camera = make_camera(workshop, name="灶台")
    assert client.get("/console/cameras/").status_code == 200
    assert client.get(f"/console/cameras/workshops/{workshop.id}").status_code == 200
    detail = client.get(f"/console/cameras/{camera.id}")
    assert detail.status_code == 200
    assert camera.stream_key not in text(detail) and "推流地址" not in text(detail)
    assert client.get(f"/console/cameras/workshops/{workshop.id}/new").status_code == 403
    assert client.get(f"/console/cameras/{camera.id}/edit").status_code == 403
    page = f"/console/cameras/{camera.id}"
    response = submit(client, page, {}, action=f"{page}/rotate-key")
    assert response.status_code == 403
    response = submit(
        client, page, camera_form(), action=f"/console/cameras/workshops/{workshop.id}/new"
    )
    assert response.status_code == 403
    assert db.session.scalar(select(func.count(Camera.id))) == 1
    db.session.refresh(camera)
    assert camera.name == "灶台"


def test_logged_out_visitors_are_sent_to_the_login(client, db):
    assert client.get("/console/cameras/").status_code in (302, 401)


def test_the_workshop_page_links_to_its_cameras(client, db):
    logged_in(client)
    workshop = WorkshopFactory()
    page = text(client.get(f"/console/registry/{workshop.id}"))
    assert f"/console/cameras/workshops/{workshop.id}" in page
    assert "明厨亮灶" in text(client.get("/console/"))


def test_detail_shows_events_rates_and_snapshot(client, db):
    logged_in(client)
    camera = make_camera()
    nginx_call(client, "publish", camera, key="wrong")
    nginx_call(client, "publish", camera)
    page = text(client.get(f"/console/cameras/{camera.id}"))
    assert "推流被拒绝" in page and "wrong_key" in page and "开始推流" in page
    assert client.get(f"/console/cameras/{camera.id}/snapshot.jpg").status_code == 404
