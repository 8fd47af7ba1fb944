"""Stage 立项审核 as a flow: the audit workbook, the staff's decisions, the published plan.

The decisions come from the dashboard (the flow pauses with a form when `wait_for_staff`), the
filled workbook (`qcamp audit decide`) or the demo's scripted policy. Without them the stage
reports `waiting`; no run ever waits for months.
"""

from __future__ import annotations

import functools

from prefect import flow, get_run_logger, pause_flow_run
from prefect.exceptions import FlowPauseTimeout

from flows.stage import legacy_body, run_stage, stage_run_name
from services.context import CampaignContext, StageReport
from services.messaging import send, staff_recipient
from storage.uow import UnitOfWork
from tasks.audit import (
    STAGE,
    AuditDecisionInput,
    DecisionError,
    apply_decisions,
    decisions_from_input,
    pending_applications,
    publish_plan,
    record_approval_decisions,
    write_audit,
)

DEFAULT_PAUSE_TIMEOUT = 3600  # seconds the dashboard form stays open


def ask_staff(ctx: CampaignContext, outcome: StageReport, timeout: int) -> None:
    """Pause the flow run with the decision form; record what the staff submit."""
    logger = get_run_logger()
    pending = pending_applications(ctx)
    logger.info("等待工作人员在仪表盘作出立项决定：%d个项目", len(pending))
    try:
        form = pause_flow_run(
            wait_for_input=AuditDecisionInput,
            timeout=timeout,
            key=f"audit-decision-{ctx.year}",
        )
    except FlowPauseTimeout:
        remind_staff(ctx, outcome, len(pending))
        return
    try:
        decisions = decisions_from_input(ctx, form)
        new = record_approval_decisions(ctx, decisions, form.decided_by, "dashboard")
    except DecisionError as exc:
        outcome.waiting.append(f"仪表盘提交的立项决定未保存：{exc}")
        return
    outcome.done.append(f"记录{form.decided_by}在仪表盘作出的立项决定{new}项")


def remind_staff(ctx: CampaignContext, outcome: StageReport, pending: int) -> None:
    """The form timed out: a reminder to the staff (once a day) and the stage keeps waiting."""
    with UnitOfWork() as uow:
        send(
            uow,
            ctx,
            event="staff_digest",
            rule_detail="audit_decision",
            recipient=staff_recipient(ctx),
            period=f"audit-{ctx.local_date().isoformat()}",
            context={
                "campaign_title": ctx.config.title,
                "day": ctx.local_date(),
                "as_of": ctx.now,
                "counts": f"立项审核：{pending}个项目尚待作出立项决定（仪表盘表单已超时关闭）",
                "failed_count": 0,
                "failures": "无",
            },
        )
        uow.commit()
    outcome.waiting.append(f"仪表盘决定表单超时：已提醒工作人员，{pending}个项目待决定")


def audit_body(
    ctx: CampaignContext,
    outcome: StageReport,
    *,
    wait_for_staff: bool = False,
    pause_timeout: int = DEFAULT_PAUSE_TIMEOUT,
) -> None:
    if not ctx.is_due(ctx.calendar.audit):
        outcome.waiting.append("立项审核尚未开始")
        return
    write_audit(ctx, outcome)
    if wait_for_staff and pending_applications(ctx):
        ask_staff(ctx, outcome, pause_timeout)
    if not apply_decisions(ctx, outcome):
        return
    outcome.complete = publish_plan(ctx, outcome)


@flow(name="audit-stage", flow_run_name=stage_run_name("audit"), log_prints=True)
def audit_stage(
    year: int,
    as_of: str | None = None,
    wait_for_staff: bool = False,
    pause_timeout: int = DEFAULT_PAUSE_TIMEOUT,
) -> StageReport:
    """立项审核: audit workbook, decisions (dashboard form when `wait_for_staff`), plan."""
    body = functools.partial(audit_body, wait_for_staff=wait_for_staff, pause_timeout=pause_timeout)
    return run_stage(STAGE, year, as_of, legacy_body(STAGE, body))
