"""立项审核: approval decisions and the project plan."""

from __future__ import annotations

from storage.repositories.base import Repository


class AuditRepository(Repository):
    """Queries of 立项审核."""
