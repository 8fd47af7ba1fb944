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
    By,
    campaign_context,
    check_year,
    fail,
    operator_name,
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


@db_app.command("rows")
def db_rows() -> None:
    """每张数据表的行数（JSON），用于核对两次运行的结果是否一致。"""
    from storage.db import row_counts

    typer.echo(json.dumps(row_counts(), ensure_ascii=False, indent=1, sort_keys=True))


@app.command(
    "demo",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def demo(ctx: typer.Context) -> None:
    """演示：用模拟时钟完整运行一届活动（python -m simulation 的全部选项，如 --projects、--seed、
    --out；--chaos N 为故障演练）。"""
    import os

    os.execv(sys.executable, [sys.executable, "-m", "simulation", *ctx.args])


@units_app.command("import")
def units_import(file: Path, by: By = None) -> None:
    """导入推荐单位名录（列：单位代码、单位名称、类型、联系人、电话、邮箱）。"""
    from services.registry import ImportProblem, import_units
    from storage.uow import UnitOfWork

    upgraded_database()
    try:
        result = import_units(UnitOfWork(), file, actor=operator_name(by))
    except ImportProblem as exc:
        fail(str(exc))
    typer.echo(f"推荐单位已导入：新增 {result.added} 个，更新 {result.updated} 个。")


@past_app.command("import")
def past_import(file: Path, by: By = None) -> None:
    """导入历年优秀成果（列：年份、项目名称、单位、摘要），用于雷同检查。"""
    from services.registry import ImportProblem, import_past_results
    from storage.uow import UnitOfWork

    upgraded_database()
    try:
        result = import_past_results(UnitOfWork(), file, actor=operator_name(by))
    except ImportProblem as exc:
        fail(str(exc))
    typer.echo(f"历年优秀成果已导入：新增 {result.added} 条，已存在 {result.existing} 条。")


@past_app.command("list")
def past_list(
    year: Annotated[
        int | None, typer.Option("--year", help="只列出该年度的优秀成果（默认全部年度）")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """列出历年优秀成果库（年份、项目名称、单位、摘要）：导入的和每年公布时自动加入的。"""
    from storage.uow import UnitOfWork

    if year is not None:
        check_year(year)
    upgraded_database()
    with UnitOfWork() as uow:
        results = uow.registry.past_results_of(year)
    if as_json:
        rows = [r.model_dump(mode="json") for r in results]
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    scope = f"{year}年" if year is not None else "全部年度"
    typer.echo(f"历年优秀成果库（{scope}）：共 {len(results)} 项")
    for r in results:
        typer.echo(f"{r.year}\t{r.title}\t{r.unit}")


@app.command("templates")
def templates(
    out: Annotated[Path, typer.Option("--out", help="输出目录")] = Path("templates"),
) -> None:
    """生成空白申报书（.docx）、立项申报汇总表（.xlsx），以及各名录的导入模板（导入模板/）。"""
    from documents.import_templates import write_import_templates
    from services.application import blank_forms

    for path in [*blank_forms(out), *write_import_templates(out / "导入模板")]:
        typer.echo(f"已生成：{path}")


@app.command("intake")
def intake(
    paths: Annotated[list[Path], typer.Argument(help="申报书、汇总表、文件夹或 .zip")],
    year: Annotated[int, typer.Option("--year", help="活动年度")] = dt.date.today().year,
    unit: Annotated[str, typer.Option("--unit", help="推荐单位代码")] = "",
    by: By = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出结果")] = False,
) -> None:
    """受理一个推荐单位报送的一批申报材料。送达时间取文件到达（修改）时间，不能手工指定；
    申报截止后送达的批次不予受理，除非有经批准的截止后例外（qcamp exceptions grant）。"""
    from documents.inbox import latest_arrival
    from services.intake import IntakeError, intake_batch
    from storage.uow import UnitOfWork

    if not unit:
        fail("请用 --unit 指定推荐单位代码。")
    check_year(year)
    ctx = campaign_context(year, None)
    received = min(latest_arrival(paths), ctx.now) if all(p.exists() for p in paths) else None
    try:
        result = intake_batch(
            UnitOfWork(), ctx, unit, paths, received_at=received, actor=operator_name(by)
        )
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
    if b.exception_id:
        typer.echo(f"该批次逾期送达，依据截止后例外#{b.exception_id}受理。")
    if b.feedback_document:
        typer.echo(f"审核意见：{b.feedback_document}")


def _register_stage_commands() -> None:
    """The stage packages' own sub-commands (审核、培训、走访、成果、专家、评分、异议、运行与部署)."""
    from deployments import (
        cli_campaign,
        cli_doors,
        cli_evaluation,
        cli_exceptions,
        cli_inbox,
        cli_maintenance,
        cli_messages,
        cli_middle,
        cli_ops,
    )

    app.add_typer(cli_campaign.campaign_app, name="campaign")

    app.add_typer(cli_middle.audit_app, name="audit")
    app.add_typer(cli_middle.training_app, name="training")
    app.add_typer(cli_middle.visits_app, name="visits")
    app.add_typer(cli_middle.results_app, name="results")
    app.add_typer(cli_evaluation.experts_app, name="experts")
    app.add_typer(cli_evaluation.scores_app, name="scores")
    app.add_typer(cli_evaluation.evaluation_app, name="evaluation")
    app.add_typer(cli_evaluation.objections_app, name="objections")
    app.add_typer(cli_exceptions.exceptions_app, name="exceptions")
    cli_ops.register(app)
    cli_doors.register(app)
    cli_messages.register(app)
    cli_inbox.register(app)
    cli_maintenance.register(app)


_register_stage_commands()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("已中断。", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
