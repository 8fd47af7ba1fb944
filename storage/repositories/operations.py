"""经办记录: who imported or changed what, for the changes that move no project state."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from storage import orm
from storage.repositories.base import Repository


class OperationsRepository(Repository):
    """The operations log."""

    def record(
        self, campaign_id: int | None, *, action: str, actor: str, detail: dict[str, Any]
    ) -> None:
        self.session.add(
            orm.OperatorAction(
                campaign_id=campaign_id, action=action, actor=actor, at=orm.utcnow(), detail=detail
            )
        )

    def recent(self, limit: int = 100) -> Sequence[orm.OperatorAction]:
        """The latest actions, newest first."""
        return self.session.scalars(
            select(orm.OperatorAction).order_by(orm.OperatorAction.id.desc()).limit(limit)
        ).all()
