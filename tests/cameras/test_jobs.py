"""The live kitchen's background jobs (probe, stale sweep, snapshots), its public pages, its
settings and the nginx configuration it fills in. ffmpeg and HTTP are replaced by fakes here;
tests/cameras/test_streaming.py runs the real ones."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from backend.cameras import probe, snapshots
from backend.cameras.deploy import ConfError, NginxValues, render
from backend.cameras.models import CameraEvent, CameraEventKind, StreamProvider
from backend.cameras.tasks import CHECK_TASK, beat_schedule
from backend.config import ConfigError, TestingConfig
from backend.core.time import utcnow
from backend.files.models import StoredFile
from backend.registry.models import WorkshopStatus
from tests.factories import WorkshopFactory
from tests.support.video import make_camera, nginx_call

PLAYLIST = b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\n12.ts\n"


@pytest.fixture(autouse=True)
def uploads(app, tmp_path, monkeypatch):
    """A private UPLOAD_DIR for the snapshots of each test."""
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 36), (200, 30, 30)).save(buffer, format="JPEG")
    return buffer.getvalue()


def kinds(db, camera) -> list:
    return list(
        db.session.scalars(
            select(CameraEvent.kind)
            .where(CameraEvent.camera_id == camera.id)
            .order_by(CameraEvent.at, CameraEvent.id)
        )
    )


# --- probe and sweep ---------------------------------------------------------------------------


def test_tencent_cameras_are_probed_through_their_signed_playlist(db):
    camera = make_camera(provider=StreamProvider.TENCENT)
    seen = []

    def up(url, timeout):
        seen.append(url)
        return 200, PLAYLIST

    report = probe.check_streams(fetch=up)
    assert report.probed == 1 and report.went_live == [camera.id]
    assert seen[0].startswith(f"https://play.tencent.test/live/{camera.stream_name}.m3u8?txSecret=")
    assert camera.is_live is True
    probe.check_streams(fetch=up)  # still live: nothing new
    report = probe.check_streams(fetch=lambda url, timeout: (404, b""))
    assert report.went_offline == [camera.id] and camera.is_live is False
    assert kinds(db, camera) == [CameraEventKind.PROBE_UP, CameraEventKind.PROBE_DOWN]
    assert db.session.scalars(select(CameraEvent.detail)).all()[-1] == "playlist status 404"


def test_an_empty_playlist_or_an_unreachable_server_is_offline(db):
    assert not probe.playlist_is_live(200, b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n")
    assert not probe.playlist_is_live(200, b"<html>")
    assert not probe.playlist_is_live(0, b"")
    assert probe.playlist_is_live(200, PLAYLIST)


def test_the_real_fetch_reports_unreachable_as_status_zero(db):
    assert probe.fetch_playlist("http://127.0.0.1:9/nothing.m3u8", 1.0) == (0, b"")


def test_our_servers_cameras_are_not_probed_but_swept_when_silent(client, db):
    quiet = make_camera()
    fresh = make_camera()
    disabled_tencent = make_camera(provider=StreamProvider.TENCENT, enabled=False)
    nginx_call(client, "publish", quiet)
    nginx_call(client, "publish", fresh)
    db.session.refresh(quiet)
    last = utcnow() - timedelta(minutes=3)
    quiet.last_seen_at = last
    db.session.flush()

    def never(url, timeout):
        raise AssertionError("nothing to probe")

    report = probe.check_streams(fetch=never)
    assert report.went_offline == [quiet.id] and report.probed == 0
    db.session.refresh(quiet)
    db.session.refresh(fresh)
    assert quiet.is_live is False and fresh.is_live is True
    event = db.session.scalars(
        select(CameraEvent).where(CameraEvent.camera_id == quiet.id).order_by(CameraEvent.id)
    ).all()[-1]
    assert (event.kind, event.detail, event.at) == (CameraEventKind.PROBE_DOWN, "stale", last)
    assert disabled_tencent.is_live is False


def test_the_check_task_runs_inline_and_commits(app, db, monkeypatch):
    camera = make_camera(provider=StreamProvider.TENCENT)
    monkeypatch.setattr(probe, "fetch_playlist", lambda url, timeout: (200, PLAYLIST))
    result = app.extensions["celery"].tasks[CHECK_TASK].apply().get()
    assert result == {"probed": 1, "went_live": [camera.id], "went_offline": []}


def test_beat_runs_the_checks_and_the_snapshots():
    schedule = beat_schedule(TestingConfig.__dict__ | {"SNAPSHOT_INTERVAL": 300})
    assert schedule["check-camera-streams"]["task"] == CHECK_TASK
    assert schedule["check-camera-streams"]["schedule"] == timedelta(seconds=60)
    assert schedule["take-camera-snapshots"]["schedule"] == timedelta(seconds=300)
    without = beat_schedule({"STREAM_PROBE_INTERVAL": 60, "SNAPSHOT_INTERVAL": 0})
    assert set(without) == {"check-camera-streams"}


# --- snapshots ----------------------------------------------------------------------------------


def test_a_snapshot_replaces_the_previous_one(client, db):
    camera = make_camera()
    nginx_call(client, "publish", camera)
    db.session.refresh(camera)
    sources = []

    def grab(source):
        sources.append(source)
        return jpeg()

    report = snapshots.take_snapshots(grab=grab)
    assert report.taken == [camera.id]
    assert sources[0].startswith("https://live.yipin.test/hls/")
    first = camera.snapshot_file_id
    stored = db.session.get(StoredFile, first)
    assert stored.content_type == "image/jpeg" and stored.storage_key.startswith("snapshots/")
    snapshots.take_snapshots(grab=grab)
    assert camera.snapshot_file_id != first
    assert db.session.get(StoredFile, first) is None  # the old file is gone


def test_a_failed_snapshot_keeps_the_old_one_and_is_reported(client, db):
    camera = make_camera()
    nginx_call(client, "publish", camera)
    offline = make_camera()
    snapshots.take_snapshots(grab=lambda source: jpeg())
    db.session.refresh(camera)
    kept = camera.snapshot_file_id
    assert kept is not None and offline.snapshot_file_id is None
    report = snapshots.take_snapshots(grab=lambda source: b"<html>not a picture</html>")
    assert report.failed == {camera.id: "not a JPEG picture (26 bytes)"}
    assert camera.snapshot_file_id == kept

    def broken(source):
        raise snapshots.SnapshotFailed("ffmpeg timed out")

    assert snapshots.take_snapshots(grab=broken).failed == {camera.id: "ffmpeg timed out"}


def test_grab_frame_reports_a_missing_ffmpeg(app, monkeypatch):
    monkeypatch.setitem(app.config, "FFMPEG_PATH", "/nonexistent/ffmpeg")
    with app.app_context(), pytest.raises(snapshots.SnapshotFailed, match="not found"):
        snapshots.grab_frame("http://127.0.0.1:9/x.m3u8")


def test_the_ffmpeg_command_takes_the_url_as_one_argument():
    command = snapshots.ffmpeg_command("http://h/hls/1/t/s/index.m3u8?a=1;rm -rf /", "ffmpeg")
    assert command[0] == "ffmpeg" and "http://h/hls/1/t/s/index.m3u8?a=1;rm -rf /" in command
    assert command[-1] == "pipe:1"


# --- public pages --------------------------------------------------------------------------


def test_the_live_wall_plays_live_cameras_and_gives_hours_of_the_others(client, db):
    shop = WorkshopFactory(name="四大桶红曲酒坊")
    live = make_camera(shop, name="蒸饭灶台")
    make_camera(shop, name="原料仓")
    make_camera(shop, name="停用的", enabled=False)
    make_camera(WorkshopFactory(name="已注销作坊", status=WorkshopStatus.CANCELLED))
    nginx_call(client, "publish", live)
    response = client.get("/live/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "四大桶红曲酒坊" in page and "1 / 2 路直播中" in page
    assert f"/{live.stream_name}/index.m3u8" in page and 'class="live-video"' in page
    assert "当前未直播" in page and "06:00–20:00" in page
    assert "停用的" not in page and "已注销作坊" not in page
    assert "hls.light.min.js" in page and "live-player.js" in page
    policy = response.headers["Content-Security-Policy"]
    assert "media-src 'self' blob: https://live.yipin.test https://play.tencent.test" in policy
    assert "connect-src 'self' https://live.yipin.test" in policy
    workshop_page = client.get(f"/live/workshops/{shop.id}").get_data(as_text=True)
    assert "蒸饭灶台" in workshop_page and "原料仓" in workshop_page


def test_workshop_pages_of_unknown_or_cancelled_workshops_are_404(client, db):
    cancelled = WorkshopFactory(status=WorkshopStatus.CANCELLED)
    assert client.get(f"/live/workshops/{cancelled.id}").status_code == 404
    assert client.get("/live/workshops/999999").status_code == 404
    assert client.get("/live/cameras/999999/snapshot.jpg").status_code == 404


def test_snapshots_are_served_to_the_public_and_the_console(client, db):
    from tests.support.console import logged_in

    camera = make_camera()
    assert client.get(f"/live/cameras/{camera.id}/snapshot.jpg").status_code == 404
    nginx_call(client, "publish", camera)
    snapshots.take_snapshots(grab=lambda source: jpeg())
    db.session.refresh(camera)
    response = client.get(f"/live/cameras/{camera.id}/snapshot.jpg")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.data[:3] == b"\xff\xd8\xff"
    response.close()
    page = client.get(f"/live/workshops/{camera.workshop_id}").get_data(as_text=True)
    assert f"/live/cameras/{camera.id}/snapshot.jpg?v={camera.snapshot_file_id}" in page
    logged_in(client)
    console = client.get(f"/console/cameras/{camera.id}/snapshot.jpg")
    assert console.status_code == 200 and console.data[:3] == b"\xff\xd8\xff"
    console.close()
    camera.enabled = False
    db.session.flush()
    assert client.get(f"/live/cameras/{camera.id}/snapshot.jpg").status_code == 404


def test_the_vendored_player_is_served_with_its_licences(client, db):
    for path in (
        "vendor/hls.js/hls.light.min.js",
        "vendor/hls.js/LICENSE",
        "vendor/hls.js/LICENSE-eventemitter3",
        "vendor/hls.js/LICENSE-url-toolkit",
        "vendor/hls.js/README.md",
        "js/live-player.js",
        "css/live.css",
    ):
        response = client.get(f"/static/{path}")
        assert response.status_code == 200, path
        response.close()


# --- settings ------------------------------------------------------------------------------


def settings(**overrides) -> dict:
    values = {k: v for k, v in vars(TestingConfig).items() if k.isupper()}
    for klass in TestingConfig.__mro__:
        for key, value in vars(klass).items():
            if key.isupper():
                values.setdefault(key, value)
    values.update(overrides)
    return values


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"STREAMING_ALLOWED_ADDRS": "10.0.0.0/8, nonsense"}, "STREAMING_ALLOWED_ADDRS"),
        ({"STREAMING_CALLBACK_SECRET": "short"}, "STREAMING_CALLBACK_SECRET"),
        ({"STREAMING_CALLBACK_SECRET": "has spaces & more, enough"}, "STREAMING_CALLBACK_SECRET"),
        ({"STREAMING_HLS_BASE_URL": "ftp://x/hls"}, "STREAMING_HLS_BASE_URL"),
        ({"STREAMING_RTMP_URL": "http://x/live"}, "STREAMING_RTMP_URL"),
        ({"STREAMING_APP": "cameras/x"}, "STREAMING_APP"),
        ({"PLAYBACK_LINK_TTL": 30}, "PLAYBACK_LINK_TTL"),
        ({"TENCENT_LIVE_PLAY_KEY": None}, "TENCENT_LIVE_PLAY_KEY"),
        ({"SNAPSHOT_INTERVAL": 5}, "SNAPSHOT_INTERVAL"),
        ({"STREAM_STALE_AFTER": 1}, "STREAM_STALE_AFTER"),
    ],
)
def test_bad_streaming_settings_stop_the_start(overrides, message):
    with pytest.raises(ConfigError, match=message):
        TestingConfig.validate(settings(**overrides))


def test_good_streaming_settings_pass():
    TestingConfig.validate(settings(STREAMING_ALLOWED_ADDRS="127.0.0.1, ::1, 10.0.0.0/8"))
    TestingConfig.validate(settings(SNAPSHOT_INTERVAL=0, TENCENT_LIVE_PLAY_DOMAIN=None))


# --- the nginx configuration --------------------------------------------------------------


def values(**overrides) -> NginxValues:
    base = {
        "rtmp_listen": "127.0.0.1:1935",
        "http_listen": "127.0.0.1:8081",
        "yipin_addr": "127.0.0.1:8000",
        "hls_dir": "/var/lib/yipin-rtmp/hls",
        "run_dir": "/var/lib/yipin-rtmp/run",
        "log_dir": "/var/log/yipin-rtmp",
        "secret": "a-long-enough-secret",
    }
    base.update(overrides)
    return NginxValues(**base)


def test_the_deploy_configuration_is_filled_in_completely():
    conf = render(values())
    assert "@@" not in conf.replace("@@...@@", "")
    assert "load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;" in conf
    assert (
        "on_publish http://127.0.0.1:8000/streaming/nginx-rtmp?secret=a-long-enough-secret;" in conf
    )
    assert "hls_path /var/lib/yipin-rtmp/hls;" in conf
    assert "auth_request /_yipin/playback-auth;" in conf
    assert 'proxy_set_header X-Streaming-Secret "a-long-enough-secret";' in conf


@pytest.mark.parametrize(
    "overrides",
    [
        {"secret": "short"},
        {"secret": "has spaces in it, badly"},
        {"hls_dir": "relative/hls"},
        {"hls_dir": "/tmp/x; include /etc/passwd"},
        {"rtmp_listen": "1935; evil"},
        {"yipin_addr": "http://127.0.0.1:8000"},
    ],
)
def test_values_nginx_would_misread_are_refused(overrides):
    with pytest.raises(ConfError):
        render(values(**overrides))


def test_a_template_with_an_unknown_placeholder_is_refused():
    with pytest.raises(ConfError, match="NOBODY"):
        render(values(), template="listen @@RTMP_LISTEN@@; root @@NOBODY@@;")


def test_the_cli_prints_the_configuration(app, runner, monkeypatch):
    monkeypatch.setitem(app.config, "STREAMING_CALLBACK_SECRET", "cli-secret-0123456789")
    result = runner.invoke(args=["video", "nginx-conf", "--rtmp-listen", "1935"])
    assert result.exit_code == 0, result.output
    assert "listen 1935;" in result.output and "secret=cli-secret-0123456789" in result.output
    monkeypatch.setitem(app.config, "STREAMING_CALLBACK_SECRET", None)
    result = runner.invoke(args=["video", "nginx-conf"])
    assert result.exit_code != 0 and "STREAMING_CALLBACK_SECRET" in result.output


def test_the_cli_runs_the_checks_and_snapshots(runner, db):
    result = runner.invoke(args=["video", "check"])
    assert result.exit_code == 0 and "probed 0" in result.output
    result = runner.invoke(args=["video", "snapshots"])
    assert result.exit_code == 0 and "taken: -" in result.output
