"""The repository's reads of applications: what they load, what a caller may read afterwards,
and that a list of applications costs a few queries however long it is (no query per row)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import event

from domain.states import ProjectState
from storage.db import get_engine
from storage.uow import UnitOfWork
from tests.stages.factory import context, seed


@contextmanager
def counted_queries() -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn, _cursor, statement, _params, _context, _many) -> None:  # noqa: ANN001
        statements.append(statement)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


@pytest.fixture
def campaign_id(database: str, campaign_dir: Path) -> int:
    seed(24, n_units=4, state=ProjectState.IN_PROGRESS)
    return context("2025-06-01").campaign_id


def test_units_and_asked_for_parts_are_readable_after_the_unit_of_work(campaign_id: int) -> None:
    with UnitOfWork() as uow:
        plain = uow.repo.applications(campaign_id)
    with UnitOfWork() as uow:
        full = uow.repo.applications(
            campaign_id, with_form=True, with_findings=True, with_people=True
        )
    assert len(plain) == len(full) == 24
    # The session is closed: what was loaded is all there is, and it must be what callers read.
    assert {a.recommending_unit.code for a in plain} == {"RU00", "RU01", "RU02", "RU03"}
    assert all(a.recommending_unit.id == a.recommending_unit_id for a in plain)
    assert {a.form["goal"] for a in full} == {"不良率由3%降至1%"}
    assert all(len(a.people) in (3, 4) and a.findings == [] for a in full)


def test_the_form_left_unloaded_is_still_read_inside_the_unit_of_work(campaign_id: int) -> None:
    with UnitOfWork() as uow:
        apps = uow.repo.applications(campaign_id)
        assert apps[0].form["recommendation_opinion"] == "同意推荐"  # loaded on demand
        # Asking again with the form fills it in for the rows the session already holds.
        again = uow.repo.applications(campaign_id, with_form=True)
        assert [a.id for a in again] == [a.id for a in apps]
        with counted_queries() as statements:
            assert all(a.form["goal"] == "不良率由3%降至1%" for a in again)
        assert statements == []


def test_a_list_of_applications_costs_the_same_queries_however_long(campaign_id: int) -> None:
    def queries_for_walking(state: ProjectState) -> tuple[int, int]:
        with counted_queries() as statements, UnitOfWork() as uow:
            apps = uow.repo.applications(
                campaign_id, [state], with_form=True, with_findings=True, with_people=True
            )
            for a in apps:
                _ = (
                    a.recommending_unit.name,
                    a.form["goal"],
                    a.findings,
                    [p.name for p in a.people],
                )
        return len(apps), len(statements)

    many, queries = queries_for_walking(ProjectState.IN_PROGRESS)
    ctx = context("2025-06-01")
    with UnitOfWork() as uow:
        for a in uow.repo.applications(campaign_id)[2:]:
            uow.repo.move(a, ProjectState.RESULTS_SUBMITTED, at=ctx.now, actor="test")
        uow.commit()
    assert queries_for_walking(ProjectState.IN_PROGRESS) == (2, queries)
    assert many == 24 and queries <= 5


def test_a_unit_changed_in_the_session_is_not_overwritten_by_a_later_read(
    campaign_id: int,
) -> None:
    with UnitOfWork() as uow:
        app = uow.repo.applications(campaign_id)[0]
        other = next(u for u in uow.repo.recommending_units() if u.id != app.recommending_unit_id)
        app.recommending_unit = other
        again = uow.repo.applications(campaign_id)[0]
        assert again is app and again.recommending_unit is other
        uow.commit()
    with UnitOfWork() as uow:
        assert uow.repo.applications(campaign_id)[0].recommending_unit.id == other.id


def test_counts_and_ids_come_from_the_database_as_the_rows_say(campaign_id: int) -> None:
    ctx = context("2025-06-01")
    with UnitOfWork() as uow:
        apps = uow.repo.applications(campaign_id)
        first, second = apps[0], apps[1]
        uow.repo.move(first, ProjectState.RESULTS_SUBMITTED, at=ctx.now, actor="test")
        second.is_current = False  # a superseded version is not counted
        uow.commit()
    with UnitOfWork() as uow:
        counts = uow.repo.state_counts(campaign_id)
        in_progress = uow.repo.application_ids(campaign_id, [ProjectState.IN_PROGRESS])
        everything = uow.repo.applications(campaign_id)
    assert sum(counts.values()) == len(everything) == 23
    assert counts[(first.recommending_unit_id, ProjectState.RESULTS_SUBMITTED.value)] == 1
    assert in_progress == [a.id for a in everything if a.state == ProjectState.IN_PROGRESS.value]
    assert first.id not in in_progress and second.id not in in_progress
    by_unit: dict[tuple[int, str], int] = {}
    for a in everything:
        key = (a.recommending_unit_id, a.state)
        by_unit[key] = by_unit.get(key, 0) + 1
    assert counts == by_unit
