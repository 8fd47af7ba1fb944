"""Stage 4 项目实施 as Prefect tasks over `services.implementation`: the period's requests and
the chasing of overdue reports, each one task a period. `import_checkins` is the door for
returned progress reports (the CLI and the simulation call it)."""

from __future__ import annotations

from prefect import task

from services import implementation as service
from services.context import CampaignContext, StageReport
from storage.uow import UnitOfWork
from tasks.retry import OUTAGE_RETRIES

STAGE = service.STAGE


@task(
    name="checkin-requests",
    task_run_name="checkin-requests-{period}",
    **OUTAGE_RETRIES,
)
def request_checkins(ctx: CampaignContext, period: str) -> StageReport:
    """The period's requests, once (a rerun after a failure sends what is missing)."""
    return service.request_checkins(UnitOfWork(), ctx, period)


@task(
    name="checkin-overdue",
    task_run_name="checkin-overdue-{period}",
    **OUTAGE_RETRIES,
)
def chase_overdue(ctx: CampaignContext, period: str) -> StageReport:
    """Reminders, then escalation, for the period's overdue reports (each message once)."""
    return service.chase_overdue(UnitOfWork(), ctx, period)


def implementation_status(ctx: CampaignContext) -> StageReport:
    return service.implementation_status(UnitOfWork(), ctx)
