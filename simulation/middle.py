"""The demo's simulated participants for stages 2-6: the staff's scripted approval decisions
(the filled 立项审核表 through `qcamp audit decide`), the trainers' sign-in sheets, the project
units' returned progress reports, the recommending units' visit records and result material —
files dropped in the commission's inbox and taken in through the `qcamp` import commands.

`simulate_middle(world)` runs at every tick before the campaign; it does what the participants
would have done by `world.now` and have not done yet. They learn what to do from the documents
the commission publishes and the messages they receive (never from the database), and remember
what they did themselves (`Memory`). Each participant's behaviour is drawn from a stable hash of
who they are (`fate`), so it does not depend on which ticks the demo runs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import load_workbook

from documents.reports import AUDIT_SHEET
from documents.xlsx_reader import LightWorkbook
from documents.xlsx_style import FIRST_DATA_ROW, HEADER_ROW
from domain.audit import application_id_from_number
from domain.calendar import SHANGHAI
from simulation.sheets import fill_checkin, mark_signin_sheet, visit_workbook
from simulation.world import World

__all__ = ["fill_checkin", "mark_signin_sheet", "simulate_middle", "visit_workbook"]

POLICY_BY = "质量发展处（演示脚本）"
REJECT_REASONS = (
    "攻关目标缺少可量化的指标，请完善后下一年度再申报",
    "项目与本单位往年立项项目内容重复",
    "问题现状分析不充分，攻关措施不具体",
)
VISITORS = ("王建国", "刘洋", "陈静", "张伟", "李娜", "赵磊")
APPROVE, REJECT = "通过", "不通过"  # the 决定 column's choices
REQUIRED_PARTS = ("成果报告", "过程材料", "效益证明")  # the result material the plan asks for
ACHIEVED = "攻关指标达到目标值，年节约成本约50万元"


def fate(*parts: object) -> float:
    """A stable number in [0, 1) for one participant's choice."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _local(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SHANGHAI)


def arrived(path: Path, when: dt.datetime) -> Path:
    """The file as the commission's mail client saved it: modified when it arrived."""
    stamp = when.timestamp()
    os.utime(path, (stamp, stamp))
    return path


@dataclass
class Project:
    """One project of the plan as its participants know it."""

    plan_number: str
    key: int  # 申报编号 on the 立项审核表 (the participants' stable identity)
    title: str
    applicant: str
    unit_code: str
    unit_name: str
    withdrawn: bool = False
    submitted: bool = False  # sent result material (some or all)
    results_closed: bool = False  # complete, or recorded late: nothing more to send
    visited: bool = False


@dataclass
class Memory:
    """What the participants did and learnt so far."""

    units: dict[str, tuple[str, str]]  # a recommending unit's address -> (code, name)
    audit_keys: dict[tuple[str, str], int] = field(default_factory=dict)  # (title, applicant)
    projects: dict[str, Project] = field(default_factory=dict)  # by plan number
    declined: bool = False  # an expert declined (the demo has one)
    objections: dict[int, bool] = field(default_factory=dict)  # number -> resolved
    approvals_read: set[Path] = field(default_factory=set)

    def plan(self, world: World) -> list[Project]:
        """The plan's projects (from the approval messages), by their 申报编号 (from the audit
        workbook); empty until the plan is published."""
        for msg in world.mailbox.of("approval"):
            if msg.path in self.approvals_read:
                continue
            self.approvals_read.add(msg.path)
            if not self.audit_keys:
                self.audit_keys = audit_keys(world)
            code, name = self.units[msg.to]
            for number, title, applicant in APPROVED_LINE.findall(msg.text):
                self.projects.setdefault(
                    number,
                    Project(
                        number, self.audit_keys[title, applicant], title, applicant, code, name
                    ),
                )
        return sorted(self.projects.values(), key=lambda p: p.key)


APPROVED_LINE = re.compile(r"^(\S+-\d{4}-\d{4}) (.+)（([^（）]+)）：立项$", re.MULTILINE)


# ---------------------------------------------------------------------------------------------
# 立项审核


def audit_workbook(world: World) -> Path:
    return world.folder("立项审核") / f"{world.year}年天津市质量攻关项目立项审核表.xlsx"


