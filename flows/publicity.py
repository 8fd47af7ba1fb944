"""Stage 8 公示公布 as a flow: the public notice, then, once its period has ended with no open
objection, the publication, certificates and commendation."""

from __future__ import annotations

from prefect import flow

from flows.stage import legacy_body, run_stage, stage_run_name
from services.context import CampaignContext, StageReport
from tasks.publicity import post_public_notice, publish_results


def publicity_body(ctx: CampaignContext, outcome: StageReport) -> None:
    if not ctx.is_due(ctx.calendar.publicity_start):
        outcome.waiting.append(f"公示开始日期 {ctx.calendar.publicity_start:%Y-%m-%d}")
        return
    notice = post_public_notice(ctx, outcome)
    if notice is None:
        return
    publish_results(ctx, outcome, notice)


@flow(name="publicity-stage", flow_run_name=stage_run_name("publicity"), log_prints=True)
def publicity_stage(year: int, as_of: str | None = None) -> StageReport:
    """公示公布: the 公示 for the working-day period, objections, the publication and certificates."""
    return run_stage("publicity", year, as_of, legacy_body("publicity", publicity_body))
