"""The annual campaign (年度质量攻关活动): one run does what is due by `as_of`, stage by stage."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run

from domain.calendar import SHANGHAI, CampaignCalendar
from flows.stage import artifact_key, stage_complete
from flows.stages import STAGE_DUE, STAGE_FLOWS
from services.context import STAGES, StageReport, open_campaign
from tasks.delivery import deliver_messages, queue_staff_digest
from tasks.progress import progress_markdown


def campaign_run_name() -> str:
    params = flow_run.parameters
    as_of = params.get("as_of") or dt.date.today().isoformat()
    return f"{params.get('year')}-质量攻关-{str(as_of)[:10]}"


# When each stage opens: before then, the campaign does not start its flow at all.
STAGE_OPENS: dict[str, Callable[[CampaignCalendar], dt.datetime | dt.date]] = {
    "application": lambda c: c.call_published,
    "audit": lambda c: c.audit,
    "training": lambda c: c.training_invitations,
    "implementation": lambda c: c.checkins_start,
    "follow_up": lambda c: c.checkins_start,
    "results": lambda c: c.results_window_opens,
    "evaluation": lambda c: c.panel_draw,
    "publicity": lambda c: c.publicity_start,
    "promotion": lambda c: c.publicity_start,
}


@flow(name="annual-campaign", flow_run_name=campaign_run_name, log_prints=True)
def annual_campaign(year: int, as_of: str | None = None) -> dict[str, StageReport]:
    """年度质量攻关: run every stage that is open, not yet complete and has something due, then
    deliver messages."""
    ctx = open_campaign(year, as_of)
    as_of_text = ctx.now.isoformat()
    outcomes: dict[str, StageReport] = {}
    for stage, stage_flow in STAGE_FLOWS.items():
        if not ctx.is_due(STAGE_OPENS[stage](ctx.calendar)) or stage_complete(ctx, stage):
            continue
        if stage in STAGE_DUE and not STAGE_DUE[stage](ctx):
            continue  # e.g. follow-up between two coverage reports: no run, no dashboard noise
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
