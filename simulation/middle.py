"""The demo's simulated participants for stages 2-6: the staff's scripted approval decisions,
filled sign-in sheets, returned progress reports, the recommending units' visit records and the
result submissions — written as the .xlsx files participants would return (under
`ctx.inbox`) and taken in through the real import services.

`simulate_middle(ctx, rng)` runs at every tick before the campaign; it does what the participants
would have done by `ctx.now` and has not been done yet (guarded by the database), so running it
twice changes nothing. Each participant's behaviour is drawn from a stable hash of who they are,
so it does not depend on which ticks the demo runs.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import html
import io
import random
import re
import zipfile
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from sqlalchemy import select

from documents.reports import CHECKIN_LABELS, CHECKIN_SHEET, SIGNIN_MARK_COL, SIGNIN_SHEET
from documents.xlsx_reader import LightWorkbook, column_index, worksheet_parts
from documents.xlsx_style import FIRST_DATA_ROW, HEADER_ROW
from documents.zip_patch import patched_zip
from domain.calendar import SHANGHAI
from domain.states import ProjectState
from services.context import CampaignContext
from storage import orm
from storage.uow import UnitOfWork
from tasks.audit import (
    APPROVE,
    REJECT,
    ApprovalDecision,
    pending_applications,
    record_approval_decisions,
    suggestion,
)
from tasks.follow_up import VISITED_STATES, import_visits
from tasks.implementation import import_checkins, period_end, project_key
from tasks.results import REQUIRED_PARTS, Submission, submit_results_batch, withdraw
from tasks.training import import_attendance, sessions_of

POLICY_BY = "质量发展处（演示脚本）"
REJECT_REASONS = (
    "攻关目标缺少可量化的指标，请完善后下一年度再申报",
    "项目与本单位往年立项项目内容重复",
    "问题现状分析不充分，攻关措施不具体",
)
VISITORS = ("王建国", "刘洋", "陈静", "张伟", "李娜", "赵磊")


def fate(*parts: object) -> float:
    """A stable number in [0, 1) for one participant's choice."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _local(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SHANGHAI)


# ---------------------------------------------------------------------------------------------
# 立项审核


def simulate_decisions(ctx: CampaignContext) -> None:
    if not ctx.is_due(ctx.calendar.audit):
        return
    pending = set(pending_applications(ctx))
    if not pending:
        return
    decisions = []
    with UnitOfWork() as uow:
        for app in uow.repo.applications(
            ctx.campaign_id, [ProjectState.ACCEPTED], with_findings=True
        ):
            if app.id not in pending:
                continue
            suggested, reason = suggestion(app)
            roll = fate(ctx.year, "audit", app.id)
            if suggested != "通过":
                decisions.append(
                    ApprovalDecision(application_id=app.id, outcome=REJECT, reason=reason)
                )
            elif roll < 0.04:
                why = REJECT_REASONS[int(roll * 1000) % len(REJECT_REASONS)]
                decisions.append(
                    ApprovalDecision(application_id=app.id, outcome=REJECT, reason=why)
                )
            else:
                decisions.append(ApprovalDecision(application_id=app.id, outcome=APPROVE))
    record_approval_decisions(ctx, decisions, POLICY_BY, "policy")


# ---------------------------------------------------------------------------------------------
# 宣贯培训


def simulate_attendance(ctx: CampaignContext) -> None:
    with UnitOfWork() as uow:
        due = [
            s.key
            for s in sessions_of(uow, ctx)
            if s.ends_at <= ctx.now
            and not uow.repo.step_done(ctx.campaign_id, "training", f"attendance:{s.key}")
        ]
    for key in due:
        sheet = ctx.folder("training") / f"签到表_{key}.xlsx"
        if not sheet.exists():
            continue
        target = ctx.inbox / "training" / f"签到表_{key}_已签到.xlsx"
        target.parent.mkdir(parents=True, exist_ok=True)
        mark_signin_sheet(
            sheet,
            target,
            lambda person, key=key: (
                "已签到" if fate(ctx.year, "training", key, person) < 0.9 else "缺席"
            ),
        )
        import_attendance(ctx, target)


