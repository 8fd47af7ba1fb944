"""Stage 项目实施 as a flow: monthly progress reports, overdue reminders and escalation."""

from __future__ import annotations

from prefect import flow

from flows.failures import notify_admins
from flows.stage import StepRunner, orchestrated, run_stage, stage_run_name
from services import implementation as service
from services.context import CampaignContext, StageReport
from storage.uow import UnitOfWork
from tasks.implementation import STAGE, chase_overdue, implementation_status, request_checkins


def implementation_body(ctx: CampaignContext, *, run: StepRunner = orchestrated) -> StageReport:
    """Each period's due requests and chasing (`domain.stages.checkin_work`), then the status."""
    reports = []
    for work in service.due_work(UnitOfWork(), ctx):
        if work.request:
            reports.append(run(request_checkins, ctx, work.period))
        if work.chase:
            reports.append(run(chase_overdue, ctx, work.period))
    # request files lost from disk after their period was asked: written again, not re-sent
    for period in service.requests_missing(UnitOfWork(), ctx):
        reports.append(run(request_checkins, ctx, period))
    return StageReport.start(STAGE, ctx).merge(*reports, run(implementation_status, ctx))


@flow(
    name="implementation-stage",
    flow_run_name=stage_run_name("implementation"),
    log_prints=True,
    on_failure=[notify_admins],
)
def implementation_stage(year: int, as_of: str | None = None) -> StageReport:
    """项目实施: a progress report per project each period; overdue → reminder → escalation."""
    return run_stage(STAGE, year, as_of, implementation_body)
