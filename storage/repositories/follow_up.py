"""跟踪服务: the recommending units' follow-up visits (走访记录)."""

from __future__ import annotations

from storage.repositories.base import Repository


class FollowUpRepository(Repository):
    """Queries of 跟踪服务."""
