"""`qcamp demo`: a whole campaign on a simulated clock, from the call to publication.

Participants are simulated (their forms, sign-in sheets, progress reports, results and scores are
real files going through the real import paths); human decisions are taken by a scripted policy;
messages go to a local outbox folder of `.eml` files.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import random
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from prefect.settings import (
    PREFECT_CLIENT_MAX_RETRIES,
    PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
    temporary_settings,
)

from deployments.ephemeral_api import CLIENT_MAX_RETRIES, TemporaryAPI, start_temporary_api
from domain.calendar import SHANGHAI, CampaignCalendar

DEMO_MARKER = ".qcamp-demo"


class DemoError(RuntimeError):
    pass


@dataclass
class DemoReport:
    year: int
    out_dir: Path
    database: str
    seconds: float
    ticks: int


def _at(day: dt.date | dt.datetime, hour: int = 10) -> dt.datetime:
    if isinstance(day, dt.datetime):
        day = day.astimezone(SHANGHAI).date()
    return dt.datetime.combine(day, dt.time(hour, 0), tzinfo=SHANGHAI)


def demo_ticks(
    cal: CampaignCalendar,
    session_ends: list[dt.datetime],
    periods: list[str],
    checkin_due_days: int,
) -> list[dt.datetime]:
    """The dates on which the simulated campaign is run: every step and deadline of the calendar,
    the reminder days before each deadline, and a day after each to deliver what was queued."""
    days = timedelta = dt.timedelta
    ticks: set[dt.datetime] = {
        cal.call_published + timedelta(hours=1),
        _at(cal.application_deadline - days(14)),
        _at(cal.application_deadline - days(7)),
        _at(cal.application_deadline - days(3)),
        _at(cal.application_deadline - days(1)),
        _at(cal.application_deadline + days(1)),
        _at(cal.application_deadline + days(3)),
        cal.audit + timedelta(hours=1),
        cal.plan_published + timedelta(hours=1),
        cal.training_invitations + timedelta(hours=1),
        _at(cal.results_deadline - days(14)),
        _at(cal.results_deadline - days(7)),
        _at(cal.results_deadline - days(3)),
        _at(cal.results_deadline - days(1)),
        _at(cal.results_deadline + days(1)),
        cal.results_window_opens + timedelta(hours=1),
        cal.panel_draw + timedelta(hours=1),
        cal.scores_due + timedelta(hours=1),
        cal.excellent_decision + timedelta(hours=1),
        _at(cal.publicity_start),
        _at(cal.exchange_meeting + days(1)),
    }
    for end in session_ends:
        ticks.add(_at(end + days(1)))
    for period in periods:
        y, m = map(int, period.split("-"))
        first = dt.date(y + (m == 12), m % 12 + 1, 1)
        for offset in (0, checkin_due_days + 1, checkin_due_days + 6):
            ticks.add(_at(first + days(offset)))
    from domain.workdays import publicity_period

    start, end = publicity_period(cal.publicity_start, 5)
    ticks.add(_at(end + days(1)))
    return sorted(ticks)


def prepare_environment(out_dir: Path, database_url: str | None = None, pdf: bool = False) -> str:
    """A fresh demo folder and database; refuses to wipe a folder the demo did not make."""
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / DEMO_MARKER).exists():
        raise DemoError(
            f"输出目录 {out_dir} 已存在且不是演示生成的目录，为避免覆盖您的文件，演示已停止。"
            "请用 --out 指定一个新目录或空目录。"
        )
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    (out_dir / DEMO_MARKER).write_text("qcamp demo output\n", encoding="utf-8")
    database = database_url or f"sqlite:///{out_dir / 'demo.sqlite'}"
    os.environ["QCAMP_DATABASE_URL"] = database
    os.environ["QCAMP_CAMPAIGN_DIR"] = str(out_dir)
    os.environ.pop("QCAMP_OUTBOX_DIR", None)
    os.environ["QCAMP_CERTIFICATE_PDF"] = "true" if pdf else "false"
    return database


def run_demo(
    year: int,
    projects: int,
    out_dir: Path,
    seed: int = 2025,
    echo: Callable[[str], object] = print,
    database_url: str | None = None,
    pdf: bool = False,
) -> DemoReport:
    """The whole campaign; `database_url` (an empty database) replaces the demo's own SQLite;
    `pdf` also converts the certificates to PDF where LibreOffice is installed."""
    started = time.perf_counter()
    out_dir = out_dir.resolve()
    database = prepare_environment(out_dir, database_url, pdf)
    # Prefect's temporary API takes a few seconds to start: it starts while the data is prepared.
    api = start_temporary_api()
    try:
        return _run(year, projects, out_dir, seed, echo, database, api, started)
    finally:
        if api is not None:
            api.stop()


def _run(
    year: int,
    projects: int,
    out_dir: Path,
    seed: int,
    echo: Callable[[str], object],
    database: str,
    api: TemporaryAPI | None,
    started: float,
) -> DemoReport:

    from services.context import open_campaign
    from simulation import early
    from storage.db import upgrade
    from tasks.registry import import_past_results, import_units

    upgrade()
    rng = random.Random(seed)
    ctx = open_campaign(year, None)
    plan = early.plan_demo(ctx, rng, projects)
    units_xlsx, past_xlsx = early.write_registers(plan, out_dir / "00_基础名录")
    staging = out_dir / "00_基础名录" / "各单位申报材料（模拟）"
    early.prepare_batches(plan, staging)
    import_units(units_xlsx)
    import_past_results(past_xlsx)
    late = _optional_simulation("late")
    middle = _optional_simulation("middle")
    if late is not None:
        experts_xlsx = late.make_expert_pool(rng, max(40, projects // 4), out_dir / "00_基础名录")
        from tasks.evaluation import import_experts

        import_experts(experts_xlsx)

    cal = ctx.calendar
    ticks = demo_ticks(
        cal,
        [s.ends_at for s in ctx.config.training_sessions],
        cal.checkin_periods(),
        ctx.rules.checkin_due_days,
    )
    echo(f"演示：{year}年天津市质量攻关，{projects}个申报项目，模拟时钟共{len(ticks)}个运行日。")
    # Heartbeats detect crashed runs of served deployments; in this one local process their
    # thread costs up to a second at the end of every flow run, so the demo runs without.
    settings = {
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None,
        PREFECT_CLIENT_MAX_RETRIES: max(PREFECT_CLIENT_MAX_RETRIES.value(), CLIENT_MAX_RETRIES),
    }
    with (
        temporary_settings(updates=settings),
        api.serving() if api is not None else contextlib.nullcontext(),
    ):
        _run_ticks(year, ticks, plan, staging, seed, middle, late, echo)
    return DemoReport(year, out_dir, database, time.perf_counter() - started, len(ticks))


def _run_ticks(
    year: int,
    ticks: list[dt.datetime],
    plan,
    staging: Path,
    seed: int,
    middle,
    late,  # noqa: ANN001
    echo: Callable[[str], object],
) -> None:
    from prefect.context import SyncClientContext

    from flows.campaign import annual_campaign
    from services.context import open_campaign
    from simulation import early

    # One API client for the whole simulated year (Prefect otherwise opens one per flow run).
    with SyncClientContext.get_or_create():
        for n, tick in enumerate(ticks, start=1):
            tick_started = time.perf_counter()
            tick_ctx = open_campaign(year, tick)
            early.simulate_submissions(tick_ctx, plan, staging)
            if middle is not None:
                middle.simulate_middle(tick_ctx, random.Random(f"{seed}-{tick.isoformat()}"))
            if late is not None:
                late.simulate_late(tick_ctx, random.Random(f"{seed}-{tick.isoformat()}-late"))
            outcomes = annual_campaign(year=year, as_of=tick.isoformat())
            did = [o.label for o in outcomes.values() if o.done]
            echo(
                f"  [{n:02d}/{len(ticks)}] {tick:%Y-%m-%d}  {'、'.join(did) if did else '无到期事项'}"
                f"（{time.perf_counter() - tick_started:.1f}秒）"
            )


def _optional_simulation(name: str):  # noqa: ANN202 - a module or None
    import importlib

    try:
        return importlib.import_module(f"simulation.{name}")
    except ModuleNotFoundError:
        return None


def summary_text(report: DemoReport) -> str:
    """The Chinese summary: counts per stage and per recommending unit, and where the files are."""
    from domain.states import STATE_LABELS, ProjectState
    from services.context import open_campaign
    from storage.uow import UnitOfWork
    from tasks.progress import progress_rows

    with UnitOfWork() as uow:
        campaign = uow.repo.campaign(report.year)
        assert campaign is not None
        apps = uow.repo.applications(campaign.id)
        units = {u.id: u.name for u in uow.repo.recommending_units()}
        docs = uow.repo.documents(campaign.id)
        from sqlalchemy import func, select

        from storage import orm

        sent = uow.session.scalar(
            select(func.count(orm.NotificationRecord.id)).where(
                orm.NotificationRecord.status == "sent"
            )
        )
        pending = uow.session.scalar(
            select(func.count(orm.NotificationRecord.id)).where(
                orm.NotificationRecord.status != "sent"
            )
        )
        batches = uow.session.scalars(select(orm.SubmissionBatch)).all()
    by_state = Counter(a.state for a in apps)
    lines = [
        "",
        f"===== {report.year}年天津市质量攻关 演示运行完成（用时{report.seconds:.0f}秒）=====",
        "",
        f"收到报送批次 {len(batches)} 个（其中逾期 {sum(b.status == 'late' for b in batches)} 个，"
        f"被新版本取代 {sum(b.status == 'superseded' for b in batches)} 个），现行申报项目 {len(apps)} 项。",
        "",
        "各状态项目数：",
    ]
    for state in ProjectState:
        if by_state[state.value]:
            lines.append(f"  {STATE_LABELS[state]:<10} {by_state[state.value]:>5}")
    lines += ["", "各阶段进度："]
    for row in progress_rows(open_campaign(report.year, None)):
        lines.append(f"  {row['阶段']:<6} {row['状态']:<4} {row['已完成步骤']}")
    lines += ["", "各推荐单位（申报 / 立项 / 优秀）："]
    approved_states = {s.value for s in ProjectState} - {
        ProjectState.SUBMITTED,
        ProjectState.RETURNED,
        ProjectState.ACCEPTED,
        ProjectState.REJECTED,
    }
    for uid, name in units.items():
        mine = [a for a in apps if a.recommending_unit_id == uid]
        if not mine:
            late = any(b.recommending_unit_id == uid and b.status == "late" for b in batches)
            lines.append(f"  {name}：{'逾期报送，未受理' if late else '未报送'}")
            continue
        approved = sum(a.state in approved_states for a in mine)
        excellent = sum(a.state in {ProjectState.EXCELLENT, ProjectState.PUBLISHED} for a in mine)
        lines.append(f"  {name}：{len(mine)} / {approved} / {excellent}")
    lines += [
        "",
        f"通知：已发送 {sent} 封，未发送 {pending} 封；发件箱（可用邮件客户端打开的 .eml 文件）：{report.out_dir / 'outbox'}",
        f"文档：共 {len(docs)} 份，均在 {report.out_dir}",
        f"数据库：{report.database.split('@')[-1]}",
    ]
    return "\n".join(lines)
