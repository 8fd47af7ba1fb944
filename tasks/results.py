"""Stage 6 提交成果 as Prefect tasks: each calls one service of `services.results` and returns its
report. Submissions and withdrawals are not tasks: they arrive through the CLI
(`qcamp results submit|withdraw`), which calls the services itself."""

from __future__ import annotations

from prefect import task

from services import results
from services.context import CampaignContext, StageReport
from storage.uow import UnitOfWork
from tasks.retry import OUTAGE_RETRIES

# Both steps are idempotent (a message is queued once per unit and day; the close is recorded
# once), so a database or mail outage is worth a retry.


@task(name="results-reminders", task_run_name="results-reminders-{ctx.year}", **OUTAGE_RETRIES)
def send_reminders(ctx: CampaignContext) -> StageReport:
    """T-14/T-7/T-3/T-1: units with projects that still owe results."""
    return results.send_reminders(UnitOfWork(), ctx)


@task(name="results-close", task_run_name="results-close-{ctx.year}", **OUTAGE_RETRIES)
def close_results(ctx: CampaignContext) -> StageReport:
    """At the deadline, once: projects without complete results → 成果逾期未受理; the summary."""
    return results.close_results(UnitOfWork(), ctx)


def results_status(ctx: CampaignContext) -> StageReport:
    """The stage's counts and what it waits for (a read, not a task)."""
    return results.results_status(UnitOfWork(), ctx)


# The simulated units' doors, until the simulation acts through the CLI.
