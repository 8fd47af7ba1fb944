"""项目实施: check-in requests and returned progress reports (进度报告)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import selectinload

from domain.states import ProjectState
from storage import orm
from storage.repositories.base import Repository


class ImplementationRepository(Repository):
    """Queries of 项目实施."""

    def projects_asked(self, period: str) -> set[int]:
        """The projects already asked for a report of `period`."""
        return set(
            self.session.scalars(
                select(orm.CheckIn.application_id).where(orm.CheckIn.period == period)
            )
        )

    def project_numbers(self, campaign_id: int) -> list[tuple[int, str | None]]:
        """(id, plan number) of the campaign's current projects."""
        rows = self.session.execute(
            select(orm.Application.id, orm.Application.plan_number).where(
                orm.Application.campaign_id == campaign_id,
                orm.Application.is_current.is_(True),
            )
        ).all()
        return [(app_id, plan) for app_id, plan in rows]

    def checkins(
        self, application_ids: Collection[int], periods: Collection[str]
    ) -> Sequence[orm.CheckIn]:
        """The check-ins of these projects for these periods."""
        return self.session.scalars(
            select(orm.CheckIn).where(
                orm.CheckIn.application_id.in_(sorted(application_ids)),
                orm.CheckIn.period.in_(sorted(periods)),
            )
        ).all()

    def overdue(self, campaign_id: int, period: str) -> dict[int, dt.datetime]:
        """Projects in progress whose report of `period` is not in: {id: due time}, in the
        order they were asked."""
        rows = self.session.execute(
            select(orm.CheckIn.application_id, orm.CheckIn.due_at)
            .join(orm.Application)
            .where(
                orm.Application.campaign_id == campaign_id,
                orm.Application.state == ProjectState.IN_PROGRESS.value,
                orm.CheckIn.period == period,
                orm.CheckIn.submitted_at.is_(None),
            )
            .order_by(orm.CheckIn.id)
        )
        return {app_id: due for app_id, due in rows}

    def projects_with_people(self, application_ids: Collection[int]) -> dict[int, orm.Application]:
        """These projects by id, with their people and recommending unit loaded."""
        apps = self.session.scalars(
            select(orm.Application)
            .where(orm.Application.id.in_(sorted(application_ids)))
            .options(
                selectinload(orm.Application.people),
                selectinload(orm.Application.recommending_unit),
            )
        )
        return {a.id: a for a in apps}

    def reported(self, application_ids: Collection[int]) -> dict[int, dict[str, bool]]:
        """Per project and period asked: whether its report is in."""
        submitted: dict[int, dict[str, bool]] = {}
        for app_id, period, at in self.session.execute(
            select(orm.CheckIn.application_id, orm.CheckIn.period, orm.CheckIn.submitted_at).where(
                orm.CheckIn.application_id.in_(sorted(application_ids))
            )
        ):
            submitted.setdefault(app_id, {})[period] = at is not None
        return submitted

    def projects_in_progress(self, campaign_id: int) -> list[tuple[int, str | None, str, str]]:
        """(id, plan number, title, recommending unit's name) of the projects in progress."""
        rows = self.session.execute(
            select(
                orm.Application.id,
                orm.Application.plan_number,
                orm.Application.title,
                orm.RecommendingUnit.name,
            )
            .join(orm.RecommendingUnit)
            .where(
                orm.Application.campaign_id == campaign_id,
                orm.Application.is_current.is_(True),
                orm.Application.state == ProjectState.IN_PROGRESS.value,
            )
            .order_by(orm.Application.id)
        ).all()
        return [(app_id, plan, title, unit) for app_id, plan, title, unit in rows]

    def progress(self, campaign_id: int) -> dict[int, dict[str, float | None]]:
        """Per project in progress and period asked: the reported percentage (0 when reported
        without one), None when not reported."""
        by_app: dict[int, dict[str, float | None]] = {}
        for app_id, period, percent, submitted_at in self.session.execute(
            select(
                orm.CheckIn.application_id,
                orm.CheckIn.period,
                orm.CheckIn.percent_done,
                orm.CheckIn.submitted_at,
            )
            .join(orm.Application)
            .where(
                orm.Application.campaign_id == campaign_id,
                orm.Application.state == ProjectState.IN_PROGRESS.value,
            )
        ):
            value = (percent or 0.0) if submitted_at is not None else None
            by_app.setdefault(app_id, {})[period] = value
        return by_app

    def totals(self, campaign_id: int, now: dt.datetime) -> tuple[int, int, int, int]:
        """(asked, reported, reported late, missing past due at `now`), counted by the database."""
        asked, reported, late, missing = self.session.execute(
            select(
                func.count(),
                func.count(orm.CheckIn.submitted_at),
                func.sum(case((orm.CheckIn.submitted_at > orm.CheckIn.due_at, 1), else_=0)),
                func.sum(
                    case(
                        (
                            and_(
                                orm.CheckIn.submitted_at.is_(None),
                                orm.CheckIn.due_at < now,
                            ),
                            1,
                        ),
                        else_=0,
                    )
                ),
            )
            .select_from(orm.CheckIn)
            .join(orm.Application)
            .where(orm.Application.campaign_id == campaign_id)
        ).one()
        return asked, reported, late or 0, missing or 0
