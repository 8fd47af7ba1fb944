"""Stage 宣贯培训 as a flow: 培训场次, seats and invitations, attendance, absentees."""

from __future__ import annotations

from prefect import flow

from flows.failures import notify_admins
from flows.stage import StepRunner, orchestrated, run_stage, stage_run_name
from services.context import CampaignContext, StageReport
from services.training import STAGE
from tasks.training import (
    assign_and_invite,
    reinvite_absentees,
    store_sessions,
    training_status,
    write_rosters,
)


def training_body(ctx: CampaignContext, *, run: StepRunner = orchestrated) -> StageReport:
    report = StageReport.start(STAGE, ctx)
    if not ctx.is_due(ctx.calendar.training_invitations):
        report.waiting.append("培训通知尚未到发送时间")
        return report
    report = report.merge(run(store_sessions, ctx))
    for seating in (reinvite_absentees, assign_and_invite):
        seated = run(seating, ctx)
        report = report.merge(seated)
        if seated.rosters_due:
            report = report.merge(run(write_rosters, ctx))
    return report.merge(run(training_status, ctx))


@flow(
    name="training-stage",
    flow_run_name=stage_run_name("training"),
    log_prints=True,
    on_failure=[notify_admins],
)
def training_stage(year: int, as_of: str | None = None) -> StageReport:
    """宣贯培训: seats within capacity, invitations with .ics, sign-in sheets, absentees."""
    return run_stage(STAGE, year, as_of, training_body)
