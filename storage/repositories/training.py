"""宣贯培训: training sessions, seat assignments, attendance."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import NamedTuple

from sqlalchemy import select, update

from storage import orm
from storage.repositories.base import Repository

# Attendance is written in chunks of this many people: one UPDATE each, under every database's
# limit on bound parameters.
ATTENDANCE_CHUNK = 500


class SeatFact(NamedTuple):
    """What the counts need of a seat, without loading the seat as a record."""

    person_key: str
    session_id: int  # the seat's 培训场次 (TrainingSession.id)
    attended: bool | None


class TrainingRepository(Repository):
    """Queries of 宣贯培训."""

    def training_sessions(self, campaign_id: int) -> list[orm.TrainingSession]:
        """The campaign's 培训场次 by start, then key."""
        return list(
            self.session.scalars(
                select(orm.TrainingSession)
                .where(orm.TrainingSession.campaign_id == campaign_id)
                .order_by(orm.TrainingSession.starts_at, orm.TrainingSession.key)
            )
        )

    def seats(self, campaign_id: int) -> list[orm.TrainingAssignment]:
        """Every seat (培训安排) of the campaign's sessions, in the order they were given."""
        return list(
            self.session.scalars(
                select(orm.TrainingAssignment)
                .join(orm.TrainingSession)
                .where(orm.TrainingSession.campaign_id == campaign_id)
                .order_by(orm.TrainingAssignment.id)
            )
        )

    def seat_facts(self, campaign_id: int) -> list[SeatFact]:
        """(person_key, session_id, attended) of every seat of the campaign's sessions."""
        rows = self.session.execute(
            select(
                orm.TrainingAssignment.person_key,
                orm.TrainingAssignment.session_id,
                orm.TrainingAssignment.attended,
            )
            .join(orm.TrainingSession)
            .where(orm.TrainingSession.campaign_id == campaign_id)
        )
        return [SeatFact(*row) for row in rows]

    def people_to_train(
        self, application_ids: Collection[int], roles: Iterable[str]
    ) -> list[orm.ProjectPerson]:
        """The people of these projects in the trained roles, in id order."""
        return list(
            self.session.scalars(
                select(orm.ProjectPerson)
                .where(
                    orm.ProjectPerson.application_id.in_(list(application_ids)),
                    orm.ProjectPerson.role.in_(list(roles)),
                )
                .order_by(orm.ProjectPerson.id)
            )
        )

    def people_named(
        self, person_keys: Collection[str], application_ids: Collection[int]
    ) -> list[orm.ProjectPerson]:
        """The project people with these person keys on these projects, in id order."""
        return list(
            self.session.scalars(
                select(orm.ProjectPerson)
                .where(
                    orm.ProjectPerson.person_key.in_(list(person_keys)),
                    orm.ProjectPerson.application_id.in_(list(application_ids)),
                )
                .order_by(orm.ProjectPerson.id)
            )
        )

    def phones(self, application_ids: Collection[int]) -> dict[str, str]:
        """{person_key: phone} of the people of these projects."""
        return {
            p.person_key: p.phone
            for p in self.session.scalars(
                select(orm.ProjectPerson).where(
                    orm.ProjectPerson.application_id.in_(list(application_ids))
                )
            )
        }

    def attendance(self, session_id: int) -> dict[str, bool | None]:
        """{person_key: attended} of one 培训场次's seats, as plain columns."""
        return {
            key: attended
            for key, attended in self.session.execute(
                select(orm.TrainingAssignment.person_key, orm.TrainingAssignment.attended).where(
                    orm.TrainingAssignment.session_id == session_id
                )
            )
        }

    def mark_attendance(self, session_id: int, person_keys: list[str], attended: bool) -> None:
        """Record these people of one 培训场次 as attended (or absent): one UPDATE per chunk
        rather than an ORM object per person (850 people a 培训场次 at 1,200 projects)."""
        for start in range(0, len(person_keys), ATTENDANCE_CHUNK):
            self.session.execute(
                update(orm.TrainingAssignment)
                .where(
                    orm.TrainingAssignment.session_id == session_id,
                    orm.TrainingAssignment.person_key.in_(
                        person_keys[start : start + ATTENDANCE_CHUNK]
                    ),
                )
                .values(attended=attended)
                .execution_options(synchronize_session=False)
            )
