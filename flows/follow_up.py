"""Stage 跟踪服务 as a flow: visit coverage per recommending unit at each period end and at the
results deadline (visits are imported with `qcamp visits import`)."""

from __future__ import annotations

from prefect import flow

from flows.failures import notify_admins
from flows.stage import StepRunner, orchestrated, run_stage, stage_run_name
from services import follow_up as service
from services.context import CampaignContext, StageReport
from storage.uow import UnitOfWork
from tasks.follow_up import STAGE, coverage_report, follow_up_status


def follow_up_body(ctx: CampaignContext, *, run: StepRunner = orchestrated) -> StageReport:
    """The coverage reports due (`domain.stages.coverage_due`), then the status."""
    reports = [
        run(coverage_report, ctx, point.step, point.label, point.until)
        for point in service.due_reports(UnitOfWork(), ctx)
    ]
    return StageReport.start(STAGE, ctx).merge(*reports, run(follow_up_status, ctx))


@flow(
    name="follow-up-stage",
    flow_run_name=stage_run_name("follow_up"),
    log_prints=True,
    on_failure=[notify_admins],
)
def follow_up_stage(year: int, as_of: str | None = None) -> StageReport:
    """跟踪服务: coverage reports of the recommending units' visits."""
    return run_stage(STAGE, year, as_of, follow_up_body)
