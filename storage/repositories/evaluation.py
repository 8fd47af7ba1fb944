"""成果评定: expert panels, score sheets, scores and the excellent list."""

from __future__ import annotations

from storage.repositories.base import Repository


class EvaluationRepository(Repository):
    """Queries of 成果评定."""
