"""成果评定: expert panels, score sheets, scores and the excellent list."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import select

from domain.evaluation import EXCELLENT_DECISION
from storage import orm
from storage.repositories.base import Repository


class EvaluationRepository(Repository):
    """Queries of 成果评定."""

    # the expert pool --------------------------------------------------------------------------
    def experts(self, keys: Collection[str] | None = None) -> Sequence[orm.Expert]:
        """The pool's experts (only those of `keys` when given), in key order."""
        query = select(orm.Expert).order_by(orm.Expert.key)
        if keys is not None:
            query = query.where(orm.Expert.key.in_(list(keys)))
        return self.session.scalars(query).all()

    def expert(self, key: str) -> orm.Expert | None:
        """One expert of the pool by key."""
        return self.session.scalar(select(orm.Expert).where(orm.Expert.key == key))

    def expert_names(self) -> dict[str, str]:
        """Every expert's name by key."""
        return {k: n for k, n in self.session.execute(select(orm.Expert.key, orm.Expert.name))}

    # panels -----------------------------------------------------------------------------------
    def panels(self, campaign_id: int) -> Sequence[orm.ExpertPanel]:
        """The campaign's panels in key order."""
        return self.session.scalars(
            select(orm.ExpertPanel)
            .where(orm.ExpertPanel.campaign_id == campaign_id)
            .order_by(orm.ExpertPanel.key)
        ).all()

    def panel(self, campaign_id: int, key: str) -> orm.ExpertPanel | None:
        """One panel of the campaign by key (P001)."""
        return self.session.scalar(
            select(orm.ExpertPanel).where(
                orm.ExpertPanel.campaign_id == campaign_id, orm.ExpertPanel.key == key
            )
        )

    def panel_applications(self, panel: orm.ExpertPanel) -> Sequence[orm.Application]:
        """The applications a panel scores."""
        return self.session.scalars(
            select(orm.Application).where(orm.Application.id.in_(panel.application_ids))
        ).all()

    # scores -----------------------------------------------------------------------------------
    def has_scored(self, panel_id: int, expert_key: str) -> bool:
        """Whether an expert has any score stored on a panel."""
        return (
            self.session.scalar(
                select(orm.PanelScore.id).where(
                    orm.PanelScore.panel_id == panel_id, orm.PanelScore.expert_key == expert_key
                )
            )
            is not None
        )

    def panel_scores(self, panel_id: int) -> dict[tuple[str, int], orm.PanelScore]:
        """A panel's stored scores by (expert key, application id)."""
        return {
            (s.expert_key, s.application_id): s
            for s in self.session.scalars(
                select(orm.PanelScore).where(orm.PanelScore.panel_id == panel_id)
            )
        }

    def scores_per_expert(self, campaign_id: int) -> dict[int, dict[str, int]]:
        """How many results each expert has scored, per panel id, over the campaign's panels."""
        have: dict[int, dict[str, int]] = {}
        for panel_id, expert_key in self.session.execute(
            select(orm.PanelScore.panel_id, orm.PanelScore.expert_key)
            .join(orm.ExpertPanel, orm.ExpertPanel.id == orm.PanelScore.panel_id)
            .where(orm.ExpertPanel.campaign_id == campaign_id)
        ):
            per = have.setdefault(panel_id, {})
            per[expert_key] = per.get(expert_key, 0) + 1
        return have

    def score_rows(self, panel_ids: Collection[int]) -> list[tuple[int, int, str, dict[str, Any]]]:
        """`(panel id, application id, expert key, scores)` of every score on those panels."""
        rows = self.session.execute(
            select(
                orm.PanelScore.panel_id,
                orm.PanelScore.application_id,
                orm.PanelScore.expert_key,
                orm.PanelScore.scores,
            ).where(orm.PanelScore.panel_id.in_(list(panel_ids)))
        ).all()
        return [(p, a, e, s) for p, a, e, s in rows]

    def result_scores(self, application_ids: Collection[int]) -> dict[int, orm.ResultScore]:
        """The stored result scores of those applications, by application id."""
        return {
            r.application_id: r
            for r in self.session.scalars(
                select(orm.ResultScore).where(
                    orm.ResultScore.application_id.in_(list(application_ids))
                )
            )
        }

    def scored_results(self, campaign_id: int) -> list[tuple[orm.Application, orm.ResultScore]]:
        """The campaign's current applications with their result score, in rank order."""
        rows = self.session.execute(
            select(orm.Application, orm.ResultScore)
            .join(orm.ResultScore, orm.ResultScore.application_id == orm.Application.id)
            .where(orm.Application.campaign_id == campaign_id, orm.Application.is_current)
            .order_by(orm.ResultScore.rank)
        ).all()
        return [(a, s) for a, s in rows]

    # decisions --------------------------------------------------------------------------------
    def decisions(self, campaign_id: int, kind: str) -> dict[int, orm.Decision]:
        """The staff's decisions of one kind (e.g. a project's kind), by application id."""
        return {
            d.application_id: d
            for d in self.session.scalars(
                select(orm.Decision).where(
                    orm.Decision.campaign_id == campaign_id, orm.Decision.kind == kind
                )
            )
        }

    def excellent_decisions(self, campaign_id: int) -> dict[int, orm.Decision]:
        """The staff's decisions on the excellent list, by application id."""
        return {
            d.application_id: d
            for d in self.session.scalars(
                select(orm.Decision).where(
                    orm.Decision.campaign_id == campaign_id, orm.Decision.kind == EXCELLENT_DECISION
                )
            )
        }