def mark_signin_sheet(sheet: Path, target: Path, mark: Callable[[str], str]) -> Path:
    """What the trainers do in Excel: type `mark(person key)` into the 签到情况 column of every
    row with a person key (column B) and save the sheet as `target`.

    The marks go into the sheet's XML directly, keeping the cells' styles, and only that part is
    compressed again (``documents.zip_patch``): openpyxl's load and save took ~1.3 s a sheet of
    850 people.
    """
    source = sheet.read_bytes()
    with zipfile.ZipFile(io.BytesIO(source)) as z:
        part = worksheet_parts(z)[SIGNIN_SHEET]
        xml = z.read(part).decode("utf-8")
    # The person keys as the system writes them (inline strings); a sheet saved otherwise (shared
    # strings, numbers) is read through the light reader.
    keys = {
        int(m.group(1)): html.unescape(m.group(2))
        for m in re.finditer(r'<c r="B(\d+)"[^>]*? t="inlineStr"><is><t>([^<]*)</t></is></c>', xml)
    }
    if len(keys) < len(re.findall(r'<c r="B\d+"[^>]*?>\s*<(?:v|is)>', xml)):
        book = LightWorkbook(source, name=sheet.name)
        try:
            rows = book.rows(SIGNIN_SHEET, min_row=1, max_col=2)
        finally:
            book.close()
        keys = {r: str(v[1]) for r, v in rows.items() if len(v) > 1 and v[1] not in (None, "")}
    marks = {r: mark(key) for r, key in keys.items() if r >= FIRST_DATA_ROW and key}
    column = get_column_letter(SIGNIN_MARK_COL)
    typed: set[int] = set()

    def type_mark(cell: re.Match[str]) -> str:
        number = int(cell.group("n"))
        if number not in marks:
            return cell.group(0)
        typed.add(number)
        style = re.search(r'\bs="(\d+)"', cell.group("attrs"))
        return _cell_xml(f"{column}{number}", style.group(1) if style else "", marks[number])

    mark_cells = rf'<c r="{column}(?P<n>\d+)"(?P<attrs>[^>]*?)(?:/>|>.*?</c>)'
    xml = re.sub(mark_cells, type_mark, xml, flags=re.DOTALL)
    missing = marks.keys() - typed

    def add_cell(row: re.Match[str]) -> str:
        """A row without a 签到情况 cell: the cell goes before the first cell of a later column."""
        number = int(row.group("n"))
        if number not in missing or row.group("body") is None:
            return row.group(0)
        body = row.group("body")
        later = next(
            (
                c
                for c in re.finditer(r'<c r="([A-Z]+)\d+"', body)
                if column_index(c.group(1)) > SIGNIN_MARK_COL
            ),
            None,
        )
        at = later.start() if later else len(body)
        new = _cell_xml(f"{column}{number}", "", marks[number])
        return f"{row.group('open')}>{body[:at]}{new}{body[at:]}</row>"

    if missing:
        rows_xml = r'(?P<open><row r="(?P<n>\d+)"[^>]*?)(?:/>|>(?P<body>.*?)</row>)'
        xml = re.sub(rows_xml, add_cell, xml, flags=re.DOTALL)
    target.write_bytes(patched_zip(source, {part: xml.encode("utf-8")}))
    return target


# ---------------------------------------------------------------------------------------------
# 项目实施


def _checkin_plan(ctx: CampaignContext, app_id: int, period: str) -> dt.datetime | None:
    """When this project returns this period's report (None: never)."""
    roll = fate(ctx.year, "checkin", app_id, period)
    start = period_end(period) + dt.timedelta(days=1)
    if roll < 0.85:
        return _local(
            start + dt.timedelta(days=1 + int(roll * 100) % (ctx.rules.checkin_due_days - 1))
        )
    if roll < 0.95:
        return _local(
            start + dt.timedelta(days=ctx.rules.checkin_due_days + 2 + int(roll * 100) % 5)
        )
    return None


