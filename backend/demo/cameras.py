"""The demo's cameras: three per zone workshop (raw material, washing, production), with a
week of on/off history."""

from __future__ import annotations

import secrets
from datetime import time, timedelta

from sqlalchemy import insert

from backend.cameras.models import Camera, CameraArea, CameraEvent, CameraEventKind
from backend.demo.builder import Builder, at
from backend.extensions import db


class CamerasSeed(Builder):
    """Cameras and their history."""

    def cameras(self) -> None:
        """Three cameras per zone workshop, with a week of on/off history."""
        areas = [CameraArea.RAW_MATERIAL, CameraArea.WASHING, CameraArea.PRODUCTION]
        names = {
            CameraArea.RAW_MATERIAL: "原料区",
            CameraArea.WASHING: "清洗消毒区",
            CameraArea.PRODUCTION: "生产加工区",
        }
        for key, workshop, _ in self.zone_workshops:
            for area in areas:
                camera = Camera(
                    workshop_id=workshop.id,
                    area=area,
                    name=names[area],
                    stream_name=f"{key}-{area.value}",
                    stream_key=secrets.token_urlsafe(24),
                    live_from=time(6, 0),
                    live_until=time(20, 0),
                    created_at=at(self.today - timedelta(days=8), 9),  # before its history
                )
                db.session.add(camera)
                db.session.flush()
                events = []
                for back in range(7, 0, -1):
                    day = self.today - timedelta(days=back)
                    if self.rng.random() < 0.9:
                        events.append(
                            {
                                "camera_id": camera.id,
                                "kind": CameraEventKind.PUBLISH,
                                "at": at(day, 6, self.rng.randrange(0, 10)),
                                "client_addr": "127.0.0.1",
                            }
                        )
                        events.append(
                            {
                                "camera_id": camera.id,
                                "kind": CameraEventKind.PUBLISH_DONE,
                                "at": at(day, 20, self.rng.randrange(0, 10)),
                                "client_addr": "127.0.0.1",
                            }
                        )
                db.session.execute(insert(CameraEvent), events)
                if events:
                    camera.last_seen_at = events[-1]["at"]
        db.session.flush()
