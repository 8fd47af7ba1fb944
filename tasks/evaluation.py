"""Stage 7 成果评定 as Prefect tasks: each calls one service (`services.panels`,
`services.scores`, `services.evaluation`) in its own unit of work and returns its report."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from prefect import task

from domain.evaluation import EvaluationError, split_list
from services import evaluation, experts, panels, scores
from services.context import CampaignContext, StageReport
from services.evaluation import panel_sheet_path, result_key
from services.experts import ExpertImport
from services.panels import write_panel_sheet
from services.scores import ScoreImport, missing_scores
from storage.uow import UnitOfWork

__all__ = [
    "EvaluationError",
    "aggregate_scores",
    "apply_excellent_decisions",
    "confirm_excellent",
    "decline",
    "draw_expert_panels",
    "excellent_confirmed",
    "import_experts",
    "import_scores",
    "missing_scores",
    "panel_sheet_path",
    "result_key",
    "send_score_sheets",
    "split_list",
    "write_panel_sheet",
]

RETRIES = {"retries": 2, "retry_delay_seconds": [2, 10]}


@task(name="draw-panels", task_run_name="draw-panels-{ctx.year}", **RETRIES)
def draw_expert_panels(ctx: CampaignContext) -> StageReport:
    """Once: the panels over every submitted result, with seed, reserves and recusals."""
    return panels.draw_expert_panels(UnitOfWork(), ctx)


@task(name="send-score-sheets", task_run_name="score-sheets-{ctx.year}", **RETRIES)
def send_score_sheets(ctx: CampaignContext) -> StageReport:
    """Once per panel: its score sheet, and an invitation with the sheet to each member."""
    return panels.send_score_sheets(UnitOfWork(), ctx)


@task(name="aggregate-scores", task_run_name="aggregate-{ctx.year}", **RETRIES)
def aggregate_scores(ctx: CampaignContext) -> StageReport:
    """Each result's score, the ranking and the proposed excellent list, once all is in."""
    return scores.aggregate_scores(UnitOfWork(), ctx)


@task(name="apply-excellent-decisions", task_run_name="apply-decisions-{ctx.year}", **RETRIES)
def apply_excellent_decisions(ctx: CampaignContext) -> StageReport:
    """Move each decided result: results_submitted -> excellent / evaluated, with its reason."""
    return evaluation.apply_excellent_decisions(UnitOfWork(), ctx)


# ---------------------------------------------------------------------------------------------
# The doors the demo's simulation (simulation/late.py) and deployments/demo.py still call with
# their old signatures, until they act through the CLI (issue 14). Nothing else uses them.


def import_experts(xlsx: Path | str) -> ExpertImport:
    return experts.import_experts(UnitOfWork(), xlsx)


def import_scores(ctx: CampaignContext, xlsx: Path | str) -> ScoreImport:
    return scores.import_scores(UnitOfWork(), ctx, xlsx)


def decline(ctx: CampaignContext, panel_key: str, expert_key: str, reason: str) -> str | None:
    return panels.decline(UnitOfWork(), ctx, panel_key, expert_key, reason)


def excellent_confirmed(ctx: CampaignContext) -> bool:
    return evaluation.excellent_confirmed(UnitOfWork(), ctx)


def confirm_excellent(
    ctx: CampaignContext,
    decided_by: str,
    *,
    source: str,
    exclude: Iterable[str] = (),
    include: Iterable[str] = (),
    reason: str = "",
) -> tuple[int, int]:
    return evaluation.confirm_excellent(
        UnitOfWork(),
        ctx,
        decided_by,
        source=source,
        exclude=exclude,
        include=include,
        reason=reason,
    )
