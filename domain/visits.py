"""跟踪服务's rules: which projects a recommending unit must visit, what a visit record sheet
(走访记录) must hold (and the Chinese texts naming the row, the column and the fix), and when a
coverage report is due."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import NamedTuple

from pydantic import BaseModel

from domain.calendar import SHANGHAI, CampaignCalendar
from domain.checkins import period_label, request_day
from domain.states import ProjectState

VISIT_COLUMNS = ("推荐单位", "走访日期", "走访人", "发现问题与建议")
KEY_COLUMNS = ("项目编号", "项目名称")
HEADER_SEARCH_ROWS = 10  # the header is looked for in this many rows at the top of the sheet
VISITOR_MAX = 100  # characters of a visitor's name that are stored
SHOWN_BEHIND = 10  # units behind named on the dashboard before "等N个"
# Projects that are (or were) being carried out: the ones a unit must visit.
VISITED_STATES = (
    ProjectState.IN_PROGRESS,
    ProjectState.RESULTS_SUBMITTED,
    ProjectState.RESULTS_LATE,
    ProjectState.EVALUATED,
    ProjectState.EXCELLENT,
    ProjectState.PUBLISHED,
)


class VisitImportError(ValueError):
    """A visit workbook that cannot be imported; names file, row, column and the fix."""


class VisitImportResult(BaseModel):
    rows: int
    new: int
    duplicates: int


class VisitedProject(NamedTuple):
    """A project a unit must visit, as plain columns."""

    id: int
    plan_number: str | None
    title: str
    unit: str  # the recommending unit's name


class Visit(NamedTuple):
    project: VisitedProject
    day: dt.date
    visitor: str
    notes: str


def as_date(value: object) -> dt.date | None:
    """A visit date as typed: a date cell, or text like 2025-06-15, 2025/6/15, 2025年6月15日."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value or "").strip().replace("/", "-").replace(".", "-")
    for fmt in ("%Y-%m-%d", "%Y年%m月%d日"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


# ---------------------------------------------------------------------------------------------
# the sheet


def unreadable(source: str, exc: Exception) -> VisitImportError:
    return VisitImportError(f"文件 {source} 不是有效的 .xlsx 文件（{exc}）：请另存为 .xlsx 后导入")


def file_missing(source: str) -> VisitImportError:
    return VisitImportError(f"找不到文件 {source}：请检查路径")


def file_refused(message: str, source: str) -> VisitImportError:
    """A file the safety checks refused (too large, macros, encrypted, old format, broken)."""
    return VisitImportError(f"{message}（{source}）")


class VisitSheet:
    """The visit records of a sheet's rows (row 1 first): the header row is the first of the top
    rows that names 走访日期; raises `VisitImportError` when it or a needed column is missing."""

    def __init__(self, source: str, rows: Sequence[Sequence[object]]) -> None:
        self.source = source
        header_at = next(
            (
                i
                for i, r in enumerate(rows[:HEADER_SEARCH_ROWS])
                if any(str(c or "").strip() == "走访日期" for c in r)
            ),
            None,
        )
        if header_at is None:
            raise VisitImportError(
                f"文件 {source} 的第一个工作表前10行中找不到表头“走访日期”：请使用列"
                f"{'、'.join(('推荐单位', '项目名称或项目编号', '走访日期', '走访人', '发现问题与建议'))}"
            )
        headers = [str(c or "").strip() for c in rows[header_at]]
        missing = [h for h in VISIT_COLUMNS if h not in headers]
        if not any(k in headers for k in KEY_COLUMNS):
            missing.append("项目编号或项目名称")
        if missing:
            raise VisitImportError(
                f"文件 {source} 第{header_at + 1}行表头缺少列：{'、'.join(missing)}。请补充这些列后重新导入。"
            )
        self.col = {h: i for i, h in enumerate(headers) if h}
        self.first_row = header_at + 2  # the Excel row number of the first record
        self.records = [list(r) + [None] * (len(headers) - len(r)) for r in rows[header_at + 1 :]]

    def letter(self, name: str) -> str:
        """The column's letter as Excel shows it."""
        i = self.col[name]
        return chr(ord("A") + i) if i < 26 else f"第{i + 1}"

    def cell(self, values: Sequence[object], name: str) -> str:
        return str(values[self.col[name]] or "").strip() if name in self.col else ""

    def plans(self) -> set[str]:
        """The plan numbers the sheet names."""
        return {self.cell(r, "项目编号") for r in self.records} - {""}

    def names_titles_only(self) -> bool:
        """Whether a row names its project by title alone (then all projects are needed)."""
        return any(not self.cell(r, "项目编号") and self.cell(r, "项目名称") for r in self.records)


# ---------------------------------------------------------------------------------------------
# the rows


class ProjectIndex:
    """The projects a sheet may name: by plan number, by (unit, title) and by title alone."""

    def __init__(self, projects: Sequence[VisitedProject]) -> None:
        self.by_plan = {a.plan_number: a for a in projects if a.plan_number}
        self.by_title: dict[tuple[str, str], list[VisitedProject]] = defaultdict(list)
        self.by_title_only: dict[str, list[VisitedProject]] = defaultdict(list)
        for a in projects:
            self.by_title[(a.unit, a.title.strip())].append(a)
            self.by_title_only[a.title.strip()].append(a)


def _project(
    sheet: VisitSheet, index: ProjectIndex, values: Sequence[object], n: int, year: int
) -> VisitedProject | str:
    """The row's project, or the problem naming why it is not found."""
    unit, plan, title = (sheet.cell(values, k) for k in ("推荐单位", "项目编号", "项目名称"))
    if plan:
        app = index.by_plan.get(plan)
        if app is None:
            return f"第{n}行 {sheet.letter('项目编号')}列（项目编号）“{plan}”不在{year}年项目计划中：请核对计划编号"
    elif title:
        found = index.by_title.get((unit, title)) or index.by_title_only.get(title, [])
        if len(found) != 1:
            why = "找不到该项目" if not found else "有多个同名项目"
            return f"第{n}行 {sheet.letter('项目名称')}列（项目名称）“{title}”{why}：请填写项目编号（如 TJZLGG-{year}-0001）"
        app = found[0]
    else:
        key = "项目编号" if "项目编号" in sheet.col else "项目名称"
        return f"第{n}行 {sheet.letter(key)}列为空：请填写项目编号或项目名称"
    if unit and unit != app.unit:
        return f"第{n}行 {sheet.letter('推荐单位')}列（推荐单位）“{unit}”与项目的推荐单位“{app.unit}”不符：请核对"
    return app


def check_row(
    sheet: VisitSheet,
    index: ProjectIndex,
    values: Sequence[object],
    n: int,
    *,
    year: int,
    today: dt.date,
) -> Visit | str:
    """One record (Excel row `n`): the visit, or the problem naming row, column and fix."""
    app = _project(sheet, index, values, n, year)
    if isinstance(app, str):
        return app
    day = as_date(values[sheet.col["走访日期"]])
    if day is None:
        return f"第{n}行 {sheet.letter('走访日期')}列（走访日期）“{sheet.cell(values, '走访日期')}”无法识别：请填写日期，如 {year}-06-15"
    if day > today:
        return f"第{n}行 {sheet.letter('走访日期')}列（走访日期）{day} 晚于今天：请核对日期"
    visitor = sheet.cell(values, "走访人")
    if not visitor:
        return f"第{n}行 {sheet.letter('走访人')}列（走访人）为空：请填写走访人姓名"
    return Visit(app, day, visitor[:VISITOR_MAX], sheet.cell(values, "发现问题与建议"))


def check_rows(sheet: VisitSheet, index: ProjectIndex, *, year: int, today: dt.date) -> list[Visit]:
    """Every record of the sheet checked (empty rows skipped); all or none: raises
    `VisitImportError` naming every problem."""
    problems: list[str] = []
    visits: list[Visit] = []
    for n, values in enumerate(sheet.records, start=sheet.first_row):
        if not any(str(v or "").strip() for v in values):
            continue
        checked = check_row(sheet, index, values, n, year=year, today=today)
        if isinstance(checked, str):
            problems.append(checked)
        else:
            visits.append(checked)
    if problems:
        raise VisitImportError(
            f"文件 {sheet.source} 有{len(problems)}处错误，未导入任何走访记录："
            + "；".join(problems)
        )
    return visits


# ---------------------------------------------------------------------------------------------
# coverage reports


class CoveragePoint(NamedTuple):
    """A coverage report: its stage step, its label, when it is due, what it counts up to."""

    step: str
    label: str
    due: dt.date | dt.datetime
    until: dt.date


def coverage_points(calendar: CampaignCalendar) -> list[CoveragePoint]:
    """Each period end and the results deadline."""
    points = [
        CoveragePoint(
            f"coverage:{p}", period_label(p), request_day(p), request_day(p) - dt.timedelta(days=1)
        )
        for p in calendar.checkin_periods()
    ]
    deadline = calendar.results_deadline.astimezone(SHANGHAI).date()
    points.append(
        CoveragePoint("coverage:final", "成果提交截止", calendar.results_deadline, deadline)
    )
    return points


def coverage_rate(visited: int, projects: int) -> float:
    """A unit's share of projects visited (1 for a unit without projects): the report's order."""
    return visited / projects if projects else 1
