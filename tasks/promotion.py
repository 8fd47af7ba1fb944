"""Stage 9 宣传推广 as a Prefect task: the exchange meeting (`services.promotion`)."""

from __future__ import annotations

from prefect import task

from services import promotion
from services.context import CampaignContext, StageReport
from storage.uow import UnitOfWork
from tasks.retry import OUTAGE_RETRIES

STAGE = promotion.STAGE


# Idempotent (planned once, each invitation queued once): a retry can finish an interrupted run.
@task(
    name="exchange-meeting",
    task_run_name="exchange-meeting-{ctx.year}",
    **OUTAGE_RETRIES,
)
def plan_exchange_meeting(ctx: CampaignContext) -> StageReport:
    """Once, after publication: the agenda and the invitations."""
    return promotion.plan_exchange_meeting(UnitOfWork(), ctx)