def _application_id(number: object) -> int:
    """The stored application's number in a 申报编号 as the workbook shows it."""
    found = application_id_from_number(str(number))
    if found is None:
        raise ValueError(f"审核表中的申报编号无法识别：{number}")
    return found


def audit_keys(world: World) -> dict[tuple[str, str], int]:
    """(项目名称, 申报单位) -> 申报编号 of the audit workbook's rows."""
    book = LightWorkbook(audit_workbook(world))
    try:
        rows = book.rows(AUDIT_SHEET, min_row=HEADER_ROW)
    finally:
        book.close()
    header = list(rows.pop(HEADER_ROW))
    title, applicant, key = (header.index(h) for h in ("项目名称", "申报单位", "申报编号"))
    return {
        (str(r[title]), str(r[applicant])): _application_id(r[key])
        for r in rows.values()
        if len(r) > key and r[key] not in (None, "")
    }


def simulate_decisions(world: World) -> None:
    """The staff fill the 决定/理由 columns of the audit workbook by the script's policy and
    import it (`qcamp audit decide`); the audit stage is run first if the workbook is not out."""
    if not world.is_due(world.calendar.audit):
        return
    filled = world.inbox / "audit" / audit_workbook(world).name.replace(".xlsx", "_已填.xlsx")
    if filled.exists():
        return
    if not audit_workbook(world).exists():
        world.run_stage("audit")
    wb = load_workbook(audit_workbook(world))
    ws = wb[AUDIT_SHEET]
    headers = [c.value for c in ws[HEADER_ROW]]
    col = {h: headers.index(h) + 1 for h in ("建议结论", "决定", "理由", "申报编号")}
    for row in range(FIRST_DATA_ROW, ws.max_row + 1):
        key = ws.cell(row, col["申报编号"]).value
        if key in (None, ""):
            continue
        key = _application_id(key)
        roll = fate(world.year, "audit", key)
        reason = ws.cell(row, col["理由"]).value or ""
        if ws.cell(row, col["建议结论"]).value != APPROVE:
            decision = REJECT
        elif roll < 0.04:
            decision, reason = REJECT, REJECT_REASONS[int(roll * 1000) % len(REJECT_REASONS)]
        else:
            decision = APPROVE
        ws.cell(row, col["决定"]).value = decision
        ws.cell(row, col["理由"]).value = reason or None
    filled.parent.mkdir(parents=True, exist_ok=True)
    wb.save(filled)
    world.run_now("audit", "decide", filled, "--by", POLICY_BY)


# ---------------------------------------------------------------------------------------------
# 宣贯培训


def simulate_attendance(world: World) -> None:
    """After each session the trainers mark its sign-in sheet and the staff import it."""
    sessions = sorted(world.config.training_sessions, key=lambda s: (s.starts_at, s.key))
    for session in sessions:
        key = session.key
        sheet = world.folder("宣贯培训") / f"签到表_{key}.xlsx"
        target = world.inbox / "training" / f"签到表_{key}_已签到.xlsx"
        if session.ends_at > world.now or target.exists() or not sheet.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        mark_signin_sheet(
            sheet,
            target,
            lambda person, key=key: (
                "已签到" if fate(world.year, "training", key, person) < 0.9 else "缺席"
            ),
        )
        world.run_now("training", "attendance", target)


# ---------------------------------------------------------------------------------------------
# 项目实施


def period_end(period: str) -> dt.date:
    year, month = (int(x) for x in period.split("-"))
    return dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)


def _checkin_plan(world: World, key: int, period: str) -> dt.datetime | None:
    """When this project returns this period's report (None: never)."""
    roll = fate(world.year, "checkin", key, period)
    start = period_end(period) + dt.timedelta(days=1)
    due_days = world.rules.checkin_due_days
    if roll < 0.85:
        return _local(start + dt.timedelta(days=1 + int(roll * 100) % (due_days - 1)))
    if roll < 0.95:
        return _local(start + dt.timedelta(days=due_days + 2 + int(roll * 100) % 5))
    return None


REQUEST_PERIOD = re.compile(r"（(\d{4})年(\d{1,2})月）$")


