"""The campaign starts the calendar-driven stages (项目实施, 跟踪服务, 提交成果) only on runs where
something of theirs is due: no empty subflow runs between two due points, and nothing due skipped.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from domain.calendar import SHANGHAI
from domain.states import ProjectState
from flows.follow_up import follow_up_body, follow_up_due
from flows.implementation import implementation_body, implementation_due
from flows.results import results_due
from services.context import StageReport
from storage import orm
from storage.uow import UnitOfWork
from tests.stages.factory import context, seed


def run(body, stage: str, as_of: str) -> StageReport:  # noqa: ANN001
    ctx = context(as_of)
    outcome = StageReport(stage=stage, as_of=ctx.now)
    body(ctx, outcome)
    return outcome


def overdue_reminders() -> int:
    with UnitOfWork() as uow:
        return uow.session.scalar(
            select(func.count())
            .select_from(orm.NotificationRecord)
            .where(orm.NotificationRecord.event == "checkin_overdue")
        )


def test_implementation_runs_on_request_and_chasing_days_only() -> None:
    seed(4, n_units=2, state=ProjectState.IN_PROGRESS)
    assert not implementation_due(context("2025-06-30"))  # the first request is on 07-01
    assert implementation_due(context("2025-07-01"))
    run(implementation_body, "implementation", "2025-07-01")
    # requested; the reports are due 07-11: nothing to do in between
    assert not implementation_due(context("2025-07-05"))
    assert not implementation_due(context("2025-07-11 12:00"))
    # overdue: reminders, then escalation; due on every run until the period is closed
    assert implementation_due(context("2025-07-12"))
    run(implementation_body, "implementation", "2025-07-12")
    assert overdue_reminders() == 4
    assert implementation_due(context("2025-07-14"))
    run(implementation_body, "implementation", "2025-07-17")
    assert not implementation_due(context("2025-07-20"))
    assert implementation_due(context("2025-08-01"))  # the next period's requests


def test_implementation_due_to_close_after_the_last_escalation() -> None:
    seed(2, n_units=1, state=ProjectState.IN_PROGRESS)
    ctx = context("2025-12-31")
    assert implementation_due(ctx)


def test_follow_up_runs_when_a_coverage_report_is_due() -> None:
    seed(4, n_units=2, state=ProjectState.IN_PROGRESS)
    assert not follow_up_due(context("2025-06-30"))
    assert follow_up_due(context("2025-07-01"))
    done = run(follow_up_body, "follow_up", "2025-07-01")
    assert any("走访覆盖情况" in d for d in done.done)
    assert not follow_up_due(context("2025-07-02"))
    assert follow_up_due(context("2025-08-01"))


def test_results_runs_on_reminder_days_and_at_the_deadline() -> None:
    ctx = context("2025-09-01")
    deadline = ctx.calendar.results_deadline.astimezone(SHANGHAI)
    assert not results_due(ctx)  # T-29: no reminder due
    assert results_due(context(deadline - dt.timedelta(days=14)))
    assert results_due(context(deadline + dt.timedelta(minutes=1)))
