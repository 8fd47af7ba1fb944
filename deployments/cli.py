"""`qcamp`: the command line of the campaign (all messages in Chinese)."""

from __future__ import annotations

from deployments.prefect_defaults import set_prefect_defaults

set_prefect_defaults()  # before Prefect is imported anywhere

import datetime as dt  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Annotated  # noqa: E402

import typer  # noqa: E402

from deployments.cli_common import (  # noqa: E402
    TIME_FORMATS,
    campaign_context,
    check_received,
    check_year,
    fail,
    parse_time,
    upgraded_database,
)

app = typer.Typer(
    help="天津市质量攻关活动自动化：申报受理、立项审核、培训、跟踪、成果评定与公示。",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _check_database_url() -> None:
    """A QCAMP_DATABASE_URL that names no usable database is refused before any command runs."""
    from storage.db import DatabaseUnusable, get_engine

    try:
        get_engine()
    except DatabaseUnusable as exc:
        fail(str(exc))


db_app = typer.Typer(help="数据库管理", no_args_is_help=True)
units_app = typer.Typer(help="推荐单位名录", no_args_is_help=True)
past_app = typer.Typer(help="历年优秀成果", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(units_app, name="units")
app.add_typer(past_app, name="past-results")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """升级数据库结构到最新版本（SQLite 或 QCAMP_DATABASE_URL 指定的 PostgreSQL）。"""
    from storage.db import current_revision
    from storage.settings import get_settings

    upgraded_database()
    url = get_settings().database_url
    shown = url.split("@")[-1] if "@" in url else url
    typer.echo(f"数据库已升级到版本 {current_revision()}：{shown}")


@units_app.command("import")
def units_import(file: Path) -> None:
    """导入推荐单位名录（列：单位代码、单位名称、类型、联系人、电话、邮箱）。"""
    from services.registry import ImportProblem, import_units
    from storage.uow import UnitOfWork

    upgraded_database()
    try:
        result = import_units(UnitOfWork(), file)
    except ImportProblem as exc:
        fail(str(exc))
    typer.echo(f"推荐单位已导入：新增 {result.added} 个，更新 {result.updated} 个。")


@past_app.command("import")
def past_import(file: Path) -> None:
    """导入历年优秀成果（列：年份、项目名称、单位、摘要），用于雷同检查。"""
    from services.registry import ImportProblem, import_past_results
    from storage.uow import UnitOfWork

    upgraded_database()
    try:
        result = import_past_results(UnitOfWork(), file)
    except ImportProblem as exc:
        fail(str(exc))
    typer.echo(f"历年优秀成果已导入：新增 {result.added} 条，已存在 {result.existing} 条。")


@app.command("templates")
def templates(
    out: Annotated[Path, typer.Option("--out", help="输出目录")] = Path("templates"),
) -> None:
    """生成空白申报书（.docx）和立项申报汇总表（.xlsx）。"""
    from services.application import blank_forms

    for path in blank_forms(out):
        typer.echo(f"已生成：{path}")


@app.command("intake")
def intake(
    paths: Annotated[list[Path], typer.Argument(help="申报书、汇总表、文件夹或 .zip")],
    year: Annotated[int, typer.Option("--year", help="活动年度")] = dt.date.today().year,
    unit: Annotated[str, typer.Option("--unit", help="推荐单位代码")] = "",
    received_at: Annotated[
        str | None,
        typer.Option("--received-at", help=f"送达时间（默认现在）。格式：{TIME_FORMATS}"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出结果")] = False,
) -> None:
    """受理一个推荐单位报送的一批申报材料。"""
    from services.intake import IntakeError, intake_batch
    from storage.uow import UnitOfWork

    if not unit:
        fail("请用 --unit 指定推荐单位代码。")
    check_year(year)
    when = parse_time(received_at, "--received-at") if received_at else None
    ctx = campaign_context(year, when)
    if received_at:
        when = check_received(ctx, received_at, "--received-at")
    try:
        result = intake_batch(UnitOfWork(), ctx, unit, paths, received_at=when)
    except IntakeError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps(result.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    b = result.batch
    if b.repeated:
        typer.echo(f"该批材料（{b.unit_name} 第{b.version}版）此前已受理，未做任何更改。")
    typer.echo(
        f"{b.unit_name} 第{b.version}版：共{len(result.applications)}项，受理{b.accepted}项，退回{b.returned}项"
        + ("（逾期，不予受理）" if b.late else "")
        + ("（整批未受理，此前受理的版本继续有效）" if b.status == "refused" else "")
    )
    for f in b.findings:
        typer.echo(f"  [批次] {f.code} {f.message}")
    for a in result.applications:
        mark = "受理" if a.status == "accepted" else "退回"
        typer.echo(f"  [{mark}] {a.title}（{a.applicant}）")
        for f in a.findings:
            typer.echo(f"      - {f.code}（{f.field}）：{f.message}")
    if b.feedback_document:
        typer.echo(f"审核意见：{b.feedback_document}")


def _register_stage_commands() -> None:
    """The stage packages' own sub-commands (审核、培训、走访、成果、专家、评分、异议、运行与部署)."""
    from deployments import (
        cli_doors,
        cli_evaluation,
        cli_maintenance,
        cli_messages,
        cli_middle,
        cli_ops,
    )

    app.add_typer(cli_middle.audit_app, name="audit")
    app.add_typer(cli_middle.training_app, name="training")
    app.add_typer(cli_middle.visits_app, name="visits")
    app.add_typer(cli_middle.results_app, name="results")
    app.add_typer(cli_evaluation.experts_app, name="experts")
    app.add_typer(cli_evaluation.scores_app, name="scores")
    app.add_typer(cli_evaluation.evaluation_app, name="evaluation")
    app.add_typer(cli_evaluation.objections_app, name="objections")
    cli_ops.register(app)
    cli_doors.register(app)
    cli_messages.register(app)
    cli_maintenance.register(app)


_register_stage_commands()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("已中断。", err=True)
        sys.exit(130)
