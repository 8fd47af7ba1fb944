"""提交成果: result submissions and withdrawals."""

from __future__ import annotations

from storage.repositories.base import Repository


class ResultsRepository(Repository):
    """Queries of 提交成果."""