def simulate_checkins(ctx: CampaignContext) -> None:
    periods = ctx.calendar.checkin_periods()
    with UnitOfWork() as uow:
        open_rows = uow.session.execute(
            select(orm.CheckIn.application_id, orm.CheckIn.period)
            .join(orm.Application)
            .where(
                orm.Application.campaign_id == ctx.campaign_id,
                orm.CheckIn.submitted_at.is_(None),
            )
        ).all()
        apps = {a.id: a for a in uow.repo.applications(ctx.campaign_id, [ProjectState.IN_PROGRESS])}
        due: list[tuple[dt.datetime, Path, int, str]] = []
        for app_id, period in open_rows:
            when = _checkin_plan(ctx, app_id, period)
            app = apps.get(app_id)
            if when is None or when > ctx.now or app is None:
                continue
            request = (
                ctx.folder("implementation")
                / "进度报告请求"
                / period
                / app.recommending_unit.code
                / f"进度报告_{project_key(app)}.xlsx"
            )
            if request.exists():
                due.append((when, request, app_id, period))
    returned: dict[dt.datetime, list[Path]] = defaultdict(list)
    for when, request, app_id, period in sorted(due):
        index = periods.index(period)
        stuck = fate(ctx.year, "stuck", app_id) < 0.03
        percent = (
            20.0 if stuck else min(100.0, round(25.0 * (index + 1) + 10 * fate(app_id, period), 1))
        )
        target = ctx.inbox / "checkins" / period / request.name
        target.parent.mkdir(parents=True, exist_ok=True)
        fill_checkin(
            request,
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
        returned[when].append(target)
    # The reports received at the same moment are taken in together, as the staff would.
    for when, paths in returned.items():
        import_checkins(ctx, paths, received_at=when)


def _cell_xml(ref: str, style: str, value: object) -> str:
    s = f' s="{style}"' if style else ""
    if isinstance(value, bool):
        return f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, dt.date):  # dates and datetimes: Excel's serial number
        return f'<c r="{ref}"{s}><v>{to_excel(value)}</v></c>'
    if isinstance(value, int | float):
        return f'<c r="{ref}"{s}><v>{value}</v></c>'
    return f'<c r="{ref}"{s} t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'


def fill_checkin(request: Path, target: Path, values: dict[str, object]) -> Path:
    """What the project unit does in Excel: type `values` (by CHECKIN_LABELS field) into the
    request's input cells (column B) and save it as `target`.

    The cells are put into the sheet's XML directly, keeping their styles, and only that part is
    compressed again: openpyxl's load and save cost ~20 ms a workbook, 49 s for the demo's 2,300
    reports at 1,200 projects.
    """
    rows = {field: HEADER_ROW + i for i, field in enumerate(CHECKIN_LABELS)}
    source = request.read_bytes()
    with zipfile.ZipFile(io.BytesIO(source)) as z:
        sheet = worksheet_parts(z)[CHECKIN_SHEET]
        xml = z.read(sheet).decode("utf-8")
    for field, value in values.items():
        ref = f"B{rows[field]}"
        cell = re.compile(rf'<c r="{ref}"(?P<attrs>[^>]*?)(?:/>|>.*?</c>)', re.DOTALL)
        found = cell.search(xml)
        if found is None:
            raise ValueError(f"{request.name}: no cell {ref}")
        style = re.search(r'\bs="(\d+)"', found.group("attrs"))
        new = _cell_xml(ref, style.group(1) if style else "", value)
        xml = xml[: found.start()] + new + xml[found.end() :]
    target.write_bytes(patched_zip(source, {sheet: xml.encode("utf-8")}))
    return target


