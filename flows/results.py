"""Stage 提交成果 as a flow (placeholder until its tasks land)."""

from __future__ import annotations

from prefect import flow

from flows.stage import run_stage, stage_run_name
from tasks.context import CampaignContext, StageOutcome


def results_body(ctx: CampaignContext, outcome: StageOutcome) -> None:
    outcome.waiting.append("本阶段尚未实现")


@flow(name="results-stage", flow_run_name=stage_run_name, log_prints=True)
def results_stage(year: int, as_of: str | None = None) -> StageOutcome:
    """提交成果."""
    return run_stage("results", year, as_of, results_body)
