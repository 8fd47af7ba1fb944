"""截止后例外: the recorded permissions to hand in a stage's material after its deadline."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from storage import orm
from storage.repositories.base import Repository


class ExceptionsRepository(Repository):
    """Queries of the deadline exceptions."""

    def all(self, campaign_id: int) -> Sequence[orm.DeadlineException]:
        """Every exception of the campaign, granted or revoked, in the order granted."""
        return self.session.scalars(
            select(orm.DeadlineException)
            .where(orm.DeadlineException.campaign_id == campaign_id)
            .order_by(orm.DeadlineException.id)
        ).all()

    def get(self, campaign_id: int, exception_id: int) -> orm.DeadlineException | None:
        return self.session.scalar(
            select(orm.DeadlineException).where(
                orm.DeadlineException.campaign_id == campaign_id,
                orm.DeadlineException.id == exception_id,
            )
        )

    def in_force(
        self, campaign_id: int, unit_id: int, stage: str
    ) -> Sequence[orm.DeadlineException]:
        """The unit's exceptions for `stage` that were not revoked, latest time allowed first."""
        return self.session.scalars(
            select(orm.DeadlineException)
            .where(
                orm.DeadlineException.campaign_id == campaign_id,
                orm.DeadlineException.recommending_unit_id == unit_id,
                orm.DeadlineException.stage == stage,
                orm.DeadlineException.revoked_at.is_(None),
            )
            .order_by(orm.DeadlineException.until.desc(), orm.DeadlineException.id)
        ).all()
