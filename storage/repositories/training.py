"""宣贯培训: training sessions, seat assignments, attendance."""

from __future__ import annotations

from storage.repositories.base import Repository


class TrainingRepository(Repository):
    """Queries of 宣贯培训."""
