"""Stage 1 项目申报 as a flow."""

from __future__ import annotations

from prefect import flow

from flows.stage import legacy_body, run_stage, stage_run_name
from services.context import CampaignContext, StageReport
from tasks.application import close_applications, publish_call, send_reminders, take_inbox


def application_body(ctx: CampaignContext, outcome: StageReport) -> None:
    if not ctx.is_due(ctx.calendar.call_published):
        outcome.waiting.append("征集通知尚未到发布时间")
        return
    publish_call(ctx, outcome)
    take_inbox(ctx, outcome)
    if not ctx.is_due(ctx.calendar.application_deadline):
        send_reminders(ctx, outcome)
    close_applications(ctx, outcome)


@flow(name="application-stage", flow_run_name=stage_run_name("application"), log_prints=True)
def application_stage(year: int, as_of: str | None = None) -> StageReport:
    """项目申报: the call, reminders, intake of arrived batches, and the close of the window."""
    return run_stage("application", year, as_of, legacy_body("application", application_body))
