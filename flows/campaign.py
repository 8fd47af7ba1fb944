"""The annual campaign (年度质量攻关活动): one run does what is due by `as_of`, stage by stage."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run

from domain.calendar import SHANGHAI
from flows.stage import StepRunner, artifact_key, direct, orchestrated
from flows.stages import STAGE_BODIES, STAGE_FLOWS
from notifications.service import DeliveryReport
from services.campaign import (
    RunInProgress,
    busy,
    complete_stage,
    one_run_at_a_time,
    stage_due,
)
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
    run, no dashboard noise. A stage another process is running (a paused audit waiting for
    staff) is left to it: this run says so and goes on with the next."""
    outcomes: dict[str, StageReport] = {}
    for stage in STAGE_FLOWS:
        if not stage_due(UnitOfWork(), ctx, stage):
            continue
        try:
            # Asked first, so that a stage held elsewhere starts no flow run that would fail.
            if reason := busy(ctx.year, stage):
                raise RunInProgress(reason)
            outcomes[stage] = run_one(stage)
        except RunInProgress as exc:
            outcomes[stage] = StageReport(
                stage=stage, as_of=ctx.now, waiting=[f"{exc}（本次跳过）"]
            )
    return outcomes


def deliver_and_digest(
    ctx: CampaignContext, outcomes: dict[str, StageReport], run: StepRunner
) -> DeliveryReport:
    """Deliver what is queued, then queue the staff digest, which lists what could not be
    delivered (this run's failures included), and deliver it."""
    first = run(deliver_messages, ctx)
    run(queue_staff_digest, ctx, outcomes)
    return first.combined(run(deliver_messages, ctx))


@flow(name="annual-campaign", flow_run_name=campaign_run_name, log_prints=True)
def annual_campaign(year: int, as_of: str | None = None) -> dict[str, Any]:
    """年度质量攻关: run every stage that is due as its own flow, then deliver messages.
    Returns each stage's report and, under `delivery`, the delivery's."""
    ctx = open_campaign(year, as_of)
    as_of_text = ctx.now.isoformat()
    with one_run_at_a_time(year, "campaign"):
        outcomes = due_stages(ctx, lambda stage: STAGE_FLOWS[stage](year=year, as_of=as_of_text))
        delivery = deliver_and_digest(ctx, outcomes, orchestrated)
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
    print(delivery.markdown())
    return {**outcomes, "delivery": delivery}


def run_campaign_directly(year: int, as_of: str | None = None) -> dict[str, Any]:
    """The same day's work as `annual_campaign`, without Prefect: each due stage's body with its
    steps' own functions (`flows.stage.direct`: the service calls), the stage marked complete as
    its flow would, then the digest and delivery. No flow or task runs, artifacts or events.

    For the benchmark's baseline (`bench/bench_campaign.py`) and for doing a day's work while the
    Prefect API cannot be reached (`qcamp run campaign --direct`)."""
    ctx = open_campaign(year, as_of)
    with one_run_at_a_time(year, "campaign"):
        outcomes = due_stages(ctx, lambda stage: run_stage_directly(stage, year, ctx.now))
        delivery = deliver_and_digest(ctx, outcomes, direct)
    return {**outcomes, "delivery": delivery}


def run_stage_directly(
    stage: str, year: int, as_of: str | dt.datetime | None = None
) -> StageReport:
    """One stage's run as its flow does it (`flows.stage.run_stage`), without Prefect."""
    ctx = open_campaign(year, as_of)
    with one_run_at_a_time(year, stage):
        report = STAGE_BODIES[stage](ctx, run=direct)
        complete_stage(UnitOfWork(), ctx, report)
    return report
