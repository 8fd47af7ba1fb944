"""The frame every stage flow runs in: open the campaign at its clock, do what is due, record the
outcome as a markdown artifact for the dashboard, and mark the stage complete when it is."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run

from storage.uow import UnitOfWork
from tasks.context import STAGES, CampaignContext, StageOutcome, open_campaign

StageBody = Callable[[CampaignContext, StageOutcome], None]


def stage_run_name() -> str:
    """`2025-立项审核-2025-05-08`: year, stage and the campaign clock, for the dashboard."""
    params = flow_run.parameters
    stage = flow_run.flow_name.removesuffix("-stage").replace("-", "_")
    as_of = params.get("as_of") or dt.date.today().isoformat()
    return f"{params.get('year')}-{STAGES.get(stage, stage)}-{str(as_of)[:10]}"


def artifact_key(year: int, name: str) -> str:
    return f"campaign-{year}-{name}".replace("_", "-").lower()


def run_stage(stage: str, year: int, as_of: str | None, body: StageBody) -> StageOutcome:
    ctx = open_campaign(year, as_of)
    outcome = StageOutcome(stage=stage, as_of=ctx.now)
    body(ctx, outcome)
    if outcome.complete:
        with UnitOfWork() as uow:
            if not uow.repo.step_done(ctx.campaign_id, stage, "complete"):
                uow.repo.mark_step(ctx.campaign_id, stage, "complete", as_of=ctx.now)
                uow.commit()
    create_markdown_artifact(
        markdown=outcome.markdown(),
        key=artifact_key(year, stage),
        description=f"{year}年{outcome.label}阶段本次运行结果",
    )
    return outcome


def stage_complete(ctx: CampaignContext, stage: str) -> bool:
    with UnitOfWork() as uow:
        return uow.repo.step_done(ctx.campaign_id, stage, "complete") is not None
