"""公示公布 and 宣传推广: public notices, objections, certificates, the exchange meeting."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from domain.publicity import UPHELD
from storage import orm
from storage.repositories.base import Repository


class PublicityRepository(Repository):
    """Queries of 公示公布 and 宣传推广."""

    def notice(self, campaign_id: int, kind: str) -> orm.PublicNotice | None:
        """The campaign's 公示 (`publicity`) or 公布 (`publication`), once posted."""
        return self.session.scalar(
            select(orm.PublicNotice).where(
                orm.PublicNotice.campaign_id == campaign_id, orm.PublicNotice.kind == kind
            )
        )

    def scores_of(self, application_ids: Sequence[int]) -> dict[int, orm.ResultScore]:
        """The evaluated scores and ranks of these results, by project id."""
        return {
            s.application_id: s
            for s in self.session.scalars(
                select(orm.ResultScore).where(
                    orm.ResultScore.application_id.in_(list(application_ids))
                )
            )
        }

    def objection(self, objection_id: int) -> orm.Objection | None:
        """One objection by its number."""
        return self.session.get(orm.Objection, objection_id)

    def open_objections(self, campaign_id: int) -> list[orm.Objection]:
        """The campaign's objections not yet resolved, oldest first."""
        return list(
            self.session.scalars(
                select(orm.Objection)
                .where(orm.Objection.campaign_id == campaign_id, orm.Objection.outcome.is_(None))
                .order_by(orm.Objection.id)
            )
        )

    def upheld_objections(self, campaign_id: int) -> list[orm.Objection]:
        """The campaign's objections found justified (异议成立)."""
        return list(
            self.session.scalars(
                select(orm.Objection).where(
                    orm.Objection.campaign_id == campaign_id, orm.Objection.outcome == UPHELD
                )
            )
        )

    def settled_objections(self, campaign_id: int) -> list[orm.Objection]:
        """The campaign's objections with an outcome (upheld or dismissed)."""
        return list(
            self.session.scalars(
                select(orm.Objection).where(
                    orm.Objection.campaign_id == campaign_id, orm.Objection.outcome.is_not(None)
                )
            )
        )

    def certificates(self, campaign_id: int) -> Sequence[orm.Certificate]:
        """The campaign's certificates in serial order."""
        return self.session.scalars(
            select(orm.Certificate)
            .where(orm.Certificate.campaign_id == campaign_id)
            .order_by(orm.Certificate.serial)
        ).all()