# ---------------------------------------------------------------------------------------------
# 跟踪服务


def simulate_visits(ctx: CampaignContext) -> None:
    start = ctx.calendar.checkins_start
    if ctx.local_date() < start:
        return
    span = (ctx.calendar.results_deadline.astimezone(SHANGHAI).date() - start).days - 10
    with UnitOfWork() as uow:
        apps = uow.session.execute(
            select(
                orm.Application.id,
                orm.Application.plan_number,
                orm.Application.title,
                orm.RecommendingUnit.code,
                orm.RecommendingUnit.name,
            )
            .join(orm.RecommendingUnit)
            .where(
                orm.Application.campaign_id == ctx.campaign_id,
                orm.Application.is_current.is_(True),
                orm.Application.state.in_([s.value for s in VISITED_STATES]),
            )
            .order_by(orm.Application.id)
        ).all()
        have = set(
            uow.session.execute(
                select(
                    orm.FollowUpVisit.application_id,
                    orm.FollowUpVisit.visited_on,
                    orm.FollowUpVisit.visitor,
                )
                .join(orm.Application)
                .where(orm.Application.campaign_id == ctx.campaign_id)
            )
        )
    by_unit: dict[str, list[list[object]]] = defaultdict(list)
    today = ctx.local_date()
    for app_id, plan_number, title, unit_code, unit_name in apps:
        behind = fate(ctx.year, "unit-behind", unit_code) < 0.15
        if behind and fate(ctx.year, "skip", app_id) < 0.5:
            continue
        day = start + dt.timedelta(days=int(fate(ctx.year, "visit", app_id) * span))
        visitor = VISITORS[int(fate("visitor", unit_code) * len(VISITORS))]
        if day > today or (app_id, day, visitor) in have:
            continue
        by_unit[unit_name].append(
            [unit_name, plan_number, title, day, visitor, "现场查看攻关进度，建议加强数据记录"]
        )
    for unit_name, rows in by_unit.items():
        target = ctx.inbox / "visits" / f"{unit_name}_走访记录_{ctx.local_date():%Y%m%d}.xlsx"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(visit_workbook(rows))
        import_visits(ctx, target)


VISIT_HEADER = ("推荐单位", "项目编号", "项目名称", "走访日期", "走访人", "发现问题与建议")


@functools.cache
def _visit_template() -> tuple[bytes, str, str]:
    """A unit's visit workbook as Excel would save it (one header row and a dated row), the
    sheet's part name and the style index of its date cells; made once with openpyxl."""
    wb = Workbook()
    ws = wb.active
    ws.title = "走访记录"
    ws.append(list(VISIT_HEADER))
    ws.append(["", "", "", dt.date(2025, 1, 1), "", ""])
    buffer = io.BytesIO()
    wb.save(buffer)
    source = buffer.getvalue()
    with zipfile.ZipFile(io.BytesIO(source)) as z:
        sheet = worksheet_parts(z)["走访记录"]
        xml = z.read(sheet).decode("utf-8")
    style = re.search(r'<c r="D2"[^>]*?\bs="(\d+)"', xml)
    return source, sheet, style.group(1) if style else ""


def visit_workbook(rows: list[list[object]]) -> bytes:
    """The .xlsx a recommending unit returns: the header and one row per visit.

    openpyxl costs ~10 ms a workbook to build and save (254 files at 1,200 projects); the rows
    go into a once-made workbook's sheet XML instead (`documents.zip_patch`).
    """
    source, sheet, date_style = _visit_template()
    with zipfile.ZipFile(io.BytesIO(source)) as z:
        xml = z.read(sheet).decode("utf-8")
    lines = []
    for r, values in enumerate([list(VISIT_HEADER), *rows], start=1):
        cells = "".join(
            _cell_xml(f"{chr(65 + c)}{r}", date_style if isinstance(v, dt.date) else "", v)
            for c, v in enumerate(values)
            if v not in (None, "")
        )
        lines.append(f'<row r="{r}">{cells}</row>')
    data = f"<sheetData>{''.join(lines)}</sheetData>"
    xml = re.sub(r"<sheetData>.*</sheetData>|<sheetData/>", lambda _: data, xml, flags=re.DOTALL)
    xml = re.sub(r'<dimension ref="[^"]*"/>', f'<dimension ref="A1:F{len(rows) + 1}"/>', xml)
    return patched_zip(source, {sheet: xml.encode("utf-8")})


