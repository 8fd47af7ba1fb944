"""The frame every stage flow runs in: open the campaign at its clock, do what is due, record the
outcome as a markdown artifact for the dashboard, and mark the stage complete when it is."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run

from flows.events import emit_state_change, should_emit
from services.context import STAGES, CampaignContext, StageReport, open_campaign
from storage.uow import UnitOfWork

StageBody = Callable[[CampaignContext], StageReport]
"""A stage's work at one clock: it calls the stage's tasks and returns their merged report."""


def stage_run_name(stage: str) -> Callable[[], str]:
    """Run names like `2025-立项审核-2025-05-08`: year, stage and the campaign clock."""

    def name() -> str:
        params = flow_run.parameters
        as_of = params.get("as_of") or dt.date.today().isoformat()
        return f"{params.get('year')}-{STAGES[stage]}-{str(as_of)[:10]}"

    return name


def artifact_key(year: int, name: str) -> str:
    return f"campaign-{year}-{name}".replace("_", "-").lower()


def _last_state_change() -> int:
    with UnitOfWork() as uow:
        return uow.repo.last_state_change_id()


def emit_state_events(year: int, after_id: int) -> int:
    """One Prefect event per project state change this run recorded, for automations."""
    if not should_emit():
        return 0
    with UnitOfWork() as uow:
        rows = uow.repo.state_changes_since(after_id)
    for change, title in rows:
        emit_state_change(
            change.application_id,
            change.from_state,
            change.to_state,
            year,
            change.reason,
            actor=change.actor,
            title=title,
        )
    return len(rows)


def run_stage(stage: str, year: int, as_of: str | None, body: StageBody) -> StageReport:
    ctx = open_campaign(year, as_of)
    before = _last_state_change() if should_emit() else 0
    outcome = body(ctx)
    emit_state_events(year, before)
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


def done_steps(ctx: CampaignContext, stage: str) -> set[str]:
    """The steps of `stage` already recorded: what a run must not start again."""
    with UnitOfWork() as uow:
        return {s.step for s in uow.repo.steps(ctx.campaign_id, stage)}


def stage_complete(ctx: CampaignContext, stage: str) -> bool:
    with UnitOfWork() as uow:
        return uow.repo.step_done(ctx.campaign_id, stage, "complete") is not None


LegacyBody = Callable[[CampaignContext, StageReport], None]


def legacy_body(stage: str, body: LegacyBody) -> StageBody:
    """A body written as `body(ctx, report)` that fills a shared report, as a `StageBody`.

    Transitional: each stage moves to tasks that return their reports."""

    def run(ctx: CampaignContext) -> StageReport:
        report = StageReport.start(stage, ctx)
        body(ctx, report)
        return report

    return run