def checkin_requests(world: World) -> dict[tuple[str, str], tuple[bytes, str]]:
    """(period, plan number) -> the request workbook each project was sent, and the address of
    the unit that got it (and returns the filled report by mail)."""
    requests: dict[tuple[str, str], tuple[bytes, str]] = {}
    for msg in world.mailbox.of("checkin_request"):
        found = REQUEST_PERIOD.search(msg.subject)
        if not found:
            continue
        period = f"{int(found.group(1)):04d}-{int(found.group(2)):02d}"
        for name, blob in msg.attachments.items():
            number = name.removeprefix("进度报告_").removesuffix(".xlsx")
            requests.setdefault((period, number), (blob, msg.to))
    return requests


def simulate_checkins(world: World, memory: Memory) -> None:
    """Each project returns its period's report when its fate says: its unit mails the reports
    that are ready at the same moment in one mail, and the mailbox is polled within 10 minutes
    (staff could as well import files with `qcamp checkins import`)."""
    periods = world.calendar.checkin_periods()
    projects = {p.plan_number: p for p in memory.plan(world)}
    requests = checkin_requests(world)
    due: list[tuple[dt.datetime, str, str, str, Project]] = []
    for period, number in requests:
        project = projects.get(number)
        if project is None or project.withdrawn or project.results_closed:
            continue
        when = _checkin_plan(world, project.key, period)
        target = world.inbox / "checkins" / period / f"进度报告_{number}.xlsx"
        if when is None or when > world.now or target.exists():
            continue
        due.append((when, period, project.unit_code, number, project))
    returned: dict[tuple[dt.datetime, str], list[Path]] = defaultdict(list)
    for when, period, _unit, number, project in sorted(due, key=lambda d: d[:4]):
        index = periods.index(period)
        stuck = fate(world.year, "stuck", project.key) < 0.03
        percent = (
            20.0
            if stuck
            else min(100.0, round(25.0 * (index + 1) + 10 * fate(project.key, period), 1))
        )
        target = world.inbox / "checkins" / period / f"进度报告_{number}.xlsx"
        target.parent.mkdir(parents=True, exist_ok=True)
        fill_checkin(
            requests[period, number][0],
            target,
            {
                "phase": "执行" if index < len(periods) - 1 else "检查",
                "percent": percent,
                "current": f"{3 - 2 * percent / 100:.1f}%",
                "problems": "检测设备到货延迟" if stuck else "无",
                "reporter": "项目联络员",
                "reported_on": when.date(),
            },
        )
        returned[when, requests[period, number][1]].append(arrived(target, when))
    for (when, sender), paths in sorted(returned.items()):
        world.send_mail(
            sender,
            when,
            f"报送进度报告（{len(paths)}份）",
            {p.name: p.read_bytes() for p in paths},
            f"checkins.{when:%Y%m%d%H%M}.{sender.split('@')[0]}",
        )
    world.poll_after([when for when, _sender in returned])


# ---------------------------------------------------------------------------------------------
# 跟踪服务


def simulate_visits(world: World, memory: Memory) -> None:
    """Each recommending unit visits its projects on their days and sends its visit records."""
    start = world.calendar.checkins_start
    if world.local_date() < start:
        return
    span = (world.calendar.results_deadline.astimezone(SHANGHAI).date() - start).days - 10
    by_unit: dict[str, list[list[object]]] = defaultdict(list)
    today = world.local_date()
    visited: list[Project] = []
    for project in memory.plan(world):
        if project.withdrawn or project.visited:
            continue
        unit_code, key = project.unit_code, project.key
        behind = fate(world.year, "unit-behind", unit_code) < 0.15
        if behind and fate(world.year, "skip", key) < 0.5:
            continue
        day = start + dt.timedelta(days=int(fate(world.year, "visit", key) * span))
        visitor = VISITORS[int(fate("visitor", unit_code) * len(VISITORS))]
        if day > today:
            continue
        by_unit[project.unit_name].append(
            [
                project.unit_name,
                project.plan_number,
                project.title,
                day,
                visitor,
                "现场查看攻关进度，建议加强数据记录",
            ]
        )
        visited.append(project)
    for unit_name, rows in by_unit.items():
        target = world.inbox / "visits" / f"{unit_name}_走访记录_{today:%Y%m%d}.xlsx"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(visit_workbook(rows))
        world.run_now("visits", "import", target)
    for project in visited:
        project.visited = True


