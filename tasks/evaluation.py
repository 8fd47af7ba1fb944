"""Stage 7 成果评定 as Prefect tasks: each calls one service (`services.panels`,
`services.scores`, `services.evaluation`) in its own unit of work and returns its report."""

from __future__ import annotations

from prefect import task

from services import evaluation, panels, scores
from services.context import CampaignContext, StageReport
from storage.uow import UnitOfWork
from tasks.retry import OUTAGE_RETRIES


@task(name="draw-panels", task_run_name="draw-panels-{ctx.year}", **OUTAGE_RETRIES)
def draw_expert_panels(ctx: CampaignContext) -> StageReport:
    """Once: the panels over every submitted result, with seed, reserves and recusals."""
    return panels.draw_expert_panels(UnitOfWork(), ctx)


@task(name="send-score-sheets", task_run_name="score-sheets-{ctx.year}", **OUTAGE_RETRIES)
def send_score_sheets(ctx: CampaignContext) -> StageReport:
    """Once per panel: its score sheet, and an invitation with the sheet to each member."""
    return panels.send_score_sheets(UnitOfWork(), ctx)


@task(name="aggregate-scores", task_run_name="aggregate-{ctx.year}", **OUTAGE_RETRIES)
def aggregate_scores(ctx: CampaignContext) -> StageReport:
    """Each result's score, the ranking and the proposed excellent list, once all is in."""
    return scores.aggregate_scores(UnitOfWork(), ctx)


@task(
    name="apply-excellent-decisions", task_run_name="apply-decisions-{ctx.year}", **OUTAGE_RETRIES
)
def apply_excellent_decisions(ctx: CampaignContext) -> StageReport:
    """Move each decided result: results_submitted -> excellent / evaluated, with its reason."""
    return evaluation.apply_excellent_decisions(UnitOfWork(), ctx)


# ---------------------------------------------------------------------------------------------
