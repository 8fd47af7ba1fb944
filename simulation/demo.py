"""The demo: a whole campaign on a simulated clock, from the call to publication.

Participants are simulated: the recommending units drop their batches in the commission's inbox,
the project people return their sign-in sheets, progress reports, visit records and results, the
experts their score sheets, and the staff take decisions by a scripted policy — all through the
doors real people use (the inbox, the `qcamp` command line run in this process), learning what
to do from the messages they receive (the outbox's .eml files) and the documents published in
the campaign folder. Nothing here reads or writes the database; the closing summary is what
`qcamp status` prints.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import random
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from deployments.prefect_defaults import set_prefect_defaults

set_prefect_defaults(quiet_console=True)  # before Prefect is imported anywhere

from deployments.ephemeral_api import (  # noqa: E402
    CLIENT_MAX_RETRIES,
    TemporaryAPI,
    start_temporary_api,
)
from domain.calendar import SHANGHAI, CampaignCalendar  # noqa: E402
from domain.workdays import publicity_period  # noqa: E402
from simulation import early, late, middle  # noqa: E402
from simulation.chaos import ChaosLog, plan_faults, run_day_with_faults  # noqa: E402
from simulation.world import Qcamp, World  # noqa: E402

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
    chaos: ChaosLog | None = None


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
    _start, end = publicity_period(cal.publicity_start, 5)
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
    # The demo's clock runs through a whole campaign in minutes, ahead of the machine's:
    # `qcamp run --as-of` accepts such a clock only when told it is simulated.
    os.environ["QCAMP_SIMULATED_CLOCK"] = "1"
    # The demo's staff do not stop to preview mass mail (production holds it for release).
    os.environ["QCAMP_HOLD_MASS_MAIL"] = "false"
    return database


def run_demo(
    year: int,
    projects: int,
    out_dir: Path,
    seed: int = 2025,
    echo: Callable[[str], object] = print,
    database_url: str | None = None,
    pdf: bool = False,
    direct: bool = False,
    chaos: int = 0,
) -> DemoReport:
    """The whole campaign; `database_url` (an empty database) replaces the demo's own SQLite;
    `pdf` also converts the certificates to PDF where LibreOffice is installed; `direct` has the
    staff run the stages without Prefect (`qcamp run … --direct`: the benchmark's baseline);
    `chaos` injects that many faults (`simulation.chaos`; the report's `chaos` tells which fired)."""
    started = time.perf_counter()
    out_dir = out_dir.resolve()
    database = prepare_environment(out_dir, database_url, pdf)
    # Prefect's temporary API takes a few seconds to start: it starts while the data is prepared.
    api = None if direct else start_temporary_api()
    try:
        return _run(year, projects, out_dir, seed, echo, database, api, started, direct, chaos)
    finally:
        if api is not None:
            api.stop()


@dataclass
class Cast:
    """The simulated participants' shared state: the plan of who submits what, where the units
    keep their batches, and what they learnt and did."""

    plan: early.DemoPlan
    staging: Path
    memory: middle.Memory
    chaos: ChaosLog | None = None  # the faults to inject (`--chaos N`), and which fired


def _prepare(world: World, rng: random.Random, projects: int) -> Cast:
    """The units' registers and forms, imported as staff would (`qcamp units|past-results|experts
    import`)."""
    registers = world.out_dir / "00_基础名录"
    plan = early.plan_demo(world, rng, projects)
    units_xlsx, past_xlsx = early.write_registers(plan, registers)
    staging = registers / "各单位申报材料（模拟）"
    early.prepare_batches(plan, staging)
    world.qcamp("units", "import", units_xlsx)
    world.qcamp("past-results", "import", past_xlsx)
    experts_xlsx = late.make_expert_pool(rng, max(40, projects // 4), registers)
    world.qcamp("experts", "import", experts_xlsx)
    units = {u.email: (u.code, u.name) for u in plan.units}
    return Cast(plan, staging, middle.Memory(units=units))


def _run(
    year: int,
    projects: int,
    out_dir: Path,
    seed: int,
    echo: Callable[[str], object],
    database: str,
    api: TemporaryAPI | None,
    started: float,
    direct: bool = False,
    chaos: int = 0,
) -> DemoReport:
    # Prefect sets up its log handlers when first imported in full: here, so that they write to
    # this process's stderr, not to the output a door's run captures.
    import prefect.main  # noqa: F401
    from prefect.settings import (
        PREFECT_CLIENT_MAX_RETRIES,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        temporary_settings,
    )

    world = World.open(year, out_dir, direct=direct)
    cast = _prepare(world, random.Random(seed), projects)
    cal = world.calendar
    ticks = demo_ticks(
        cal,
        [s.ends_at for s in world.config.training_sessions],
        cal.checkin_periods(),
        world.rules.checkin_due_days,
    )
    echo(f"演示：{year}年天津市质量攻关，{projects}个申报项目，模拟时钟共{len(ticks)}个运行日。")
    if chaos:
        log_file = out_dir / "simulation" / "故障注入记录.jsonl"
        log_file.parent.mkdir(parents=True, exist_ok=True)
        cast.chaos = ChaosLog(plan_faults(chaos, len(ticks), seed), log_file)
        echo(f"故障演练：计划注入{chaos}个故障，每次失败后按管理员的做法重新运行当日。")
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
        _run_ticks(world, ticks, cast, seed, echo)
    return DemoReport(
        year, out_dir, database, time.perf_counter() - started, len(ticks), cast.chaos
    )


STAGE_HEADING = re.compile(r"^## (\S+?)（截至", re.MULTILINE)


def stages_done(printed: str) -> list[str]:
    """The stages that did something, from what `qcamp run campaign` prints."""
    done = []
    blocks = STAGE_HEADING.split(printed)[1:]  # label, body, label, body …
    for label, body in zip(blocks[::2], blocks[1::2], strict=True):
        if "\n本次完成：" in body:
            done.append(label)
    return done


def _run_ticks(
    world: World,
    ticks: list[dt.datetime],
    cast: Cast,
    seed: int,
    echo: Callable[[str], object],
) -> None:
    from prefect.context import SyncClientContext

    # One API client for the whole simulated year (Prefect otherwise opens one per flow run).
    with contextlib.nullcontext() if world.direct else SyncClientContext.get_or_create():
        for n, tick in enumerate(ticks, start=1):
            tick_started = time.perf_counter()
            world.now = tick
            early.simulate_submissions(world, cast.plan, cast.staging)
            middle.simulate_middle(world, cast.memory)
            late.simulate_late(world, random.Random(f"{seed}-{tick.isoformat()}-late"), cast.memory)
            if cast.chaos is not None:
                run_day_with_faults(world, n - 1, cast.chaos, echo)
            did = stages_done(world.run_stage("campaign"))
            echo(
                f"  [{n:02d}/{len(ticks)}] {tick:%Y-%m-%d}  {'、'.join(did) if did else '无到期事项'}"
                f"（{time.perf_counter() - tick_started:.1f}秒）"
            )


def summary_text(report: DemoReport) -> str:
    """The Chinese summary: a heading, then what `qcamp status` prints (counts per stage and per
    recommending unit, and where the files are)."""
    status = Qcamp()("status", "--year", report.year)
    heading = f"===== {report.year}年天津市质量攻关 演示运行完成（用时{report.seconds:.0f}秒）====="
    return "\n".join(["", heading, "", status.rstrip("\n")])