# ---------------------------------------------------------------------------------------------
# 提交成果


def _parts(plan: str, names: tuple[str, ...]) -> dict[str, str]:
    suffix = {"成果报告": ".pdf", "过程材料": ".zip", "效益证明": ".pdf"}
    return {n: f"{plan}_{n}{suffix[n]}" for n in names}


def simulate_results(ctx: CampaignContext) -> None:
    cal = ctx.calendar
    if not ctx.is_due(cal.results_window_opens):
        return
    opens = cal.results_window_opens.astimezone(SHANGHAI).date()
    window = (cal.results_deadline.astimezone(SHANGHAI).date() - opens).days
    with UnitOfWork() as uow:
        apps = uow.session.execute(
            select(orm.Application.id, orm.Application.plan_number)
            .where(
                orm.Application.campaign_id == ctx.campaign_id,
                orm.Application.is_current.is_(True),
                orm.Application.state == ProjectState.IN_PROGRESS.value,
                orm.Application.plan_number.is_not(None),
            )
            .order_by(orm.Application.id)
        ).all()
        subs = set(
            uow.session.scalars(
                select(orm.ResultSubmission.application_id)
                .join(orm.Application)
                .where(orm.Application.campaign_id == ctx.campaign_id)
            )
        )
    # What the units forward by now goes in as one batch (the same records and messages as
    # one `submit_results` each, without a transaction per project).
    batch: list[Submission] = []
    for app_id, plan in apps:
        roll = fate(ctx.year, "results", app_id)
        spread = int(fate(ctx.year, "results-day", app_id) * (window - 3))
        on_day = _local(opens + dt.timedelta(days=1 + spread), 15)
        achieved = "攻关指标达到目标值，年节约成本约50万元"
        if roll < 0.03:
            if ctx.now >= _local(opens + dt.timedelta(days=5)):
                withdraw(ctx, app_id, "项目单位生产线调整，无法完成攻关", "推荐单位联络员")
        elif roll < 0.06:
            late_at = cal.results_deadline + dt.timedelta(hours=6)
            if ctx.now >= late_at and app_id not in subs:
                batch.append(Submission(app_id, _parts(plan, REQUIRED_PARTS), late_at, achieved))
        elif roll < 0.07:
            continue  # never submits: closed at the deadline
        elif roll < 0.11:
            first = _local(opens + dt.timedelta(days=1 + spread // 2), 15)
            second = first + dt.timedelta(days=5)
            if app_id not in subs and ctx.now >= first:
                batch.append(Submission(app_id, _parts(plan, REQUIRED_PARTS[:2]), first, achieved))
            if ctx.now >= second:
                batch.append(Submission(app_id, _parts(plan, REQUIRED_PARTS[2:]), second))
        elif app_id not in subs and ctx.now >= on_day:
            batch.append(Submission(app_id, _parts(plan, REQUIRED_PARTS), on_day, achieved))
    submit_results_batch(ctx, batch)


def simulate_middle(ctx: CampaignContext, rng: random.Random) -> None:
    """Everything the participants of stages 2-6 would have done by `ctx.now`."""
    del rng  # behaviour is drawn per participant (see `fate`), not per tick
    simulate_decisions(ctx)
    simulate_attendance(ctx)
    simulate_checkins(ctx)
    simulate_visits(ctx)
    simulate_results(ctx)
