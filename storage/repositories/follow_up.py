"""跟踪服务: the recommending units' follow-up visits (走访记录)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable

from sqlalchemy import select

from domain.states import ProjectState
from domain.visits import VisitedProject
from storage import orm
from storage.repositories.base import Repository


class FollowUpRepository(Repository):
    """Queries of 跟踪服务."""

    def projects_to_visit(
        self,
        campaign_id: int,
        states: Iterable[ProjectState],
        *,
        plans: Collection[str] | None = None,
    ) -> list[VisitedProject]:
        """The current projects in `states`, as plain columns in id order (no ORM objects: the
        visit import runs once per file, hundreds of times a campaign). With `plans`: only
        those plan numbers."""
        query = (
            select(
                orm.Application.id,
                orm.Application.plan_number,
                orm.Application.title,
                orm.RecommendingUnit.name,
            )
            .join(
                orm.RecommendingUnit,
                orm.Application.recommending_unit_id == orm.RecommendingUnit.id,
            )
            .where(
                orm.Application.campaign_id == campaign_id,
                orm.Application.is_current.is_(True),
                orm.Application.state.in_([s.value for s in states]),
            )
            .order_by(orm.Application.id)
        )
        if plans is not None:
            query = query.where(orm.Application.plan_number.in_(sorted(plans)))
        return [VisitedProject(*row) for row in self.session.execute(query)]

    def visits_known(self, application_ids: Collection[int]) -> set[tuple[int, dt.date, str]]:
        """(project, day, visitor) of the visits already stored for these projects."""
        rows = self.session.execute(
            select(
                orm.FollowUpVisit.application_id,
                orm.FollowUpVisit.visited_on,
                orm.FollowUpVisit.visitor,
            ).where(orm.FollowUpVisit.application_id.in_(sorted(application_ids)))
        )
        return {(app_id, day, visitor) for app_id, day, visitor in rows}

    def visit_days(self, campaign_id: int, until: dt.date) -> dict[int, list[dt.date]]:
        """Per project of the campaign: the days it was visited, up to `until`."""
        by_app: dict[int, list[dt.date]] = {}
        for app_id, visited_on in self.session.execute(
            select(orm.FollowUpVisit.application_id, orm.FollowUpVisit.visited_on)
            .join(orm.Application)
            .where(
                orm.Application.campaign_id == campaign_id,
                orm.FollowUpVisit.visited_on <= until,
            )
        ):
            by_app.setdefault(app_id, []).append(visited_on)
        return by_app
