"""名录: recommending units, applicant units, past excellent results, the expert pool."""

from __future__ import annotations

from storage.repositories.base import Repository


class RegistryRepository(Repository):
    """Queries of 名录."""
