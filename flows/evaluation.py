"""Stage 7 成果评定 as a flow: the panel draw, the scores, and the staff's confirmation of the
excellent list (a pause form on the dashboard when `wait_for_staff` is set)."""

from __future__ import annotations

from functools import partial

from prefect import flow, pause_flow_run
from prefect.input import RunInput
from pydantic import Field

from domain.calendar import SHANGHAI
from flows.stage import legacy_body, run_stage, stage_run_name
from services.context import CampaignContext, StageReport, markdown_table
from tasks.evaluation import (
    EvaluationError,
    aggregate_scores,
    apply_excellent_decisions,
    confirm_excellent,
    draw_expert_panels,
    excellent_confirmed,
    excellent_proposal,
    send_score_sheets,
    split_list,
)

STAFF_TIMEOUT_SECONDS = 7 * 24 * 3600


class ExcellentListInput(RunInput):
    """优秀成果名单确认表单."""

    confirm: bool = Field(False, description="确认拟认定优秀成果名单（勾选后提交即生效）")
    decided_by: str = Field("", description="确认人姓名（记入决定记录）")
    exclude: str = Field(
        "", description="从拟认定名单中调出的成果编号，多个用“、”分隔；不调整则留空"
    )
    include: str = Field(
        "", description="增补认定的成果编号（须已评分），多个用“、”分隔；不调整则留空"
    )
    reason: str = Field("", description="调整名单的理由（调出或增补时必填）")


def ask_staff(ctx: CampaignContext, outcome: StageReport) -> None:
    """Pause the flow run with the proposed list; record the staff's answer as decisions."""
    proposal = excellent_proposal(ctx)
    if proposal is None:
        return
    quota = f"{proposal.quota}项" if proposal.quota else "不限"
    lines = [
        f"## {ctx.year}年质量攻关优秀成果拟认定名单",
        "",
        f"分数线：{proposal.threshold:g}分；名额：{quota}；拟认定{len(proposal.proposed)}项"
        f"（共评定{len(proposal.rows)}项）。",
        "",
        *markdown_table(
            ("成果编号", "成果名称", "产业链", "得分", "总排名", "链内排名", "拟认定"),
            (
                (k, t, c, f"{s:g}", r, cr, "是" if p else "否")
                for k, t, c, s, r, cr, p in proposal.rows[:200]
            ),
        ),
    ]
    form = ExcellentListInput.with_initial_data(description="\n".join(lines), confirm=False)
    answer = pause_flow_run(
        wait_for_input=form, timeout=STAFF_TIMEOUT_SECONDS, key="excellent-list"
    )
    if not answer.confirm:
        outcome.waiting.append("质量发展处未确认优秀成果名单，下次运行时再次请求确认")
        return
    try:
        yes, no = confirm_excellent(
            ctx,
            answer.decided_by.strip() or "质量发展处",
            source="dashboard",
            exclude=split_list(answer.exclude),
            include=split_list(answer.include),
            reason=answer.reason,
        )
    except EvaluationError as exc:
        outcome.waiting.append(f"确认表单有误，未记录决定：{exc}")
        return
    outcome.done.append(f"质量发展处在仪表盘确认优秀成果名单：认定{yes}项，不予认定{no}项")


def evaluation_body(
    ctx: CampaignContext, outcome: StageReport, wait_for_staff: bool = False
) -> None:
    if not ctx.is_due(ctx.calendar.panel_draw):
        outcome.waiting.append(
            f"评定组抽取时间 {ctx.calendar.panel_draw.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"
        )
        return
    draw_expert_panels(ctx, outcome)
    send_score_sheets(ctx, outcome)
    if not aggregate_scores(ctx, outcome):
        return
    if wait_for_staff and not excellent_confirmed(ctx):
        if ctx.is_due(ctx.calendar.excellent_decision):
            ask_staff(ctx, outcome)
        else:
            outcome.waiting.append(
                "优秀成果名单确认时间 "
                f"{ctx.calendar.excellent_decision.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"
            )
            return
    apply_excellent_decisions(ctx, outcome)


@flow(name="evaluation-stage", flow_run_name=stage_run_name("evaluation"), log_prints=True)
def evaluation_stage(
    year: int, as_of: str | None = None, wait_for_staff: bool = False
) -> StageReport:
    """成果评定: panels drawn with recusal, scores imported and aggregated, the excellent list
    confirmed by staff (a pause form when `wait_for_staff`)."""
    return run_stage(
        "evaluation",
        year,
        as_of,
        legacy_body("evaluation", partial(evaluation_body, wait_for_staff=wait_for_staff)),
    )
