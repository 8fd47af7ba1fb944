"""Stage 8 公示公布 as a flow: the public notice, then, once its period has ended with no open
objection, the publication, certificates and commendation."""

from __future__ import annotations

from prefect import flow

from flows.failures import notify_admins
from flows.stage import StepRunner, orchestrated, run_stage, stage_run_name
from services.context import CampaignContext, StageReport
from services.publicity import STAGE
from tasks.publicity import post_public_notice, publish_results


def publicity_body(ctx: CampaignContext, *, run: StepRunner = orchestrated) -> StageReport:
    report = StageReport.start(STAGE, ctx)
    if not ctx.is_due(ctx.calendar.publicity_start):
        report.waiting.append(f"公示开始日期 {ctx.calendar.publicity_start:%Y-%m-%d}")
        return report
    posted = run(post_public_notice, ctx)
    report = report.merge(posted)
    if posted.notice is None:
        return report
    return report.merge(run(publish_results, ctx, posted.notice))


@flow(
    name="publicity-stage",
    flow_run_name=stage_run_name("publicity"),
    log_prints=True,
    on_failure=[notify_admins],
)
def publicity_stage(year: int, as_of: str | None = None) -> StageReport:
    """公示公布: the 公示 for the working-day period, objections, the publication and certificates."""
    return run_stage(STAGE, year, as_of, publicity_body)
