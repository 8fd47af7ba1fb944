"""`qcamp checkins import` (the returned 进度报告), `qcamp results import` (result material as
files) and `qcamp status` (the campaign's summary,
read only): the doors the staff — and the demo's simulated staff — use besides the stage
commands. All messages in Chinese; a wrong input exits with code 2."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from deployments.cli_common import AsOf, Year, campaign_context, existing_file, fail

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

checkins_app = typer.Typer(help="项目实施：导入项目单位返回的进度报告", no_args_is_help=True)


def received_time(path: Path) -> dt.datetime:
    """When a returned file arrived: its modification time (as the mail client saved it)."""
    from domain.calendar import SHANGHAI

    return dt.datetime.fromtimestamp(path.stat().st_mtime, SHANGHAI)


@checkins_app.command("import")
def checkins_import(
    files: Annotated[list[Path], typer.Argument(help="填好的进度报告（.xlsx），可多个")],
    year: Year,
    as_of: AsOf = None,
) -> None:
    """导入项目单位返回的进度报告；送达时间取文件的修改时间，有错误则全部不保存。"""
    from tasks.implementation import CheckinError, import_checkins

    ctx = campaign_context(year, as_of)
    by_time: dict[dt.datetime, list[Path]] = defaultdict(list)
    for file in files:
        by_time[received_time(existing_file(file))].append(file)
    on_time = late = 0
    try:
        for received_at, paths in by_time.items():
            timely, overdue = import_checkins(ctx, paths, received_at=received_at)
            on_time, late = on_time + timely, late + overdue
    except CheckinError as exc:
        fail(str(exc))
    typer.echo(f"进度报告已导入：按时 {on_time} 份，逾期 {late} 份。")


ACHIEVED_PART = "取得成效"  # a unit's short statement of what the project achieved (.txt)


def results_import(
    files: Annotated[
        list[Path], typer.Argument(help="成果材料文件，文件名为“计划编号_材料类别.扩展名”")
    ],
    year: Year,
    as_of: AsOf = None,
) -> None:
    """登记推荐单位转来的成果材料文件（成果报告、过程材料、效益证明；“计划编号_取得成效.txt”
    写取得成效）；送达时间取文件的修改时间，截止后送达的记为逾期；有错误则全部不保存。"""
    from tasks.results import ResultsError, Submission, submit_results_batch

    ctx = campaign_context(year, as_of)
    groups: dict[tuple[str, dt.datetime], tuple[dict[str, str], list[str]]] = {}
    for file in files:
        number, sep, part = existing_file(file).stem.partition("_")
        if not sep or not part:
            fail(
                f"文件名 {file.name} 不对：应为“计划编号_材料类别.扩展名”，如 TJZLGG-{year}-0001_成果报告.pdf"
            )
        parts, achieved = groups.setdefault((number, received_time(file)), ({}, []))
        if part == ACHIEVED_PART:
            achieved.append(file.read_text(encoding="utf-8", errors="replace").strip()[:2000])
        else:
            parts[part] = file.name
    submissions = [
        Submission(number, parts, received_at, "".join(achieved))
        for (number, received_at), (parts, achieved) in groups.items()
    ]
    try:
        outcomes = submit_results_batch(ctx, submissions)
    except ResultsError as exc:
        fail(str(exc))
    for o in outcomes:
        if o.late:
            typer.echo(f"{o.plan_number}：材料逾期送达，已记录但不予接收，并已通知推荐单位。")
        elif o.complete:
            typer.echo(f"{o.plan_number}：成果材料齐全，已受理。")
        else:
            typer.echo(
                f"{o.plan_number}：已登记，尚缺 {'、'.join(o.missing_parts)}，已通知推荐单位补齐。"
            )


# TODO(integrator): these two queries belong in storage's repositories (this branch may not edit
# storage/): the notification records' count by status, and the batches' statuses.
def _messages_by_status(uow: UnitOfWork) -> dict[str, int]:
    """How many notification records there are in each delivery status."""
    from sqlalchemy import func, select

    from storage import orm

    record = orm.NotificationRecord
    query = select(record.status, func.count(record.id)).group_by(record.status)
    return {status: n for status, n in uow.session.execute(query).all()}


def _batch_statuses(uow: UnitOfWork, campaign_id: int) -> list[tuple[int, str]]:
    """(recommending unit id, status) of every batch received for the campaign."""
    from sqlalchemy import select

    from storage import orm

    batch = orm.SubmissionBatch
    query = select(batch.recommending_unit_id, batch.status).where(batch.campaign_id == campaign_id)
    return [(unit, status) for unit, status in uow.session.execute(query).all()]


def campaign_status(year: int) -> dict[str, Any]:
    """The campaign's summary as staff read it: batches, projects by state, stage progress, each
    recommending unit's projects, messages and documents (read only)."""
    from domain.states import ProjectState
    from storage.settings import get_settings
    from storage.uow import UnitOfWork
    from tasks.progress import progress_rows

    ctx = campaign_context(year, None)
    with UnitOfWork() as uow:
        apps = uow.repo.applications(ctx.campaign_id)
        units = list(uow.repo.recommending_units())
        documents = len(uow.repo.documents(ctx.campaign_id))
        sent_by_status = _messages_by_status(uow)
        batches = _batch_statuses(uow, ctx.campaign_id)
        unit_rows = [(u.id, u.code, u.name) for u in units]
        app_rows = [(a.recommending_unit_id, a.state) for a in apps]
    not_approved = {
        ProjectState.SUBMITTED,
        ProjectState.RETURNED,
        ProjectState.ACCEPTED,
        ProjectState.REJECTED,
    }
    approved_states = {s.value for s in ProjectState} - {s.value for s in not_approved}
    excellent_states = {ProjectState.EXCELLENT.value, ProjectState.PUBLISHED.value}
    late_units = {uid for uid, status in batches if status == "late"}
    settings = get_settings()
    return {
        "year": year,
        "config": ctx.config.model_dump(mode="json"),
        "batches": {
            "total": len(batches),
            "late": sum(status == "late" for _u, status in batches),
            "superseded": sum(status == "superseded" for _u, status in batches),
        },
        "applications": len(app_rows),
        "states": dict(Counter(state for _u, state in app_rows)),
        "stages": progress_rows(ctx),
        "units": [
            {
                "code": code,
                "name": name,
                "applications": sum(u == uid for u, _s in app_rows),
                "approved": sum(u == uid and s in approved_states for u, s in app_rows),
                "excellent": sum(u == uid and s in excellent_states for u, s in app_rows),
                "late_batch": uid in late_units,
            }
            for uid, code, name in unit_rows
        ],
        "notifications": {
            "sent": sent_by_status.get("sent", 0),
            "pending": sum(n for s, n in sent_by_status.items() if s != "sent"),
        },
        "outbox": str(ctx.outbox),
        "documents": documents,
        "campaign_dir": str(ctx.out_dir),
        "database": settings.database_url.split("@")[-1],
    }


def status_lines(status: dict[str, Any]) -> list[str]:
    """The summary in Chinese, as `qcamp status` prints it."""
    from domain.states import STATE_LABELS, ProjectState

    batches = status["batches"]
    lines = [
        f"收到报送批次 {batches['total']} 个（其中逾期 {batches['late']} 个，"
        f"被新版本取代 {batches['superseded']} 个），现行申报项目 {status['applications']} 项。",
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
    sent, pending = status["notifications"]["sent"], status["notifications"]["pending"]
    lines += [
        "",
        f"通知：已发送 {sent} 封，未发送 {pending} 封；发件箱（可用邮件客户端打开的 .eml 文件）：{status['outbox']}",
        f"文档：共 {status['documents']} 份，均在 {status['campaign_dir']}",
        f"数据库：{status['database']}",
    ]
    return lines


def status(
    year: Year,
    as_json: Annotated[
        bool, typer.Option("--json", help="以 JSON 输出（含活动日程与规则）")
    ] = False,
) -> None:
    """查看一届活动的概况（只读）：报送批次、各状态项目数、各阶段进度、各推荐单位、通知与文档。"""
    from domain.calendar import CampaignConfigError

    try:
        summary = campaign_status(year)
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
