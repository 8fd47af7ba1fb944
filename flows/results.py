"""Stage 提交成果 as a flow: reminders before the deadline, the close at the deadline.

Submissions and withdrawals arrive through `tasks.results.submit_results` / `withdraw`
(`qcamp results submit|withdraw`)."""

from __future__ import annotations

from prefect import flow

from domain.reminders import reminder_due
from flows.stage import legacy_body, run_stage, stage_run_name
from services.context import CampaignContext, StageReport
from tasks.results import STAGE, close_results, results_status, send_reminders


def results_due(ctx: CampaignContext) -> bool:
    """Whether a run has anything to do: a reminder day (T-14/T-7/T-3/T-1) or the close.
    Submissions and withdrawals do not wait for a run: they are recorded when they arrive."""
    cal = ctx.calendar
    if ctx.is_due(cal.results_deadline):
        return True
    return reminder_due(cal.results_deadline, ctx.now, ctx.rules.reminder_days) is not None


def results_body(ctx: CampaignContext, outcome: StageReport) -> None:
    if not ctx.is_due(ctx.calendar.results_window_opens):
        outcome.waiting.append("成果提交窗口尚未开放")
        return
    if ctx.is_due(ctx.calendar.results_deadline):
        close_results(ctx, outcome)
        outcome.complete = True
    else:
        send_reminders(ctx, outcome)
    results_status(ctx, outcome)


@flow(name="results-stage", flow_run_name=stage_run_name("results"), log_prints=True)
def results_stage(year: int, as_of: str | None = None) -> StageReport:
    """提交成果: reminders to units that owe results, and the close at the deadline."""
    return run_stage(STAGE, year, as_of, legacy_body(STAGE, results_body))
