"""公示公布 and 宣传推广: public notices, objections, certificates, the exchange meeting."""

from __future__ import annotations

from storage.repositories.base import Repository


class PublicityRepository(Repository):
    """Queries of 公示公布 and 宣传推广."""
