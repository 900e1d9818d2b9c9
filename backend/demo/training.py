"""The demo's training sessions, attended by the zone's owners and some staff."""

from __future__ import annotations

from datetime import timedelta

from backend.demo import facts
from backend.demo.builder import Builder
from backend.extensions import db
from backend.training.models import Training, TrainingAttendance


class TrainingSeed(Builder):
    """Training sessions and attendance."""

    def trainings(self) -> None:
        """Training sessions attended by the zone's owners and some staff."""
        for title, days_ago, organiser, place in facts.TRAININGS:
            training = Training(
                title=title,
                held_on=self.today - timedelta(days=days_ago),
                organiser=organiser,
                location=place,
                hours=2,
                content=title,
            )
            db.session.add(training)
            db.session.flush()
            for workshop in self.zone_workshop_list:
                for person in self.staff[workshop.id][:2]:
                    db.session.add(
                        TrainingAttendance(
                            training_id=training.id,
                            staff_id=person.id,
                            workshop_id=workshop.id,
                            attended=self.rng.random() < 0.95,
                            passed=self.rng.random() < 0.9,
                        )
                    )
        db.session.flush()
