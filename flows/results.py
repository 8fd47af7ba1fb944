"""Stage 提交成果 as a flow: reminders before the deadline, the close at the deadline.

Submissions and withdrawals arrive through `services.results.submit_results` / `withdraw`
(`qcamp results submit|withdraw`)."""

from __future__ import annotations

from prefect import flow

from flows.failures import notify_admins
from flows.stage import StepRunner, orchestrated, run_stage, stage_run_name
from services.context import CampaignContext, StageReport
from services.results import STAGE
from tasks.results import close_results, results_status, send_reminders


def results_body(ctx: CampaignContext, *, run: StepRunner = orchestrated) -> StageReport:
    report = StageReport.start(STAGE, ctx)
    if not ctx.is_due(ctx.calendar.results_window_opens):
        report.waiting.append("成果提交窗口尚未开放")
        return report
    if ctx.is_due(ctx.calendar.results_deadline):
        report = report.merge(run(close_results, ctx))
        report.complete = True
    else:
        report = report.merge(run(send_reminders, ctx))
    return report.merge(run(results_status, ctx))


@flow(
    name="results-stage",
    flow_run_name=stage_run_name("results"),
    log_prints=True,
    on_failure=[notify_admins],
)
def results_stage(year: int, as_of: str | None = None) -> StageReport:
    """提交成果: reminders to units that owe results, and the close at the deadline."""
    return run_stage(STAGE, year, as_of, results_body)
