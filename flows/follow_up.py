"""Stage 跟踪服务 as a flow (placeholder until its tasks land)."""

from __future__ import annotations

from prefect import flow

from flows.stage import run_stage, stage_run_name
from tasks.context import CampaignContext, StageOutcome


def follow_up_body(ctx: CampaignContext, outcome: StageOutcome) -> None:
    outcome.waiting.append("本阶段尚未实现")


@flow(name="follow-up-stage", flow_run_name=stage_run_name, log_prints=True)
def follow_up_stage(year: int, as_of: str | None = None) -> StageOutcome:
    """跟踪服务."""
    return run_stage("follow_up", year, as_of, follow_up_body)
