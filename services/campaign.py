"""Whether a campaign run starts a stage: the stage's rules (`domain.stages`) over the steps it
already recorded."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from domain.stages import has_due_work, is_open
from services.context import STAGES, CampaignContext, StageReport
from storage.locks import RunInProgress, run_lock
from storage.uow import UnitOfWork

__all__ = ["RunInProgress", "busy", "complete_stage", "one_run_at_a_time", "stage_due"]


@contextlib.contextmanager
def one_run_at_a_time(year: int, stage: str) -> Iterator[None]:
    """Hold the year's `stage` (or `campaign`: the whole day) for one run; a second run of the
    same at the same time raises `RunInProgress` (另一个运行正在处理……，请稍后再试) at once,
    before it does anything."""
    what = f" {year} 年度的{STAGES.get(stage, '年度活动')}"
    with run_lock(f"qcamp-{year}-{stage}", what):
        yield


def busy(year: int, stage: str) -> str:
    """Why `stage` cannot run now (another process runs it), or "" when it can."""
    try:
        with one_run_at_a_time(year, stage):
            return ""
    except RunInProgress as exc:
        return str(exc)


def stage_due(uow: UnitOfWork, ctx: CampaignContext, stage: str) -> bool:
    """Whether `stage` is open, not complete and has something due at the campaign's clock.

    Asked right before the stage would run, after the stages before it ran."""
    if not is_open(stage, ctx.calendar, ctx.now):
        return False
    with uow:
        done = {s.step for s in uow.repo.steps(ctx.campaign_id, stage)}
    return has_due_work(stage, ctx.config, ctx.now, done)


def complete_stage(uow: UnitOfWork, ctx: CampaignContext, report: StageReport) -> bool:
    """Record the stage of `report` complete when the report says so (once); True if recorded
    by this call."""
    if not report.complete:
        return False
    with uow:
        if uow.repo.step_done(ctx.campaign_id, report.stage, "complete"):
            return False
        uow.repo.mark_step(ctx.campaign_id, report.stage, "complete", as_of=ctx.now)
        uow.commit()
    return True
