"""Stage 跟踪服务 as a flow: visit coverage per recommending unit at each period end and at the
results deadline (visits are imported with `qcamp visits import`)."""

from __future__ import annotations

import datetime as dt

from prefect import flow

from flows.stage import done_steps, legacy_body, run_stage, stage_run_name
from services.context import CampaignContext, StageReport
from tasks.follow_up import STAGE, coverage_report, follow_up_status, report_points


def due_reports(ctx: CampaignContext) -> list[tuple[str, str, dt.date | dt.datetime, dt.date]]:
    """The coverage reports due by now and not yet written."""
    done = done_steps(ctx, STAGE)
    return [p for p in report_points(ctx) if ctx.is_due(p[2]) and p[0] not in done]


def follow_up_due(ctx: CampaignContext) -> bool:
    """Whether a run has anything to do: a report to write, or the stage to close."""
    return ctx.is_due(ctx.calendar.results_deadline) or bool(due_reports(ctx))


def follow_up_body(ctx: CampaignContext, outcome: StageReport) -> None:
    for step, label, _due, until in due_reports(ctx):
        coverage_report(ctx, outcome, step, label, until)
    follow_up_status(ctx, outcome)
    outcome.complete = ctx.is_due(ctx.calendar.results_deadline)


@flow(name="follow-up-stage", flow_run_name=stage_run_name("follow_up"), log_prints=True)
def follow_up_stage(year: int, as_of: str | None = None) -> StageReport:
    """跟踪服务: coverage reports of the recommending units' visits."""
    return run_stage(STAGE, year, as_of, legacy_body(STAGE, follow_up_body))
