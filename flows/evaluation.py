"""Stage 成果评定 as a flow (placeholder until its tasks land)."""

from __future__ import annotations

from prefect import flow

from flows.stage import run_stage, stage_run_name
from tasks.context import CampaignContext, StageOutcome


def evaluation_body(ctx: CampaignContext, outcome: StageOutcome) -> None:
    outcome.waiting.append("本阶段尚未实现")


@flow(name="evaluation-stage", flow_run_name=stage_run_name, log_prints=True)
def evaluation_stage(year: int, as_of: str | None = None) -> StageOutcome:
    """成果评定."""
    return run_stage("evaluation", year, as_of, evaluation_body)
