"""`qcamp audit|training|visits|results`: the commands of stages 2-6 (all messages in Chinese;
a wrong input exits with code 2 and a message naming the file, row, column and fix)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from deployments.cli_common import (
    AsOf,
    By,
    Year,
    campaign_context,
    existing_file,
    fail,
    material_clock,
    operator_name,
)

if TYPE_CHECKING:
    from services.results import SubmissionOutcome

audit_app = typer.Typer(help="立项审核：导入审核表中的立项决定", no_args_is_help=True)
training_app = typer.Typer(help="宣贯培训：导入签到表", no_args_is_help=True)
visits_app = typer.Typer(help="跟踪服务：导入推荐单位走访记录", no_args_is_help=True)
results_app = typer.Typer(help="提交成果：登记成果材料、撤回项目", no_args_is_help=True)


@audit_app.command("decide")
def audit_decide(
    file: Path,
    year: Year,
    by: Annotated[str, typer.Option("--by", help="作出决定的工作人员姓名")],
    as_of: AsOf = None,
) -> None:
    """导入立项审核表“决定/理由”列（通过/不通过；不通过须填理由）；有错误则全部不保存。"""
    from services.audit import (
        DecisionError,
        WorkbookError,
        import_audit_decisions,
        pending_applications,
    )
    from storage.uow import UnitOfWork

    ctx = campaign_context(year, as_of)
    try:
        new = import_audit_decisions(UnitOfWork(), ctx, existing_file(file), by)
    except (WorkbookError, DecisionError) as exc:
        fail(str(exc))
    left = len(pending_applications(UnitOfWork(), ctx))
    typer.echo(f"已记录{by}的立项决定 {new} 项；尚待决定 {left} 项。")
    if not left:
        typer.echo("全部项目已有决定：下次运行立项审核阶段时生效并按时公布项目计划。")


@training_app.command("attendance")
def training_attendance(file: Path, year: Year, by: By = None, as_of: AsOf = None) -> None:
    """导入一个场次填好的签到表（签到情况：已签到/缺席/请假）；缺席人员将被安排到后续场次。"""
    from services.training import AttendanceError, import_attendance
    from storage.uow import UnitOfWork

    ctx = campaign_context(year, as_of)
    try:
        result = import_attendance(UnitOfWork(), ctx, existing_file(file), actor=operator_name(by))
    except AttendanceError as exc:
        fail(str(exc))
    typer.echo(
        f"{result.session_key}场次签到已导入：签到 {result.attended} 人，缺席 {result.absent} 人，"
        f"未标记 {result.unmarked} 人。"
    )


@visits_app.command("import")
def visits_import(file: Path, year: Year, by: By = None, as_of: AsOf = None) -> None:
    """导入走访记录（列：推荐单位、项目编号或项目名称、走访日期、走访人、发现问题与建议）。"""
    from services.follow_up import VisitImportError, import_visits
    from storage.uow import UnitOfWork

    ctx = campaign_context(year, as_of)
    try:
        result = import_visits(UnitOfWork(), ctx, existing_file(file), actor=operator_name(by))
    except VisitImportError as exc:
        fail(str(exc))
    typer.echo(
        f"走访记录已导入：{result.rows} 条，其中新增 {result.new} 条，已存在 {result.duplicates} 条。"
    )


@results_app.command("submit")
def results_submit(
    project: Annotated[str, typer.Argument(help="计划编号，如 TJZLGG-2025-0001")],
    year: Year,
    report: Annotated[str | None, typer.Option("--report", help="成果报告文件")] = None,
    process: Annotated[str | None, typer.Option("--process", help="过程材料文件")] = None,
    benefit: Annotated[str | None, typer.Option("--benefit", help="效益证明文件")] = None,
    achieved: Annotated[str, typer.Option("--achieved", help="取得成效（简述）")] = "",
    by: By = None,
    as_of: AsOf = None,
) -> None:
    """登记推荐单位报送的成果材料：送达时间即登记时间（不能补记为更早的时间）；截止后送达的
    记为逾期、不予接收，除非该单位有经批准的截止后例外。"""
    from services.results import ResultsError, submit_results
    from storage.uow import UnitOfWork

    ctx = campaign_context(year, material_clock(as_of))
    parts = {
        name: value
        for name, value in (("成果报告", report), ("过程材料", process), ("效益证明", benefit))
        if value
    }
    if not parts:
        fail("未提供任何材料：请用 --report/--process/--benefit 指定成果报告、过程材料、效益证明")
    try:
        result = submit_results(
            UnitOfWork(), ctx, project, parts, ctx.now, achieved, actor=operator_name(by)
        )
    except ResultsError as exc:
        fail(str(exc))
    typer.echo(submission_line(result))


@results_app.command("withdraw")
def results_withdraw(
    project: Annotated[str, typer.Argument(help="计划编号，如 TJZLGG-2025-0001")],
    year: Year,
    reason: Annotated[str, typer.Option("--reason", help="撤回理由")],
    by: Annotated[str, typer.Option("--by", help="经办人姓名")],
    as_of: AsOf = None,
) -> None:
    """撤回项目（记录理由和经办人）。"""
    from services.results import ResultsError, withdraw
    from storage.uow import UnitOfWork

    ctx = campaign_context(year, as_of)
    try:
        withdraw(UnitOfWork(), ctx, project, reason, by)
    except ResultsError as exc:
        fail(str(exc))
    typer.echo(f"{project} 已撤回：{reason}（经办人：{by}）。")


def submission_line(outcome: SubmissionOutcome) -> str:
    """What staff are told of one project's result material: late, complete, or what is missing."""
    if outcome.late:
        return f"{outcome.plan_number}：材料逾期送达，已记录但不予接收，并已通知推荐单位。"
    if outcome.complete:
        return f"{outcome.plan_number}：成果材料齐全，已受理。"
    missing = "、".join(outcome.missing_parts)
    return f"{outcome.plan_number}：已登记，尚缺 {missing}，已通知推荐单位补齐。"
