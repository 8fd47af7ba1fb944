"""`qcamp exceptions grant|list|revoke`: 截止后例外 — the one way a closed stage (申报、成果提交)
takes a unit's material after its deadline, recorded with who allowed it and why (all messages
in Chinese; a wrong input exits with code 2)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from deployments.cli_common import (
    TIME_FORMATS,
    By,
    Year,
    campaign_context,
    fail,
    operator_name,
    parse_time,
)

exceptions_app = typer.Typer(
    help="截止后例外：准许某推荐单位在截止后报送申报或成果材料（记录批准人和理由）",
    no_args_is_help=True,
)

Reason = Annotated[str, typer.Option("--reason", help="理由（记入例外记录）")]


@exceptions_app.command("grant")
def grant(
    year: Year,
    unit: Annotated[str, typer.Option("--unit", help="推荐单位代码")],
    stage: Annotated[
        str, typer.Option("--stage", help="application（项目申报）或 results（提交成果）")
    ],
    until: Annotated[str, typer.Option("--until", help=f"准许报送至此时刻。格式：{TIME_FORMATS}")],
    reason: Reason,
    by: By = None,
) -> None:
    """批准截止后例外：该推荐单位在此时刻前送达的该阶段材料照常受理，并标注例外编号。"""
    from services.exceptions import ExceptionError
    from services.exceptions import grant as grant_exception
    from storage.uow import UnitOfWork

    when = parse_time(until, "--until")
    ctx = campaign_context(year, None)
    try:
        out = grant_exception(
            UnitOfWork(), ctx, unit, stage, when, by=operator_name(by), reason=reason
        )
    except ExceptionError as exc:
        fail(str(exc))
    typer.echo(f"已批准：{out.line()}")


@exceptions_app.command("list")
def list_command(
    year: Year,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """列出本年度全部截止后例外（含已撤销的）。"""
    from services.exceptions import list_exceptions
    from storage.uow import UnitOfWork

    found = list_exceptions(UnitOfWork(), campaign_context(year, None))
    if as_json:
        rows = [e.model_dump(mode="json") for e in found]
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not found:
        typer.echo(f"{year}年度没有截止后例外。")
    for e in found:
        typer.echo(e.line())


@exceptions_app.command("revoke")
def revoke(
    exception_id: Annotated[int, typer.Argument(help="例外编号（见 qcamp exceptions list）")],
    year: Year,
    reason: Reason,
    by: By = None,
) -> None:
    """撤销截止后例外：此后送达的材料不再按例外受理；已按例外受理的记录保留。"""
    from services.exceptions import ExceptionError
    from services.exceptions import revoke as revoke_exception
    from storage.uow import UnitOfWork

    ctx = campaign_context(year, None)
    try:
        out = revoke_exception(UnitOfWork(), ctx, exception_id, by=operator_name(by), reason=reason)
    except ExceptionError as exc:
        fail(str(exc))
    typer.echo(f"已撤销：{out.line()}")
