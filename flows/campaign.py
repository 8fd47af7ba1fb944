"""The annual campaign (年度质量攻关活动): one run does what is due by `as_of`, stage by stage."""

from __future__ import annotations

import datetime as dt

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run

from domain.calendar import SHANGHAI
from flows.stage import artifact_key
from flows.stages import STAGE_FLOWS
from services.campaign import stage_due
from services.context import STAGES, StageReport, open_campaign
from storage.uow import UnitOfWork
from tasks.delivery import deliver_messages, queue_staff_digest
from tasks.progress import progress_markdown


def campaign_run_name() -> str:
    params = flow_run.parameters
    as_of = params.get("as_of") or dt.date.today().isoformat()
    return f"{params.get('year')}-质量攻关-{str(as_of)[:10]}"


@flow(name="annual-campaign", flow_run_name=campaign_run_name, log_prints=True)
def annual_campaign(year: int, as_of: str | None = None) -> dict[str, StageReport]:
    """年度质量攻关: run every stage that is open, not yet complete and has something due
    (`domain.stages.has_due_work`), then deliver messages."""
    ctx = open_campaign(year, as_of)
    as_of_text = ctx.now.isoformat()
    outcomes: dict[str, StageReport] = {}
    for stage, stage_flow in STAGE_FLOWS.items():
        # A stage with nothing due (e.g. follow-up between two coverage reports) is not started:
        # no run, no dashboard noise.
        if stage_due(UnitOfWork(), ctx, stage):
            outcomes[stage] = stage_flow(year=year, as_of=as_of_text)
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
