"""Stage 项目实施 as a flow (placeholder until its tasks land)."""

from __future__ import annotations

from prefect import flow

from flows.stage import run_stage, stage_run_name
from tasks.context import CampaignContext, StageOutcome


def implementation_body(ctx: CampaignContext, outcome: StageOutcome) -> None:
    outcome.waiting.append("本阶段尚未实现")


@flow(name="implementation-stage", flow_run_name=stage_run_name, log_prints=True)
def implementation_stage(year: int, as_of: str | None = None) -> StageOutcome:
    """项目实施."""
    return run_stage("implementation", year, as_of, implementation_body)
