"""Stage 9 宣传推广 as a flow: the exchange meeting of the published excellent results."""

from __future__ import annotations

from prefect import flow

from flows.failures import notify_admins
from flows.stage import StepRunner, orchestrated, run_stage, stage_run_name
from services.context import CampaignContext, StageReport
from tasks.promotion import STAGE, plan_exchange_meeting


def promotion_body(ctx: CampaignContext, *, run: StepRunner = orchestrated) -> StageReport:
    return StageReport.start(STAGE, ctx).merge(run(plan_exchange_meeting, ctx))


@flow(
    name="promotion-stage",
    flow_run_name=stage_run_name("promotion"),
    log_prints=True,
    on_failure=[notify_admins],
)
def promotion_stage(year: int, as_of: str | None = None) -> StageReport:
    """宣传推广: the exchange meeting's agenda grouped by chain, and the invitations."""
    return run_stage(STAGE, year, as_of, promotion_body)