# ---------------------------------------------------------------------------------------------
# 提交成果


def _material(
    world: World, project: Project, names: tuple[str, ...], when: dt.datetime, achieved: str
) -> list[Path]:
    """The files a unit forwards for a project's results, modified when they arrive."""
    folder = world.inbox / "results" / f"{when.astimezone(SHANGHAI):%Y%m%d-%H%M}"
    folder.mkdir(parents=True, exist_ok=True)
    suffix = {"成果报告": ".pdf", "过程材料": ".zip", "效益证明": ".pdf"}
    files = []
    for name in names:
        path = folder / f"{project.plan_number}_{name}{suffix[name]}"
        path.write_bytes(f"{project.title}：{name}（演示）\n".encode())
        files.append(path)
    if achieved:
        path = folder / f"{project.plan_number}_取得成效.txt"
        path.write_text(achieved, encoding="utf-8")
        files.append(path)
    return [arrived(p, when) for p in files]


def _results_of(world: World, project: Project, opens: dt.date, window: int) -> list[Path]:
    """What this project's unit forwards by now and has not forwarded yet."""
    cal, key = world.calendar, project.key
    roll = fate(world.year, "results", key)
    spread = int(fate(world.year, "results-day", key) * (window - 3))
    on_day = _local(opens + dt.timedelta(days=1 + spread), 15)
    files: list[Path] = []
    if roll < 0.03:
        if world.now >= _local(opens + dt.timedelta(days=5)):
            world.run_now(
                "results", "withdraw", project.plan_number,
                "--reason", "项目单位生产线调整，无法完成攻关", "--by", "推荐单位联络员",
            )  # fmt: skip
            project.withdrawn = True
    elif roll < 0.06:
        late_at = cal.results_deadline + dt.timedelta(hours=6)
        if world.now >= late_at and not project.submitted:
            files += _material(world, project, REQUIRED_PARTS, late_at, ACHIEVED)
    elif roll < 0.07:
        pass  # never submits: closed at the deadline
    elif roll < 0.11:
        first = _local(opens + dt.timedelta(days=1 + spread // 2), 15)
        second = first + dt.timedelta(days=5)
        if not project.submitted and world.now >= first:
            files += _material(world, project, REQUIRED_PARTS[:2], first, ACHIEVED)
        if world.now >= second:
            files += _material(world, project, REQUIRED_PARTS[2:], second, "")
    elif not project.submitted and world.now >= on_day:
        files += _material(world, project, REQUIRED_PARTS, on_day, ACHIEVED)
    return files


RESULT_LINE = re.compile(r"^(\S+-\d{4}-\d{4})：(.+)$", re.MULTILINE)


def simulate_results(world: World, memory: Memory) -> None:
    """The units forward their projects' result material; the staff take in what arrived by now
    in one go (`qcamp results import`)."""
    cal = world.calendar
    if not world.is_due(cal.results_window_opens):
        return
    opens = cal.results_window_opens.astimezone(SHANGHAI).date()
    window = (cal.results_deadline.astimezone(SHANGHAI).date() - opens).days
    files: list[Path] = []
    sent: list[Project] = []
    for project in memory.plan(world):
        if project.withdrawn or project.results_closed:
            continue
        mine = _results_of(world, project, opens, window)
        if mine:
            files += mine
            sent.append(project)
    if not files:
        return
    printed = world.run_now("results", "import", *files)
    by_number = {p.plan_number: p for p in sent}
    for number, outcome in RESULT_LINE.findall(printed):
        project = by_number.get(number)
        if project is not None:
            project.submitted = True
            project.results_closed = project.results_closed or "尚缺" not in outcome


def simulate_middle(world: World, memory: Memory) -> None:
    """Everything the participants of stages 2-6 would have done by `world.now`."""
    simulate_decisions(world)
    simulate_attendance(world)
    simulate_checkins(world, memory)
    simulate_visits(world, memory)
    simulate_results(world, memory)
