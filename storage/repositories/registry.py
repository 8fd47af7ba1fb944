"""名录: recommending units, applicant units, past excellent results, the expert pool."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select

from domain.models import PastResult
from storage import orm
from storage.repositories.base import Repository

CHUNK = 500  # codes per IN (…) query


class RegistryRepository(Repository):
    """Queries of 名录."""

    def applicant_units(self, usccs: Iterable[str]) -> dict[str, orm.ApplicantUnit]:
        """The applicant units already registered under these USCCs, by USCC."""
        found: dict[str, orm.ApplicantUnit] = {}
        codes = sorted(usccs)
        for i in range(0, len(codes), CHUNK):
            chunk = codes[i : i + CHUNK]
            for unit in self.session.scalars(
                select(orm.ApplicantUnit).where(orm.ApplicantUnit.uscc.in_(chunk))
            ):
                found[unit.uscc] = unit
        return found

    def past_results_version(self) -> tuple[str, int, int]:
        """What identifies the stored past results: (database, count, highest id)."""
        count, max_id = self.session.execute(
            select(func.count(orm.PastExcellentResult.id), func.max(orm.PastExcellentResult.id))
        ).one()
        return str(self.session.get_bind().url), count or 0, max_id or 0

    def past_results(self) -> list[PastResult]:
        """Every past excellent result (about 20,000), read as plain columns, in id order."""
        r = orm.PastExcellentResult
        rows = self.session.execute(select(r.year, r.title, r.unit, r.abstract).order_by(r.id))
        return [PastResult(year=y, title=t, unit=u, abstract=a) for y, t, u, a in rows]

    def add_past_results(self, results: Iterable[PastResult]) -> int:
        """Add results to the past-results base, skipping those already there (same year, title
        and unit); returns how many were added. Inside the caller's transaction."""
        r = orm.PastExcellentResult
        added = 0
        known: dict[int, set[tuple[str, str]]] = {}
        for result in results:
            if result.year not in known:
                rows = self.session.execute(select(r.title, r.unit).where(r.year == result.year))
                known[result.year] = {(t, u) for t, u in rows}
            if (result.title, result.unit) in known[result.year]:
                continue
            known[result.year].add((result.title, result.unit))
            self.session.add(
                r(year=result.year, title=result.title, unit=result.unit, abstract=result.abstract)
            )
            added += 1
        return added

    def past_results_of(self, year: int | None = None) -> list[PastResult]:
        """The past-results base (of one year), by year and title."""
        r = orm.PastExcellentResult
        query = select(r.year, r.title, r.unit, r.abstract).order_by(r.year, r.title, r.id)
        if year is not None:
            query = query.where(r.year == year)
        rows = self.session.execute(query)
        return [PastResult(year=y, title=t, unit=u, abstract=a) for y, t, u, a in rows]

    def past_result_keys(self) -> set[tuple[int, str, str]]:
        """(year, title, unit) of every stored past excellent result."""
        r = orm.PastExcellentResult
        return {(y, t, u) for y, t, u in self.session.execute(select(r.year, r.title, r.unit))}
