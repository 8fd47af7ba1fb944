"""申报受理: submission batches, applications as received, their findings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select, update

from domain.states import ProjectState
from storage import orm
from storage.repositories.base import Repository


class IntakeRepository(Repository):
    """Queries of 申报受理."""

    def unit_batches(self, campaign_id: int, unit_id: int) -> Sequence[orm.SubmissionBatch]:
        """Every batch the recommending unit sent in this campaign, oldest version first."""
        return self.session.scalars(
            select(orm.SubmissionBatch)
            .where(
                orm.SubmissionBatch.campaign_id == campaign_id,
                orm.SubmissionBatch.recommending_unit_id == unit_id,
            )
            .order_by(orm.SubmissionBatch.version)
        ).all()

    def unit_batch(
        self, campaign_id: int, unit_code: str, version: int
    ) -> orm.SubmissionBatch | None:
        """One version of a recommending unit's batch."""
        return self.session.scalar(
            select(orm.SubmissionBatch)
            .join(orm.RecommendingUnit)
            .where(
                orm.SubmissionBatch.campaign_id == campaign_id,
                orm.RecommendingUnit.code == unit_code,
                orm.SubmissionBatch.version == version,
            )
        )

    def taken_folders(self, campaign_id: int) -> set[str]:
        """The inbox folders whose batches were already taken."""
        return set(
            self.session.scalars(
                select(orm.SubmissionBatch.source_dir).where(
                    orm.SubmissionBatch.campaign_id == campaign_id
                )
            )
        )

    def other_units_titles(self, campaign_id: int, unit_id: int) -> list[tuple[int, str]]:
        """(id, title) of the current, not returned applications of every other unit."""
        rows = self.session.execute(
            select(orm.Application.id, orm.Application.title)
            .where(
                orm.Application.campaign_id == campaign_id,
                orm.Application.is_current.is_(True),
                orm.Application.recommending_unit_id != unit_id,
                orm.Application.state != ProjectState.RETURNED.value,
            )
            .order_by(orm.Application.id)
        )
        return [(app_id, title) for app_id, title in rows]

    def current_application_ids(self, campaign_id: int, unit_id: int) -> list[int]:
        """Ids of the unit's current applications (of its latest on-time batch)."""
        return list(
            self.session.scalars(
                select(orm.Application.id).where(
                    orm.Application.campaign_id == campaign_id,
                    orm.Application.recommending_unit_id == unit_id,
                    orm.Application.is_current.is_(True),
                )
            )
        )

    def retire_applications(self, campaign_id: int, unit_id: int, keep_batch_id: int) -> None:
        """The unit's current applications of any other batch are current no more."""
        self.session.execute(
            update(orm.Application)
            .where(
                orm.Application.campaign_id == campaign_id,
                orm.Application.recommending_unit_id == unit_id,
                orm.Application.is_current.is_(True),
                orm.Application.batch_id != keep_batch_id,
            )
            .values(is_current=False)
            .execution_options(synchronize_session="fetch")
        )

    def retire_returned_applications(
        self, campaign_id: int, unit_id: int, keep_batch_id: int
    ) -> None:
        """The unit's current returned applications of any other batch are current no more
        (its accepted ones stay current)."""
        self.session.execute(
            update(orm.Application)
            .where(
                orm.Application.campaign_id == campaign_id,
                orm.Application.recommending_unit_id == unit_id,
                orm.Application.is_current.is_(True),
                orm.Application.batch_id != keep_batch_id,
                orm.Application.state == ProjectState.RETURNED.value,
            )
            .values(is_current=False)
            .execution_options(synchronize_session="fetch")
        )

    def add_findings(self, rows: list[dict[str, Any]]) -> None:
        """Store application findings (plain rows) in one multi-row insert."""
        if rows:
            self.session.execute(insert(orm.ApplicationFinding), rows)

    def add_people(self, rows: list[dict[str, Any]]) -> None:
        """Store project people (plain rows) in one multi-row insert."""
        if rows:
            self.session.execute(insert(orm.ProjectPerson), rows)

    def batch_applications(self, batch_id: int) -> Sequence[orm.Application]:
        """The applications of one batch, in the order they were stored."""
        return self.session.scalars(
            select(orm.Application)
            .where(orm.Application.batch_id == batch_id)
            .order_by(orm.Application.id)
        ).all()

    def batch_statuses(self, campaign_id: int) -> list[tuple[int, str]]:
        """(recommending unit id, status) of every batch received for the campaign."""
        batch = orm.SubmissionBatch
        rows = self.session.execute(
            select(batch.recommending_unit_id, batch.status).where(batch.campaign_id == campaign_id)
        ).all()
        return [(unit, status) for unit, status in rows]
