"""Stage 宣贯培训 as a flow: sessions, seats and invitations, attendance, absentees."""

from __future__ import annotations

from prefect import flow

from flows.stage import legacy_body, run_stage, stage_run_name
from services.context import CampaignContext, StageReport
from tasks.training import (
    STAGE,
    assign_and_invite,
    reinvite_absentees,
    store_sessions,
    training_status,
)


def training_body(ctx: CampaignContext, outcome: StageReport) -> None:
    if not ctx.is_due(ctx.calendar.training_invitations):
        outcome.waiting.append("培训通知尚未到发送时间")
        return
    store_sessions(ctx, outcome)
    reinvite_absentees(ctx, outcome)
    assign_and_invite(ctx, outcome)
    training_status(ctx, outcome)


@flow(name="training-stage", flow_run_name=stage_run_name("training"), log_prints=True)
def training_stage(year: int, as_of: str | None = None) -> StageReport:
    """宣贯培训: seats within capacity, invitations with .ics, sign-in sheets, absentees."""
    return run_stage(STAGE, year, as_of, legacy_body(STAGE, training_body))
