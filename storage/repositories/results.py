"""提交成果: result submissions and withdrawals."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import defer, joinedload

from domain.states import ProjectState
from storage import orm
from storage.repositories.base import Repository

CHUNK = 500  # ids per IN (...) list


class ResultsRepository(Repository):
    """Queries of 提交成果."""

    @staticmethod
    def _projects(campaign_id: int) -> Select[tuple[orm.Application]]:
        return (
            select(orm.Application)
            .where(orm.Application.campaign_id == campaign_id, orm.Application.is_current.is_(True))
            # The unit is always told: load it with the project, not in a second query; the
            # stored form is not needed here.
            .options(joinedload(orm.Application.recommending_unit), defer(orm.Application.form))
        )

    def project(self, campaign_id: int, key: str) -> orm.Application | None:
        """The campaign's current application with this record id (digits) or plan number."""
        query = self._projects(campaign_id)
        if key.isdigit():
            return self.session.scalar(query.where(orm.Application.id == int(key)))
        return self.session.scalar(query.where(orm.Application.plan_number == key))

    def projects(
        self, campaign_id: int, ids: Sequence[int], plan_numbers: Sequence[str]
    ) -> list[orm.Application]:
        """The campaign's current applications with these record ids or plan numbers
        (one query per 500 of each)."""
        found: list[orm.Application] = []
        for column, values in (
            (orm.Application.id, list(ids)),
            (orm.Application.plan_number, list(plan_numbers)),
        ):
            for start in range(0, len(values), CHUNK):
                query = self._projects(campaign_id).where(column.in_(values[start : start + CHUNK]))
                found.extend(self.session.scalars(query).unique())
        return found

    def submission(self, application_id: int) -> orm.ResultSubmission | None:
        """A project's result submission, if any arrived."""
        return self.session.scalar(
            select(orm.ResultSubmission).where(
                orm.ResultSubmission.application_id == application_id
            )
        )

    def submissions_of(self, application_ids: Sequence[int]) -> dict[int, orm.ResultSubmission]:
        """The submissions of these projects, by project id (one query per 500 ids)."""
        ids = list(application_ids)
        rows: dict[int, orm.ResultSubmission] = {}
        for start in range(0, len(ids), CHUNK):
            for row in self.session.scalars(
                select(orm.ResultSubmission).where(
                    orm.ResultSubmission.application_id.in_(ids[start : start + CHUNK])
                )
            ):
                rows[row.application_id] = row
        return rows

    def campaign_submissions(self, campaign_id: int) -> Sequence[orm.ResultSubmission]:
        """Every result submission of the campaign's projects."""
        return self.session.scalars(
            select(orm.ResultSubmission)
            .join(orm.Application)
            .where(orm.Application.campaign_id == campaign_id)
        ).all()

    def plan_state_counts(self, campaign_id: int) -> dict[str, int]:
        """How many current projects are in each state; withdrawn counts only projects of the
        plan, not withdrawn applications."""
        rows = self.session.execute(
            select(orm.Application.state, func.count(orm.Application.id))
            .where(
                orm.Application.campaign_id == campaign_id,
                orm.Application.is_current.is_(True),
                or_(
                    orm.Application.state != ProjectState.WITHDRAWN.value,
                    orm.Application.plan_number.is_not(None),
                ),
            )
            .group_by(orm.Application.state)
        ).all()
        return {state: n for state, n in rows}
