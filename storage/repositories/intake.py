"""申报受理: submission batches, applications as received, their findings."""

from __future__ import annotations

from storage.repositories.base import Repository


class IntakeRepository(Repository):
    """Queries of 申报受理."""
