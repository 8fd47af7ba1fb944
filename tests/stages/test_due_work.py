"""The campaign starts the calendar-driven stages (项目实施, 跟踪服务, 提交成果) only on runs where
something of theirs is due: no empty subflow runs between two due points, and nothing due skipped.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from domain.calendar import SHANGHAI
from domain.stages import has_due_work, is_open, results_due
from domain.states import ProjectState
from flows.follow_up import follow_up_stage
from flows.implementation import implementation_stage
from services.campaign import stage_due
from services.context import CampaignContext
from storage import orm
from storage.uow import UnitOfWork
from tests.stages.factory import context, seed
from tests.stages.test_implementation import follow_up_run, implementation_run


def due(stage: str, as_of: str) -> bool:
    return stage_due(UnitOfWork(), context(as_of), stage)


def overdue_reminders() -> int:
    with UnitOfWork() as uow:
        return uow.session.scalar(
            select(func.count())
            .select_from(orm.NotificationRecord)
            .where(orm.NotificationRecord.event == "checkin_overdue")
        )


def test_implementation_runs_on_request_and_chasing_days_only() -> None:
    seed(4, n_units=2, state=ProjectState.IN_PROGRESS)
    assert not due("implementation", "2025-06-30")  # the first request is on 07-01
    assert due("implementation", "2025-07-01")
    implementation_run(context("2025-07-01"))
    # requested; the reports are due 07-11: nothing to do in between
    assert not due("implementation", "2025-07-05")
    assert not due("implementation", "2025-07-11 12:00")
    # overdue: reminders, then escalation; due on every run until the period is closed
    assert due("implementation", "2025-07-12")
    implementation_run(context("2025-07-12"))
    assert overdue_reminders() == 4
    assert due("implementation", "2025-07-14")
    implementation_run(context("2025-07-17"))
    assert not due("implementation", "2025-07-20")
    assert due("implementation", "2025-08-01")  # the next period's requests


def test_implementation_due_to_close_after_the_last_escalation() -> None:
    seed(2, n_units=1, state=ProjectState.IN_PROGRESS)
    assert due("implementation", "2025-12-31")


def test_follow_up_runs_when_a_coverage_report_is_due() -> None:
    seed(4, n_units=2, state=ProjectState.IN_PROGRESS)
    assert not due("follow_up", "2025-06-30")
    assert due("follow_up", "2025-07-01")
    done = follow_up_run(context("2025-07-01"))
    assert any("走访覆盖情况" in d for d in done.done)
    assert not due("follow_up", "2025-07-02")
    assert due("follow_up", "2025-08-01")


def test_results_runs_on_reminder_days_and_at_the_deadline() -> None:
    def results(ctx: CampaignContext) -> bool:
        return results_due(ctx.config, ctx.now)

    ctx = context("2025-09-01")
    deadline = ctx.calendar.results_deadline.astimezone(SHANGHAI)
    assert not results(ctx)  # T-29: no reminder due
    assert results(context(deadline - dt.timedelta(days=14)))
    assert not results(context(deadline - dt.timedelta(days=14, minutes=1)))
    assert results(context(deadline - dt.timedelta(days=3)))
    assert results(context(deadline + dt.timedelta(minutes=1)))


def test_a_stage_opens_on_its_calendar_day_and_not_after_it_is_complete() -> None:
    ctx = context("2025-05-31")
    assert not is_open("implementation", ctx.calendar, ctx.now)  # checkins start 06-01
    assert is_open("implementation", ctx.calendar, context("2025-06-01").now)
    assert not has_due_work("implementation", ctx.config, context("2025-06-30").now, set())
    # not calendar-driven: runs whenever open, until complete
    assert has_due_work("audit", ctx.config, ctx.now, set())
    assert not has_due_work("audit", ctx.config, ctx.now, {"complete"})
    assert not has_due_work("publicity", ctx.config, ctx.now, set())


def test_the_stage_flows_run_their_services(prefect_api: None) -> None:
    """The flows as the campaign starts them: tasks over the services, one merged report."""
    seed(3, n_units=1, state=ProjectState.IN_PROGRESS)
    report = implementation_stage(year=2025, as_of="2025-07-01")
    assert report.done == ["发出2025年6月进度报告请求：3个项目，1个推荐单位"]
    assert report.counts["进度报告（已请求）"] == 3 and not report.complete
    coverage = follow_up_stage(year=2025, as_of="2025-07-01")
    assert any("0/3个项目已走访" in d for d in coverage.done)
    assert coverage.counts["项目数"] == 3
    with UnitOfWork() as uow:
        steps = {(s.stage, s.step) for s in uow.repo.steps(context("2025-07-01").campaign_id)}
    assert {("implementation", "requested:2025-06"), ("follow_up", "coverage:2025-06")} <= steps
