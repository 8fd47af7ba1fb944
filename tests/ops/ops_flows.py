"""A test-only stage flow that commits two steps and can crash between them.

With `QCAMP_FAIL_AFTER_STEP=register`, the first run stops after its first committed step (once: a
marker file in QCAMP_OUT_DIR remembers the crash), so a retry from the dashboard must finish the
stage without redoing the first step. It runs in the real stage frame (`run_stage`): the campaign
row, the markdown artifact and the stage's `complete` mark are the ones staff see.
"""

from __future__ import annotations

import os

from prefect import flow, task

from flows.events import emit_state_change
from flows.stage import StepRunner, orchestrated, run_stage
from services.context import CampaignContext, StageReport
from storage.settings import get_settings
from storage.uow import UnitOfWork

STAGE = "audit"
STEPS = ("register", "notify")
FAIL_ENV = "QCAMP_FAIL_AFTER_STEP"


@task(name="ops-step", task_run_name="{step}-{ctx.year}")
def commit_step(ctx: CampaignContext, outcome: StageReport, step: str) -> None:
    """Write a document, record it and mark the step, in one transaction; skip if already done."""
    with UnitOfWork() as uow:
        if uow.repo.step_done(ctx.campaign_id, STAGE, step):
            outcome.waiting.append(f"{step} 已于上次运行完成，跳过")
            return
        path = ctx.folder(STAGE) / f"{step}.txt"
        path.write_text(f"{ctx.year} {step}\n", encoding="utf-8")
        uow.repo.record_document(
            ctx.campaign_id, stage=STAGE, kind="ops-test", title=step, path=str(path)
        )
        uow.repo.mark_step(ctx.campaign_id, STAGE, step, as_of=ctx.now)
        uow.commit()
    emit_state_change(1000 + STEPS.index(step), "submitted", "returned", ctx.year, f"测试：{step}")
    outcome.done.append(f"完成步骤 {step}")
    outcome.documents.append(str(path))


def crash_once(step: str) -> None:
    if os.environ.get(FAIL_ENV) != step:
        return
    marker = get_settings().out_dir / f"crashed-after-{step}"
    if marker.exists():
        return
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    raise RuntimeError(f"模拟故障：步骤 {step} 提交后中断")


def flaky_body(ctx: CampaignContext, *, run: StepRunner = orchestrated) -> StageReport:
    outcome = StageReport.start(STAGE, ctx)
    for step in STEPS:
        commit_step(ctx, outcome, step)
        crash_once(step)
    outcome.complete = True
    return outcome


@flow(name="ops-flaky-stage", flow_run_name="{year}-运维测试-{as_of}", log_prints=True)
def flaky_stage(year: int, as_of: str | None = None) -> StageReport:
    """运维测试阶段: two committed steps, with a crash between them on request."""
    return run_stage(STAGE, year, as_of, flaky_body)
