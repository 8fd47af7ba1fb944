"""项目实施: check-in requests and returned progress reports (进度报告)."""

from __future__ import annotations

from storage.repositories.base import Repository


class ImplementationRepository(Repository):
    """Queries of 项目实施."""
