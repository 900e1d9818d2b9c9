"""Live kitchen test helpers: cameras, and the streaming server's callbacks as it sends them."""

from __future__ import annotations

from datetime import time

from backend.cameras.models import Camera, CameraArea, StreamProvider
from backend.extensions import db
from tests.factories import WorkshopFactory

SECRET = "test-streaming-secret"  # TestingConfig.STREAMING_CALLBACK_SECRET
_counter = iter(range(1, 1_000_000))


def make_camera(workshop=None, **fields) -> Camera:
    """A flushed camera (production area, nginx-rtmp, 06:00–20:00) of *workshop*."""
    n = next(_counter)
    fields.setdefault("area", CameraArea.PRODUCTION)
    fields.setdefault("name", f"生产加工区{n}")
    fields.setdefault("provider", StreamProvider.NGINX_RTMP)
    fields.setdefault("stream_name", f"test-cam-{n}")
    fields.setdefault("stream_key", f"key-{n}-0123456789abcdef")
    fields.setdefault("live_from", time(6))
    fields.setdefault("live_until", time(20))
    camera = Camera(workshop=workshop or WorkshopFactory(), **fields)
    db.session.add(camera)
    db.session.flush()
    return camera


def nginx_form(call: str, camera: Camera | None = None, **fields) -> dict:
    """The form nginx-rtmp posts for *call* about *camera* (its current key by default)."""
    form = {
        "call": call,
        "app": "live",
        "flashver": "FMLE/3.0 (compatible; Lavf59.27",
        "swfurl": "",
        "tcurl": "rtmp://127.0.0.1:1935/live",
        "pageurl": "",
        "addr": "10.0.0.21",
        "clientid": "1",
        "name": camera.stream_name if camera is not None else "nobody",
    }
    if call in ("publish", "update_publish") and camera is not None:
        form["key"] = camera.stream_key
    if call == "publish":
        form["type"] = "live"
    form.update(fields)
    return {k: v for k, v in form.items() if v is not None}


def nginx_call(client, call: str, camera: Camera | None = None, *, secret=SECRET, **fields):
    """Post *call* as nginx-rtmp does, to the callback URL with the shared secret."""
    url = "/streaming/nginx-rtmp" + (f"?secret={secret}" if secret else "")
    return client.post(url, data=nginx_form(call, camera, **fields))
