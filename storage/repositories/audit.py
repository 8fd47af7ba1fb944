"""立项审核: approval decisions and the project plan."""

from __future__ import annotations

from sqlalchemy import select

from domain.audit import APPROVAL
from storage import orm
from storage.repositories.base import Repository


class AuditRepository(Repository):
    """Queries of 立项审核."""

    def decided_application_ids(self, campaign_id: int) -> set[int]:
        """Ids of the applications that already have an approval decision."""
        return set(
            self.session.scalars(
                select(orm.Decision.application_id).where(
                    orm.Decision.campaign_id == campaign_id, orm.Decision.kind == APPROVAL
                )
            )
        )

    def approval_decisions(self, campaign_id: int) -> list[orm.Decision]:
        """The campaign's approval decisions, by application id."""
        return list(
            self.session.scalars(
                select(orm.Decision)
                .where(orm.Decision.campaign_id == campaign_id, orm.Decision.kind == APPROVAL)
                .order_by(orm.Decision.application_id)
            )
        )

    def plan_numbers_given(self, campaign_id: int) -> int:
        """How many of the campaign's applications already carry a 计划编号."""
        return len(
            self.session.scalars(
                select(orm.Application.plan_number).where(
                    orm.Application.campaign_id == campaign_id,
                    orm.Application.plan_number.is_not(None),
                )
            ).all()
        )
