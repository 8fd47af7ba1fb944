"""`qcamp experts|scores|evaluation|objections`: the commands of stages 7-8 (all messages in
Chinese; a wrong input exits with code 2 and a message naming the file, row, column and fix)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from deployments.cli_common import (
    AsOf,
    By,
    Year,
    campaign_context,
    check_received,
    fail,
    operator_name,
    upgraded_database,
)

Operator = Annotated[
    str | None,
    typer.Option(
        "--operator",
        help="登记的工作人员姓名（默认取环境变量 QCAMP_OPERATOR，再默认为本机登录用户）",
    ),
]

experts_app = typer.Typer(help="专家库", no_args_is_help=True)
scores_app = typer.Typer(help="专家评分表", no_args_is_help=True)
evaluation_app = typer.Typer(help="成果评定：确认优秀成果名单、专家谢绝", no_args_is_help=True)
objections_app = typer.Typer(help="公示期异议登记与处理", no_args_is_help=True)


@experts_app.command("import")
def experts_import(file: Path, by: By = None) -> None:
    """导入专家库（列：姓名、单位、专业领域、职称、电话、邮箱、回避单位）；按姓名+电话更新。"""
    from services.evaluation import EvaluationError
    from services.experts import import_experts
    from storage.uow import UnitOfWork

    upgraded_database()
    try:
        result = import_experts(UnitOfWork(), file, actor=operator_name(by))
    except EvaluationError as exc:
        fail(str(exc))
    typer.echo(f"专家库已导入：新增 {result.created} 人，更新 {result.updated} 人。")


@scores_app.command("import")
def scores_import(file: Path, year: Year, by: By = None, as_of: AsOf = None) -> None:
    """导入一个评定组填好的评分表（.xlsx）；有任何错误单元格则全部不保存并逐一列出。"""
    from services.evaluation import EvaluationError
    from services.scores import import_scores
    from storage.uow import UnitOfWork

    ctx = campaign_context(year, as_of)
    try:
        result = import_scores(UnitOfWork(), ctx, file, actor=operator_name(by))
    except EvaluationError as exc:
        fail(str(exc))
    typer.echo(
        f"评定组{result.panel_key}评分已导入：{len(result.experts)}位专家，{result.rows}条成果评分。"
    )


@evaluation_app.command("confirm")
def evaluation_confirm(
    year: Year,
    by: Annotated[str, typer.Option("--by", help="确认人姓名")],
    exclude: Annotated[
        str, typer.Option("--exclude", help="从拟认定名单调出的成果编号，用“、”或逗号分隔")
    ] = "",
    include: Annotated[
        str, typer.Option("--include", help="增补认定的成果编号，用“、”或逗号分隔")
    ] = "",
    reason: Annotated[str, typer.Option("--reason", help="调整名单的理由")] = "",
    as_of: AsOf = None,
) -> None:
    """确认优秀成果名单（拟认定名单按分数线和名额生成，可调出或增补并说明理由）。"""
    from services.evaluation import EvaluationError, confirm_excellent, split_list
    from storage.uow import UnitOfWork

    ctx = campaign_context(year, as_of)
    try:
        yes, no = confirm_excellent(
            UnitOfWork(),
            ctx,
            by,
            source="cli",
            exclude=split_list(exclude),
            include=split_list(include),
            reason=reason,
        )
    except EvaluationError as exc:
        fail(str(exc))
    typer.echo(
        f"{year}年优秀成果名单已确认：认定 {yes} 项，不予认定 {no} 项；下次运行成果评定阶段时更新项目状态。"
    )


@evaluation_app.command("decline")
def evaluation_decline(
    year: Year,
    panel: Annotated[str, typer.Option("--panel", help="评定组编号，如 P001")],
    expert: Annotated[str, typer.Option("--expert", help="专家编号，如 E1a2b3c4d")],
    reason: Annotated[str, typer.Option("--reason", help="谢绝原因")],
    by: By = None,
    as_of: AsOf = None,
) -> None:
    """登记专家谢绝，由备选专家递补并发送评审邀请。"""
    from services.evaluation import EvaluationError
    from services.panels import decline
    from storage.uow import UnitOfWork

    ctx = campaign_context(year, as_of)
    try:
        replacement = decline(UnitOfWork(), ctx, panel, expert, reason, actor=operator_name(by))
    except EvaluationError as exc:
        fail(str(exc))
    if replacement is None:
        typer.echo(f"已登记专家 {expert} 谢绝；评定组{panel}无可用备选专家，需补充抽取。")
    else:
        typer.echo(f"已登记专家 {expert} 谢绝；由备选专家 {replacement} 递补，已发送评审邀请。")


@objections_app.command("add")
def objections_add(
    year: Year,
    project: Annotated[str, typer.Option("--project", help="项目编号（计划编号）或记录号")],
    raised_by: Annotated[str, typer.Option("--by", help="异议人（单位或个人实名）")],
    content: Annotated[str, typer.Option("--content", help="异议内容")],
    received: Annotated[
        str | None,
        typer.Option(
            "--received",
            help="收到时间（信函、电话等的实际收到时间），如 2025-11-05T10:00（北京时间，默认现在）；"
            "不得早于公示开始日，不得晚于当前时间",
        ),
    ] = None,
    operator: Operator = None,
    as_of: AsOf = None,
) -> None:
    """登记公示期异议（须在公示期内实名提出）。"""
    from services.publicity import ObjectionError, add_objection
    from storage.uow import UnitOfWork

    ctx = campaign_context(year, as_of)
    at: dt.datetime | None = check_received(ctx, received, "--received") if received else None
    try:
        objection_id = add_objection(
            UnitOfWork(), ctx, project, raised_by, content, at, actor=operator_name(operator)
        )
    except ObjectionError as exc:
        fail(str(exc))
    typer.echo(f"异议已登记，编号 {objection_id}；处理完毕前不公布最终名单。")


@objections_app.command("resolve")
def objections_resolve(
    year: Year,
    objection: Annotated[int, typer.Option("--id", help="异议编号")],
    outcome: Annotated[str, typer.Option("--outcome", help="upheld（成立）或 dismissed（不成立）")],
    reason: Annotated[str, typer.Option("--reason", help="处理理由")],
    operator: Operator = None,
    as_of: AsOf = None,
) -> None:
    """登记异议处理结果：成立（该成果不予认定）或不成立。"""
    from domain.publicity import OUTCOME_LABELS
    from services.publicity import ObjectionError, resolve_objection
    from storage.uow import UnitOfWork

    ctx = campaign_context(year, as_of)
    try:
        resolve_objection(
            UnitOfWork(), ctx, objection, outcome, reason, actor=operator_name(operator)
        )
    except ObjectionError as exc:
        fail(str(exc))
    typer.echo(f"异议 {objection} 已处理：{OUTCOME_LABELS[outcome]}。")
