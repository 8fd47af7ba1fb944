"""Stage 5 跟踪服务 as Prefect tasks over `services.follow_up`: one coverage report a task.
`import_visits` is the door for the units' visit records (the CLI and the simulation call it)."""

from __future__ import annotations

import datetime as dt

from prefect import task

from services import follow_up as service
from services.context import CampaignContext, StageReport
from storage.uow import UnitOfWork
from tasks.retry import OUTAGE_RETRIES

STAGE = service.STAGE


@task(
    name="visit-coverage",
    task_run_name="visit-coverage-{label}",
    **OUTAGE_RETRIES,
)
def coverage_report(ctx: CampaignContext, step: str, label: str, until: dt.date) -> StageReport:
    """The coverage report as of `until`, once per step (a rerun writes it again)."""
    return service.coverage_report(UnitOfWork(), ctx, step, label, until)


def follow_up_status(ctx: CampaignContext) -> StageReport:
    return service.follow_up_status(UnitOfWork(), ctx)
