"""`qcamp checkins import` (the returned 进度报告), `qcamp results import` (result material as
files) and `qcamp status` (the campaign's summary,
read only): the doors the staff — and the demo's simulated staff — use besides the stage
commands. All messages in Chinese; a wrong input exits with code 2."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from pathlib import Path
from typing import Annotated, Any

import typer

from deployments.cli_common import (
    AsOf,
    By,
    Year,
    campaign_context,
    existing_file,
    fail,
    operator_name,
)
from deployments.cli_middle import submission_line
from documents.inbox import arrived_at

checkins_app = typer.Typer(help="项目实施：导入项目单位返回的进度报告", no_args_is_help=True)


@checkins_app.command("import")
def checkins_import(
    files: Annotated[list[Path], typer.Argument(help="填好的进度报告（.xlsx），可多个")],
    year: Year,
    by: By = None,
    as_of: AsOf = None,
) -> None:
    """导入项目单位返回的进度报告；送达时间取文件的修改时间，有错误则全部不保存。"""
    from domain.checkins import CheckinError
    from services.implementation import import_checkins
    from storage.uow import UnitOfWork

    ctx = campaign_context(year, as_of)
    by_time: dict[dt.datetime, list[Path]] = defaultdict(list)
    for file in files:
        by_time[arrived_at(existing_file(file))].append(file)
    on_time = late = 0
    try:
        for received_at, paths in by_time.items():
            result = import_checkins(UnitOfWork(), ctx, paths, received_at, actor=operator_name(by))
            on_time, late = on_time + result.on_time, late + result.late
    except CheckinError as exc:
        fail(str(exc))
    typer.echo(f"进度报告已导入：按时 {on_time} 份，逾期 {late} 份。")


ACHIEVED_PART = "取得成效"  # a unit's short statement of what the project achieved (.txt)


def results_import(
    files: Annotated[
        list[Path], typer.Argument(help="成果材料文件，文件名为“计划编号_材料类别.扩展名”")
    ],
    year: Year,
    by: By = None,
    as_of: AsOf = None,
) -> None:
    """登记推荐单位转来的成果材料文件（成果报告、过程材料、效益证明；“计划编号_取得成效.txt”
    写取得成效）；送达时间取文件的修改时间，截止后送达的记为逾期；有错误则全部不保存。"""
    from domain.results import ResultsError
    from services.results import Submission, submit_results_batch
    from storage.uow import UnitOfWork

    ctx = campaign_context(year, as_of)
    groups: dict[tuple[str, dt.datetime], tuple[dict[str, str], list[str]]] = {}
    for file in files:
        number, sep, part = existing_file(file).stem.partition("_")
        if not sep or not part:
            fail(
                f"文件名 {file.name} 不对：应为“计划编号_材料类别.扩展名”，如 TJZLGG-{year}-0001_成果报告.pdf"
            )
        parts, achieved = groups.setdefault((number, arrived_at(file)), ({}, []))
        if part == ACHIEVED_PART:
            achieved.append(file.read_text(encoding="utf-8", errors="replace").strip()[:2000])
        else:
            parts[part] = file.name
    submissions = [
        Submission(number, parts, received_at, "".join(achieved))
        for (number, received_at), (parts, achieved) in groups.items()
    ]
    try:
        outcomes = submit_results_batch(UnitOfWork(), ctx, submissions, actor=operator_name(by))
    except ResultsError as exc:
        fail(str(exc))
    for outcome in outcomes:
        typer.echo(submission_line(outcome))


def status_lines(status: dict[str, Any]) -> list[str]:
    """The summary in Chinese, as `qcamp status` prints it."""
    from domain.states import STATE_LABELS, ProjectState

    batches = status["batches"]
    lines = [
        f"收到报送批次 {batches['total']} 个（其中逾期 {batches['late']} 个，"
        f"被新版本取代 {batches['superseded']} 个"
        + (f"，整批未受理 {batches['refused']} 个" if batches.get("refused") else "")
        + f"），现行申报项目 {status['applications']} 项。",
        "",
        "各状态项目数：",
    ]
    for state in ProjectState:
        if status["states"].get(state.value):
            lines.append(f"  {STATE_LABELS[state]:<10} {status['states'][state.value]:>5}")
    lines += ["", "各阶段进度："]
    for row in status["stages"]:
        lines.append(f"  {row['阶段']:<6} {row['状态']:<4} {row['已完成步骤']}")
    lines += ["", "各推荐单位（申报 / 立项 / 优秀）："]
    for unit in status["units"]:
        if not unit["applications"]:
            lines.append(
                f"  {unit['name']}：{'逾期报送，未受理' if unit['late_batch'] else '未报送'}"
            )
            continue
        lines.append(
            f"  {unit['name']}：{unit['applications']} / {unit['approved']} / {unit['excellent']}"
        )
    lines += [
        "",
        notifications_line(status["notifications"])
        + f"；发件箱（可用邮件客户端打开的 .eml 文件）：{status['outbox']}",
        f"文档：共 {status['documents']} 份，均在 {status['campaign_dir']}",
        f"数据库：{status['database']}",
    ]
    return lines


def notifications_line(counts: dict[str, int]) -> str:
    """已发送/待发送/待放行/发送失败/无法送达: only what reached someone counts as sent."""
    line = f"通知：已发送 {counts['sent']} 封，待发送 {counts['pending']} 封"
    for key, label in (("held", "待放行"), ("failed", "发送失败"), ("undeliverable", "无法送达")):
        if counts.get(key):
            line += f"，{label} {counts[key]} 封"
    return line


def status(
    year: Year,
    as_json: Annotated[
        bool, typer.Option("--json", help="以 JSON 输出（含活动日程与规则）")
    ] = False,
) -> None:
    """查看一届活动的概况（只读）：报送批次、各状态项目数、各阶段进度、各推荐单位、通知与文档。"""
    from domain.calendar import CampaignConfigError
    from services.status import campaign_status
    from storage.uow import UnitOfWork

    try:
        summary = campaign_status(UnitOfWork(), campaign_context(year, None))
    except CampaignConfigError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    typer.echo("\n".join(status_lines(summary)))


def register(app: typer.Typer) -> None:
    """Add `qcamp checkins`, `qcamp results import` and `qcamp status` to the main CLI."""
    from deployments.cli_middle import results_app

    app.add_typer(checkins_app, name="checkins")
    results_app.command("import")(results_import)
    app.command("status")(status)
