"""Stage 立项审核 as a flow: the audit workbook, the staff's decisions, the published plan.

The decisions come from the dashboard (the flow pauses with a form when `wait_for_staff`), the
filled workbook (`qcamp audit decide`) or the demo's scripted policy. Without them the stage
reports `waiting`; no run ever waits for months.
"""

from __future__ import annotations

import functools

from prefect import flow, get_run_logger, pause_flow_run
from prefect.exceptions import FlowPauseTimeout
from prefect.input import RunInput

from flows.failures import notify_admins
from flows.stage import StepRunner, orchestrated, run_stage, stage_run_name
from services.audit import (
    STAGE,
    AuditDecisionForm,
    audit_workbook_path,
    pending_applications,
    pending_rows,
)
from services.context import CampaignContext, StageReport, markdown_table
from storage.uow import UnitOfWork
from tasks.audit import (
    apply_decisions,
    publish_plan,
    record_dashboard_decisions,
    remind_staff,
    write_audit,
)

DEFAULT_PAUSE_TIMEOUT = 3600  # seconds the dashboard form stays open
FORM_ROWS = 200  # pending projects listed on the form


class AuditDecisionInput(RunInput, AuditDecisionForm):
    """The form the audit flow shows in the dashboard while it waits for the staff."""


def form_description(ctx: CampaignContext, pending: int) -> str:
    """The decision form's text: where the audit workbook is, and the projects still to decide
    (the first 200)."""
    rows = pending_rows(UnitOfWork(), ctx, limit=FORM_ROWS)
    more = f"，下表列出前{FORM_ROWS}个" if pending > len(rows) else ""
    return "\n".join(
        [
            f"## {ctx.year}年质量攻关项目立项决定",
            "",
            f"立项审核表：`{audit_workbook_path(ctx)}`（含形式审查发现与推荐单位意见）。",
            "",
            f"待决定项目{pending}个{more}：",
            "",
            *markdown_table(
                ("申报编号", "项目名称", "推荐单位", "建议结论"),
                ((r.key, r.title, r.recommending_unit, r.suggested) for r in rows),
            ),
        ]
    )


def ask_staff(ctx: CampaignContext, pending: int, timeout: int) -> StageReport:
    """Pause the flow run with the decision form; record what the staff submit, or remind them
    when the form times out."""
    get_run_logger().info("等待工作人员在仪表盘作出立项决定：%d个项目", pending)
    form_input = AuditDecisionInput.with_initial_data(description=form_description(ctx, pending))
    try:
        form = pause_flow_run(
            wait_for_input=form_input,
            timeout=timeout,
            key=f"audit-decision-{ctx.year}",
        )
    except FlowPauseTimeout:
        return remind_staff(ctx, pending)
    return record_dashboard_decisions(ctx, AuditDecisionForm(**form.model_dump()))


def audit_body(
    ctx: CampaignContext,
    *,
    run: StepRunner = orchestrated,
    wait_for_staff: bool = False,
    pause_timeout: int = DEFAULT_PAUSE_TIMEOUT,
) -> StageReport:
    report = StageReport.start(STAGE, ctx)
    if not ctx.is_due(ctx.calendar.audit):
        report.waiting.append("立项审核尚未开始")
        return report
    report = report.merge(run(write_audit, ctx))
    if wait_for_staff:
        pending = len(pending_applications(UnitOfWork(), ctx))
        if pending:
            report = report.merge(ask_staff(ctx, pending, pause_timeout))
    applied = run(apply_decisions, ctx)
    report = report.merge(applied)
    if not applied.applied:
        return report
    return report.merge(run(publish_plan, ctx))


@flow(
    name="audit-stage",
    flow_run_name=stage_run_name("audit"),
    log_prints=True,
    on_failure=[notify_admins],
)
def audit_stage(
    year: int,
    as_of: str | None = None,
    wait_for_staff: bool = False,
    pause_timeout: int = DEFAULT_PAUSE_TIMEOUT,
) -> StageReport:
    """立项审核: audit workbook, decisions (dashboard form when `wait_for_staff`), plan."""
    body = functools.partial(audit_body, wait_for_staff=wait_for_staff, pause_timeout=pause_timeout)
    return run_stage(STAGE, year, as_of, body)
