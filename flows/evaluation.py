"""Stage 7 成果评定 as a flow: the panel draw, the scores, and the staff's confirmation of the
excellent list (a pause form on the dashboard when `wait_for_staff` is set)."""

from __future__ import annotations

from functools import partial

from prefect import flow, pause_flow_run
from prefect.input import RunInput
from pydantic import Field

from domain.calendar import SHANGHAI
from flows.failures import notify_admins
from flows.stage import StepRunner, orchestrated, run_stage, stage_run_name
from services.context import CampaignContext, StageReport, markdown_table
from services.evaluation import (
    STAGE,
    EvaluationError,
    aggregated,
    confirm_excellent,
    excellent_confirmed,
    excellent_proposal,
    split_list,
)
from storage.uow import UnitOfWork
from tasks.evaluation import (
    aggregate_scores,
    apply_excellent_decisions,
    draw_expert_panels,
    send_score_sheets,
)

STAFF_TIMEOUT_SECONDS = 7 * 24 * 3600


class ExcellentListInput(RunInput):
    """优秀成果名单确认表单."""

    confirm: bool = Field(
        False, title="确认名单", description="确认拟认定优秀成果名单（勾选后提交即生效）"
    )
    decided_by: str = Field("", title="确认人", description="确认人姓名（记入决定记录）")
    exclude: str = Field(
        "",
        title="调出的成果",
        description="从拟认定名单中调出的成果编号，多个用“、”分隔；不调整则留空",
    )
    include: str = Field(
        "",
        title="增补的成果",
        description="增补认定的成果编号（须已评分），多个用“、”分隔；不调整则留空",
    )
    reason: str = Field("", title="调整理由", description="调整名单的理由（调出或增补时必填）")


def ask_staff(ctx: CampaignContext) -> StageReport:
    """Pause the flow run with the proposed list; record the staff's answer as decisions."""
    report = StageReport.start(STAGE, ctx)
    proposal = excellent_proposal(UnitOfWork(), ctx)
    if proposal is None:
        return report
    quota = f"{proposal.quota}项" if proposal.quota else "不限"
    lines = [
        f"## {ctx.year}年质量攻关优秀成果拟认定名单",
        "",
        f"分数线：{proposal.threshold:g}分；名额：{quota}；拟认定{len(proposal.proposed)}项"
        f"（共评定{len(proposal.rows)}项）。",
        "",
        *markdown_table(
            (
                "成果编号",
                "成果名称",
                "课题类型",
                "产业链",
                "得分",
                "类型内排名" if proposal.by_kind else "总排名",
                "链内排名",
                "拟认定",
            ),
            (
                (k, t, proposal.kinds.get(k, ""), c, f"{s:g}", r, cr, "是" if p else "否")
                for k, t, c, s, r, cr, p in proposal.rows[:200]
            ),
        ),
    ]
    form = ExcellentListInput.with_initial_data(description="\n".join(lines), confirm=False)
    answer = pause_flow_run(
        wait_for_input=form, timeout=STAFF_TIMEOUT_SECONDS, key="excellent-list"
    )
    if not answer.confirm:
        report.waiting.append("质量发展处未确认优秀成果名单，下次运行时再次请求确认")
        return report
    try:
        yes, no = confirm_excellent(
            UnitOfWork(),
            ctx,
            answer.decided_by.strip() or "质量发展处",
            source="dashboard",
            exclude=split_list(answer.exclude),
            include=split_list(answer.include),
            reason=answer.reason,
        )
    except EvaluationError as exc:
        report.waiting.append(f"确认表单有误，未记录决定：{exc}")
        return report
    report.done.append(f"质量发展处在仪表盘确认优秀成果名单：认定{yes}项，不予认定{no}项")
    return report


def _staff_decision(ctx: CampaignContext, report: StageReport) -> StageReport | None:
    """With `wait_for_staff`: the dashboard's confirmation once it is due; None while it is not
    (the stage then waits, with why in the report returned by the caller)."""
    if excellent_confirmed(UnitOfWork(), ctx):
        return report
    if ctx.is_due(ctx.calendar.excellent_decision):
        return report.merge(ask_staff(ctx))
    report.waiting.append(
        "优秀成果名单确认时间 "
        f"{ctx.calendar.excellent_decision.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"
    )
    return None


def evaluation_body(
    ctx: CampaignContext, *, run: StepRunner = orchestrated, wait_for_staff: bool = False
) -> StageReport:
    """成果评定's run at `ctx.now`: the draw and the score sheets once due, the aggregation once
    the scores are in, then the staff's decision applied."""
    report = StageReport.start(STAGE, ctx)
    if not ctx.is_due(ctx.calendar.panel_draw):
        report.waiting.append(
            f"评定组抽取时间 {ctx.calendar.panel_draw.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"
        )
        return report
    report = report.merge(
        run(draw_expert_panels, ctx), run(send_score_sheets, ctx), run(aggregate_scores, ctx)
    )
    if not aggregated(UnitOfWork(), ctx):
        return report
    if wait_for_staff:
        decided = _staff_decision(ctx, report)
        if decided is None:
            return report
        report = decided
    return report.merge(run(apply_excellent_decisions, ctx))


@flow(
    name="evaluation-stage",
    flow_run_name=stage_run_name("evaluation"),
    log_prints=True,
    on_failure=[notify_admins],
)
def evaluation_stage(
    year: int, as_of: str | None = None, wait_for_staff: bool = False
) -> StageReport:
    """成果评定: panels drawn with recusal, scores imported and aggregated, the excellent list
    confirmed by staff (a pause form when `wait_for_staff`)."""
    return run_stage(
        "evaluation", year, as_of, partial(evaluation_body, wait_for_staff=wait_for_staff)
    )
