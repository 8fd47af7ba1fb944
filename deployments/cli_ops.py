"""Operations commands: `qcamp serve` (all deployments from one process) and `qcamp run STAGE`.

The lead's `deployments/cli.py` calls `register(app)`, which adds both commands.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from deployments.cli_common import (
    TIME_FORMATS,
    campaign_context,
    check_run_clock,
    check_year,
    parse_time,
)
from deployments.serve import (
    ENTRYPOINTS,
    WAIT_FOR_STAFF,
    accepts,
    current_year,
    load_flow,
    serve_all,
)

serve_app = typer.Typer(
    help="运行所有部署（年度活动和九个阶段），供 Prefect 仪表板调度和手动运行。"
)

STAGE_ALIASES: dict[str, str] = {
    "项目申报": "application",
    "立项审核": "audit",
    "宣贯培训": "training",
    "项目实施": "implementation",
    "跟踪服务": "follow_up",
    "提交成果": "results",
    "成果评定": "evaluation",
    "公示公布": "publicity",
    "宣传推广": "promotion",
    "年度活动": "campaign",
}


def resolve_stage(name: str) -> str:
    key = STAGE_ALIASES.get(name.strip(), name.strip().lower().replace("-", "_"))
    if key not in ENTRYPOINTS:
        choices = "、".join(ENTRYPOINTS)
        raise typer.BadParameter(f"未知阶段“{name}”。可选：{choices}（或中文阶段名）")
    return key


@serve_app.callback(invoke_without_command=True)
def serve(
    year: Annotated[int | None, typer.Option(help="活动年度，默认今年")] = None,
    stage: Annotated[
        list[str] | None, typer.Option("--stage", help="只运行这些部署（可重复），默认全部")
    ] = None,
) -> None:
    """运行所有部署，直到按 Ctrl-C 停止。"""
    keys = [resolve_stage(s) for s in stage] if stage else None
    year = check_year(current_year() if year is None else year)
    typer.echo(f"正在运行 {year} 年度质量攻关部署（PREFECT_API_URL={api_url()}），Ctrl-C 停止……")
    try:
        serve_all(year, keys)
    except Exception as exc:
        from services.failures import explain

        typer.echo(f"无法提供部署。{explain(exc).text()}", err=True)
        raise typer.Exit(2) from None


def api_url() -> str:
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or "临时本地服务"


def outcome_markdown(result: Any) -> str:
    """A StageReport, or the campaign's dict of them, as the Chinese markdown staff read."""
    if isinstance(result, dict):
        parts = [outcome_markdown(o) for key, o in result.items() if key != "delivery"]
        if not parts:
            parts = ["本次运行没有到期的阶段。"]
        if "delivery" in result:
            parts.append(outcome_markdown(result["delivery"]))
        return "\n\n".join(parts)
    markdown = getattr(result, "markdown", None)
    return markdown() if callable(markdown) else str(result)


def run(
    stage: Annotated[str, typer.Argument(help="阶段（application、audit…或中文名），或 campaign")],
    year: Annotated[int | None, typer.Option(help="活动年度，默认今年")] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help=f"按此时刻运行（默认现在）。格式：{TIME_FORMATS}；不得晚于本机当前时间和活动结束时间",
        ),
    ] = None,
    wait_for_staff: Annotated[
        bool,
        typer.Option("--wait-for-staff", help="需要人工决定时暂停，等待工作人员在仪表板填写表单"),
    ] = False,
    direct: Annotated[
        bool,
        typer.Option(
            "--direct",
            help="不经 Prefect 编排，直接执行同样的步骤（Prefect 服务不可用时应急；不产生运行记录、"
            "仪表板产出和事件，也不能等待人工决定）",
        ),
    ] = False,
) -> None:
    """在本机运行一个阶段（或整个年度活动），打印本次运行结果。失败后可再次运行，已完成的步骤不会重复。"""
    key = resolve_stage(stage)
    year = check_year(current_year() if year is None else year)
    if as_of is not None:
        when = parse_time(as_of)
        check_run_clock(campaign_context(year, when), when)
        as_of = when.isoformat()
    else:
        campaign_context(year, None)  # the database and the year's config, checked first
    from services.campaign import RunInProgress, one_run_at_a_time

    try:
        # Held here, before Prefect starts, so a second run is refused before it does
        # anything; the flow in this process takes the same lock again.
        with one_run_at_a_time(year, key):
            run_in_process(key, stage, year, as_of, wait_for_staff, direct)
    except RunInProgress as exc:
        _failed(exc, stage, year, as_of)


def run_in_process(
    key: str, stage: str, year: int, as_of: str | None, wait_for_staff: bool, direct: bool
) -> None:
    """The run itself: through Prefect (a temporary local API when none is configured), or
    with `direct` the same steps without it."""
    if direct:
        run_directly(key, stage, year, as_of, wait_for_staff)
        return
    stage_flow = load_flow(key)
    kwargs: dict[str, Any] = {"year": year, "as_of": as_of}
    if accepts(stage_flow, WAIT_FOR_STAFF):
        # Without the flag a local run does not wait on people: decisions stay pending.
        kwargs[WAIT_FOR_STAFF] = wait_for_staff
    elif wait_for_staff:
        typer.echo(f"提示：{key} 阶段没有需要人工决定的事项，忽略 --wait-for-staff。", err=True)
    from deployments.ephemeral_api import prefect_api

    try:
        with prefect_api():
            result = stage_flow(**kwargs)
    except Exception as exc:  # the flow run is marked Failed in Prefect; tell staff what to do
        _failed(exc, stage, year, as_of)
    typer.echo(outcome_markdown(result))


def run_directly(key: str, stage: str, year: int, as_of: str | None, wait_for_staff: bool) -> None:
    """`qcamp run … --direct`: the same steps, each its service call, without Prefect."""
    from flows.campaign import run_campaign_directly, run_stage_directly

    if wait_for_staff:
        typer.echo("提示：--direct 运行不能等待人工决定，忽略 --wait-for-staff。", err=True)
    try:
        if key == "campaign":
            result: Any = run_campaign_directly(year, as_of)
        else:
            result = run_stage_directly(key, year, as_of)
    except Exception as exc:
        _failed(exc, stage, year, as_of, " --direct")
    typer.echo(outcome_markdown(result))


BUSY_EXIT = 3  # another run of the same work is in progress: nothing was done, try later


def _failed(exc: Exception, stage: str, year: int, as_of: str | None, flag: str = "") -> None:
    from services.campaign import RunInProgress

    if isinstance(exc, RunInProgress):
        typer.echo(f"错误：{exc}（已完成的步骤不会重复）。", err=True)
        raise typer.Exit(BUSY_EXIT) from None
    from services.failures import explain

    typer.echo(f"运行失败：{type(exc).__name__}: {exc}", err=True)
    typer.echo(explain(exc).text(), err=True)
    typer.echo(
        f"修正问题后重新运行：qcamp run {stage} --year {year}"
        + (f" --as-of {as_of}" if as_of else "")
        + flag
        + "（已完成的步骤不会重复）",
        err=True,
    )
    raise typer.Exit(1) from exc


def register(app: typer.Typer) -> None:
    """Add `qcamp serve` and `qcamp run` to the main CLI."""
    app.add_typer(serve_app, name="serve")
    app.command("run")(run)
