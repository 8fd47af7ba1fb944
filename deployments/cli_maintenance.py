"""`qcamp maintenance prune`: prune Prefect's run history now (the weekly deployment's flow)."""

from __future__ import annotations

from typing import Annotated

import typer

maintenance_app = typer.Typer(help="维护：清理 Prefect 运行记录", no_args_is_help=True)


@maintenance_app.command("prune")
def prune(
    days: Annotated[
        int | None,
        typer.Option(
            "--days",
            min=0,
            help="保留最近多少天的运行记录（默认取环境变量 QCAMP_PREFECT_RETENTION_DAYS、"
            "config/maintenance.toml 的 [maintenance] retention_days，否则 400）",
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只统计将删除多少，不删除")] = False,
) -> None:
    """删除保留期限之前的 Prefect 流程运行（连同任务运行、日志和产出），并压缩本地数据库。"""
    from flows.maintenance import prune_prefect_history
    from services.retention import RetentionConfigError

    try:
        lines = prune_prefect_history(days=days, dry_run=dry_run)
    except RetentionConfigError as exc:
        typer.echo(f"错误：{exc}", err=True)
        raise typer.Exit(2) from None
    for line in lines:
        typer.echo(line)


def register(app: typer.Typer) -> None:
    app.add_typer(maintenance_app, name="maintenance")
