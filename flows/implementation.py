"""Stage 项目实施 as a flow: monthly progress reports, overdue reminders and escalation."""

from __future__ import annotations

from prefect import flow

from flows.stage import run_stage, stage_run_name
from tasks.context import CampaignContext, StageOutcome
from tasks.implementation import (
    STAGE,
    chase_overdue,
    implementation_status,
    request_checkins,
    request_day,
)


def implementation_body(ctx: CampaignContext, outcome: StageOutcome) -> None:
    for period in ctx.calendar.checkin_periods():
        if not ctx.is_due(request_day(period)):
            break
        request_checkins(ctx, outcome, period)
        chase_overdue(ctx, outcome, period)
    implementation_status(ctx, outcome)


@flow(name="implementation-stage", flow_run_name=stage_run_name("implementation"), log_prints=True)
def implementation_stage(year: int, as_of: str | None = None) -> StageOutcome:
    """项目实施: a progress report per project each period; overdue → reminder → escalation."""
    return run_stage(STAGE, year, as_of, implementation_body)
