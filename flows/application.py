"""Stage 1 项目申报 as a flow."""

from __future__ import annotations

from prefect import flow

from flows.failures import notify_admins
from flows.stage import StepRunner, orchestrated, run_stage, stage_run_name
from services.application import CALL_WAITING, STAGE, inbox_report
from services.context import CampaignContext, StageReport
from tasks.application import (
    close_applications,
    find_inbox_batches,
    intake_unit_batches,
    publish_call,
    send_reminders,
)


def take_inbox(ctx: CampaignContext, run: StepRunner = orchestrated) -> StageReport:
    """The batches waiting in the inbox: one task per recommending unit, one after another in
    the order the batches arrived. The check of this year's applications against each other
    then always sees the earlier one first (in parallel it depended on thread timing), and a
    rerun numbers everything alike."""
    pending = run(find_inbox_batches, ctx)
    results = [
        result
        for code, batches in pending.items()
        for result in run(intake_unit_batches, ctx, code, batches)
    ]
    return inbox_report(ctx, pending, results)


def application_body(ctx: CampaignContext, *, run: StepRunner = orchestrated) -> StageReport:
    report = StageReport.start(STAGE, ctx)
    if not ctx.is_due(ctx.calendar.call_published):
        report.waiting.append(CALL_WAITING)
        return report
    parts = [run(publish_call, ctx), take_inbox(ctx, run)]
    if not ctx.is_due(ctx.calendar.application_deadline):
        parts.append(run(send_reminders, ctx))
    parts.append(run(close_applications, ctx))
    return report.merge(*parts)


@flow(
    name="application-stage",
    flow_run_name=stage_run_name("application"),
    log_prints=True,
    on_failure=[notify_admins],
)
def application_stage(year: int, as_of: str | None = None) -> StageReport:
    """项目申报: the call, reminders, intake of arrived batches, and the close of the window."""
    return run_stage(STAGE, year, as_of, application_body)
