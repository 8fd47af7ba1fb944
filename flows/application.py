"""Stage 1 项目申报 as a flow."""

from __future__ import annotations

from prefect import flow

from flows.stage import run_stage, stage_run_name
from tasks.application import close_applications, publish_call, send_reminders, take_inbox
from tasks.context import CampaignContext, StageOutcome


def application_body(ctx: CampaignContext, outcome: StageOutcome) -> None:
    if not ctx.is_due(ctx.calendar.call_published):
        outcome.waiting.append("征集通知尚未到发布时间")
        return
    publish_call(ctx, outcome)
    take_inbox(ctx, outcome)
    if not ctx.is_due(ctx.calendar.application_deadline):
        send_reminders(ctx, outcome)
    close_applications(ctx, outcome)


@flow(name="application-stage", flow_run_name=stage_run_name("application"), log_prints=True)
def application_stage(year: int, as_of: str | None = None) -> StageOutcome:
    """项目申报: the call, reminders, intake of arrived batches, and the close of the window."""
    return run_stage("application", year, as_of, application_body)
