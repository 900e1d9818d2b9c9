"""The public live kitchen (明厨亮灶) pages: the live wall and each workshop's cameras.

No login. Live cameras play through signed HLS links (hls.js where the browser has no
native HLS, the native player on phones and in WeChat); the others say "not broadcasting
now" with their hours. The pages allow media only from this site and the HLS servers.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, render_template, send_file

from backend.cameras import public
from backend.cameras.links import hls_base_url
from backend.cameras.services import AREA_LABELS
from backend.files.storage import open_file

blueprint = Blueprint("cameras", __name__, url_prefix="/live", template_folder="templates")


def _media_origins() -> str:
    """The origins video is loaded from: our HLS server and Tencent's playback domain."""
    origins = set()
    base = urlsplit(hls_base_url())
    if base.scheme and base.netloc:
        origins.add(f"{base.scheme}://{base.netloc}")
    domain = current_app.config.get("TENCENT_LIVE_PLAY_DOMAIN")
    if domain:
        origins.add(f"https://{domain}")
    return " ".join(sorted(origins))


@blueprint.after_request
def media_policy(response):
    """Scripts and styles from this site only; video from this site and the HLS servers."""
    media = _media_origins()
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; "
        f"media-src 'self' blob: {media}; connect-src 'self' {media}; "
        "worker-src 'self' blob:; frame-ancestors 'self'; base-uri 'none'; form-action 'self'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers.setdefault("Cache-Control", "no-cache")
    return response


@blueprint.get("/")
def wall():
    """The live wall: every workshop's cameras, those broadcasting now first."""
    return render_template("cameras/wall.html", groups=public.wall(), area_labels=AREA_LABELS)


@blueprint.get("/workshops/<int:workshop_id>")
def workshop(workshop_id: int):
    """One workshop's cameras: live ones play, the others show their hours."""
    shop = public.public_workshop(workshop_id)
    return render_template(
        "cameras/workshop.html",
        workshop=shop,
        cameras=public.workshop_cameras(shop.id),
        area_labels=AREA_LABELS,
    )


@blueprint.get("/cameras/<int:camera_id>/snapshot.jpg")
def snapshot(camera_id: int):
    """A camera's latest snapshot (cached by browsers for a minute)."""
    stored = public.snapshot_of(camera_id)
    response = send_file(open_file(stored), mimetype="image/jpeg", max_age=60)
    return response
