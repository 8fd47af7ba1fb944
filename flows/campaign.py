"""The annual campaign (年度质量攻关活动): one run does what is due by `as_of`, stage by stage."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run

from domain.calendar import SHANGHAI
from flows.stage import artifact_key, direct
from flows.stages import STAGE_BODIES, STAGE_FLOWS
from services.campaign import complete_stage, stage_due
from services.context import STAGES, CampaignContext, StageReport, open_campaign
from storage.uow import UnitOfWork
from tasks.delivery import deliver_messages, queue_staff_digest
from tasks.progress import progress_markdown


def campaign_run_name() -> str:
    params = flow_run.parameters
    as_of = params.get("as_of") or dt.date.today().isoformat()
    return f"{params.get('year')}-质量攻关-{str(as_of)[:10]}"


def due_stages(
    ctx: CampaignContext, run_one: Callable[[str], StageReport]
) -> dict[str, StageReport]:
    """Each stage that is open, not yet complete and has something due
    (`domain.stages.has_due_work`), in order, run by `run_one`; asked right before each runs.
    A stage with nothing due (e.g. follow-up between two coverage reports) is not started: no
    run, no dashboard noise."""
    return {stage: run_one(stage) for stage in STAGE_FLOWS if stage_due(UnitOfWork(), ctx, stage)}


@flow(name="annual-campaign", flow_run_name=campaign_run_name, log_prints=True)
def annual_campaign(year: int, as_of: str | None = None) -> dict[str, StageReport]:
    """年度质量攻关: run every stage that is due as its own flow, then deliver messages."""
    ctx = open_campaign(year, as_of)
    as_of_text = ctx.now.isoformat()
    outcomes = due_stages(ctx, lambda stage: STAGE_FLOWS[stage](year=year, as_of=as_of_text))
    queue_staff_digest(ctx, outcomes)
    deliver_messages(ctx)
    # One page for staff: the stages' progress and each recommending unit's projects.
    create_markdown_artifact(
        markdown=progress_markdown(ctx),
        key=artifact_key(year, "progress"),
        description=f"{year}年质量攻关各阶段进度与各推荐单位项目状态"
        f"（截至{ctx.now.astimezone(SHANGHAI):%Y-%m-%d}）",
    )
    for stage, outcome in outcomes.items():
        if outcome.done:
            print(f"{STAGES[stage]}：" + "；".join(outcome.done))
    return outcomes


def run_campaign_directly(year: int, as_of: str | None = None) -> dict[str, StageReport]:
    """The same day's work as `annual_campaign`, without Prefect: each due stage's body with its
    steps' own functions (`flows.stage.direct`: the service calls), the stage marked complete as
    its flow would, then the digest and delivery. No flow or task runs, artifacts or events.

    For the benchmark's baseline (`bench/bench_campaign.py`) and for doing a day's work while the
    Prefect API cannot be reached (`qcamp run campaign --direct`)."""
    ctx = open_campaign(year, as_of)
    outcomes = due_stages(ctx, lambda stage: run_stage_directly(stage, year, ctx.now))
    direct(queue_staff_digest, ctx, outcomes)
    direct(deliver_messages, ctx)
    return outcomes


def run_stage_directly(
    stage: str, year: int, as_of: str | dt.datetime | None = None
) -> StageReport:
    """One stage's run as its flow does it (`flows.stage.run_stage`), without Prefect."""
    ctx = open_campaign(year, as_of)
    report = STAGE_BODIES[stage](ctx, run=direct)
    complete_stage(UnitOfWork(), ctx, report)
    return report
