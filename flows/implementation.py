"""Stage 项目实施 as a flow: monthly progress reports, overdue reminders and escalation."""

from __future__ import annotations

from prefect import flow

from flows.stage import done_steps, legacy_body, run_stage, stage_run_name
from services.context import CampaignContext, StageReport
from tasks.implementation import (
    STAGE,
    chase_overdue,
    due_at,
    escalate_at,
    implementation_status,
    request_checkins,
    request_day,
)


def due_work(ctx: CampaignContext) -> list[tuple[str, bool, bool]]:
    """(period, request due, chasing due) for each period with something left to do by now: its
    report requests not yet sent, or its overdue reports past due and not yet escalated."""
    done = done_steps(ctx, STAGE)
    work = []
    for period in ctx.calendar.checkin_periods():
        if not ctx.is_due(request_day(period)):
            break
        request = f"requested:{period}" not in done
        chase = ctx.now > due_at(ctx, period) and f"chased:{period}" not in done
        if request or chase:
            work.append((period, request, chase))
    return work


def implementation_due(ctx: CampaignContext) -> bool:
    """Whether a run has anything to do: requests, chasing, or the stage to close."""
    periods = ctx.calendar.checkin_periods()
    closing = bool(periods) and ctx.is_due(escalate_at(ctx, periods[-1]))
    return closing or bool(due_work(ctx))


def implementation_body(ctx: CampaignContext, outcome: StageReport) -> None:
    for period, request, chase in due_work(ctx):
        if request:
            request_checkins(ctx, outcome, period)
        if chase:
            chase_overdue(ctx, outcome, period)
    implementation_status(ctx, outcome)


@flow(name="implementation-stage", flow_run_name=stage_run_name("implementation"), log_prints=True)
def implementation_stage(year: int, as_of: str | None = None) -> StageReport:
    """项目实施: a progress report per project each period; overdue → reminder → escalation."""
    return run_stage(STAGE, year, as_of, legacy_body(STAGE, implementation_body))
