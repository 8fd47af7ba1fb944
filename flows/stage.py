"""The frame every stage flow runs in: open the campaign at its clock, do what is due, record the
outcome as a markdown artifact for the dashboard, and mark the stage complete when it is.

A stage's body composes its steps (Prefect tasks, each one service call) through a step runner:
`orchestrated` calls the task (a task run, retries, the dashboard), `direct` calls the task's own
function, which is the service call and nothing else (no Prefect at all). The campaign flow uses
the first; `flows.campaign.run_campaign_directly` (the benchmark's baseline, and a day's work
while the Prefect API is unreachable) the second: one composition, two ways to run it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from prefect import get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run

from flows.events import emit_state_change, should_emit
from flows.failures import install_failure_lines, log_progress
from services.campaign import complete_stage, one_run_at_a_time
from services.context import STAGES, CampaignContext, StageReport, open_campaign
from services.failures import explain, failure_markdown
from services.outbox_hold import PREVIEW_PREFIX
from storage.uow import UnitOfWork


class StepRunner(Protocol):
    """How a stage body runs one of its steps: `run(step, *args)`."""

    def __call__(self, step: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any: ...


def orchestrated(step: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """The step as Prefect runs it: a task run (retries, state, the dashboard)."""
    return step(*args, **kwargs)


def direct(step: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """The step's own function (a task's `fn`: its service call), without Prefect."""
    return getattr(step, "fn", step)(*args, **kwargs)


class StageBody(Protocol):
    """A stage's work at one clock: its steps, through `run`, and their merged report."""

    def __call__(self, ctx: CampaignContext, /, *, run: StepRunner = ...) -> StageReport: ...


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


def recording(done: list[StageReport]) -> StepRunner:
    """`orchestrated`, keeping each step's report (for a failure's artifact) and logging it."""

    def run(step: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        result = orchestrated(step, *args, **kwargs)
        if isinstance(result, StageReport):
            done.append(result)
            log_progress(result)
        return result

    return run


def run_stage(stage: str, year: int, as_of: str | None, body: StageBody) -> StageReport:
    install_failure_lines()
    logger = get_run_logger()
    logger.info("开始：%s年%s，截至%s", year, STAGES[stage], as_of or "现在")
    done: list[StageReport] = []
    try:
        ctx = open_campaign(year, as_of)
        with one_run_at_a_time(year, stage):
            before = _last_state_change() if should_emit() else 0
            outcome = body(ctx, run=recording(done))
            emit_state_events(year, before)
            complete_stage(UnitOfWork(), ctx, outcome)
    except Exception as exc:
        create_markdown_artifact(
            markdown=failure_markdown(year, stage, done, explain(exc)),
            key=artifact_key(year, stage),
            description=f"{year}年{STAGES[stage]}阶段本次运行失败：原因、处理办法与已完成的工作",
        )
        raise
    create_markdown_artifact(
        markdown=outcome.markdown(),
        key=artifact_key(year, stage),
        description=f"{year}年{outcome.label}阶段本次运行结果",
    )
    publish_previews(year, outcome)
    logger.info(
        "本次运行结束：完成%d项，等待%d项%s",
        len(outcome.done),
        len(outcome.waiting),
        "，本阶段已全部完成" if outcome.complete else "",
    )
    return outcome


def publish_previews(year: int, outcome: StageReport) -> None:
    """Each held mass mail's preview (群发通知预览) as an artifact staff read before releasing."""
    for document in outcome.documents:
        path = Path(document)
        if path.name.startswith(PREVIEW_PREFIX) and path.is_file():
            event = path.stem.removeprefix(f"{PREVIEW_PREFIX}_").replace("_", "-")
            create_markdown_artifact(
                markdown=path.read_text(encoding="utf-8"),
                key=f"qcamp-{year}-preview-{event}",
                description=f"{year}年群发通知预览（待放行）",
            )
