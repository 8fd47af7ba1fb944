"""Stage 公示公布 as a flow (placeholder until its tasks land)."""

from __future__ import annotations

from prefect import flow

from flows.stage import run_stage, stage_run_name
from tasks.context import CampaignContext, StageOutcome


def publicity_body(ctx: CampaignContext, outcome: StageOutcome) -> None:
    outcome.waiting.append("本阶段尚未实现")


@flow(name="publicity-stage", flow_run_name=stage_run_name, log_prints=True)
def publicity_stage(year: int, as_of: str | None = None) -> StageOutcome:
    """公示公布."""
    return run_stage("publicity", year, as_of, publicity_body)
