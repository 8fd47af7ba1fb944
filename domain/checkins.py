"""项目实施's rules: the monthly progress periods (进度报告), when a report is asked, due and
escalated, what a returned report must hold (and the Chinese texts naming what is wrong), and
which projects count as stale."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from pydantic import BaseModel

from domain.calendar import SHANGHAI

PDCA_PHASES: tuple[str, ...] = ("计划", "执行", "检查", "处理")
ESCALATE_AFTER_DAYS = 5  # after the reminder, days before the recommending unit is asked
ESCALATION_REPLY_DAYS = 7  # the recommending unit's days to answer an escalation
INDICATOR_MAX = 80  # characters of the project's goal printed as its indicator
INDICATOR_VALUE_MAX = 100  # characters of a reported indicator value that are stored
SHOWN_TITLES = 3  # projects named in a request message before "等N个项目"
SHOWN_STALE = 20  # stale projects named on the dashboard before "等N个"


class CheckinError(ValueError):
    """A progress report that cannot be imported; names the file, the cell and the fix."""


class CheckinReport(BaseModel):
    """One returned progress report, as read and checked."""

    application_id: int
    period: str
    phase: str = ""
    percent_done: float | None = None
    indicator_value: str = ""
    problems: str = ""

    def content(self) -> tuple[str, float | None, str, str]:
        """What is stored of the report, as compared with a report stored before."""
        return (
            self.phase,
            self.percent_done,
            self.indicator_value[:INDICATOR_VALUE_MAX],
            self.problems,
        )


class Numbered(Protocol):
    id: int
    plan_number: str | None


# ---------------------------------------------------------------------------------------------
# periods


def period_end(period: str) -> dt.date:
    """The last day of a period (``YYYY-MM``)."""
    year, month = (int(x) for x in period.split("-"))
    first_next = dt.date(year + month // 12, month % 12 + 1, 1)
    return first_next - dt.timedelta(days=1)


def request_day(period: str) -> dt.date:
    """The first day after the period ends: when its reports are asked."""
    return period_end(period) + dt.timedelta(days=1)


def due_at(period: str, due_days: int) -> dt.datetime:
    """When a period's reports are due: `due_days` after the request day, end of day."""
    day = request_day(period) + dt.timedelta(days=due_days)
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=SHANGHAI)


def escalate_at(period: str, due_days: int) -> dt.datetime:
    """When the recommending unit is asked to act on a period's missing reports."""
    return due_at(period, due_days) + dt.timedelta(days=ESCALATE_AFTER_DAYS)


def period_label(period: str) -> str:
    year, month = period.split("-")
    return f"{year}年{int(month)}月"


def parse_period(text: object) -> str | None:
    m = re.search(r"(\d{4})\s*[年-]\s*(\d{1,2})", str(text or ""))
    return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}" if m else None


def project_key(app: Numbered) -> str:
    """How a project is named in requests and reports: its plan number, else its id."""
    return app.plan_number or str(app.id)


def missed_in_a_row(submitted: Mapping[str, bool], periods: Sequence[str], upto: str) -> int:
    """Periods up to `upto` asked of the project and not reported, counted back from `upto`."""
    n = 0
    for p in reversed(periods[: periods.index(upto) + 1]):
        if p not in submitted or submitted[p]:
            break
        n += 1
    return n


def is_stale(
    progress: Mapping[str, float | None], window: Sequence[str], before: Sequence[str]
) -> bool:
    """Whether a project made no progress over the `window` periods: nothing reported in them
    beyond the best reported before (`progress`: the reported percentage per period asked,
    None when asked and not reported). A project never asked in the window, or done, is not."""
    if not any(p in progress for p in window):
        return False  # never asked (joined later)
    best_before = max((v for p in before if (v := progress.get(p)) is not None), default=0.0)
    recent = [v for p in window if (v := progress.get(p)) is not None]
    if best_before >= 100 or (recent and max(recent) >= 100):
        return False
    return not recent or max(recent) <= best_before


def shown_titles(titles: Sequence[str]) -> str:
    """The projects a request message names in its subject line."""
    shown = "、".join(titles[:SHOWN_TITLES])
    return shown + (f"等{len(titles)}个项目" if len(titles) > SHOWN_TITLES else "")


# ---------------------------------------------------------------------------------------------
# a returned report's values


def _percent(raw: object) -> tuple[float | None, bool]:
    """A reported percentage (None when empty or not a number) and whether it is valid: empty,
    or a number from 0 to 100."""
    if raw in (None, ""):
        return None, True
    try:
        percent = float(str(raw).strip().rstrip("%"))
    except ValueError:
        return None, False
    return percent, 0 <= percent <= 100


def check_returned_values(
    values: Mapping[str, object],
    *,
    source: str,
    cell: Callable[[str], str],
    find_project: Callable[[object], int | None],
) -> tuple[CheckinReport, list[str]]:
    """A returned report's values (by field) checked: the report and the problems found, each
    naming the file (`source`), the cell (`cell(field)`) and the fix."""
    problems: list[str] = []
    key = values.get("project_key")
    app_id = find_project(key)
    if app_id is None:
        problems.append(
            f"文件 {source} 单元格 {cell('project_key')}（项目编号）“{key}”"
            "不是本年度的项目：请勿修改预填的项目编号"
        )
    period = parse_period(values.get("period"))
    if period is None:
        problems.append(
            f"文件 {source} 单元格 {cell('period')}（报告期）“{values.get('period')}”无法识别：请勿修改预填的报告期"
        )
    phase = str(values.get("phase") or "").strip()
    if phase and phase not in PDCA_PHASES:
        problems.append(
            f"文件 {source} 单元格 {cell('phase')}（当前PDCA阶段）“{phase}”无效：请从下拉列表选择{'/'.join(PDCA_PHASES)}"
        )
    raw = values.get("percent")
    percent, valid = _percent(raw)
    if not valid:
        problems.append(
            f"文件 {source} 单元格 {cell('percent')}（完成进度）“{raw}”无效：请填写0～100之间的数值"
        )
    if not phase and percent is None:
        problems.append(
            f"文件 {source} 未填写 {cell('phase')}（当前PDCA阶段）和 {cell('percent')}（完成进度）：请填写后再返回"
        )
    text_problems = "\n".join(
        str(values.get(k) or "").strip() for k in ("problems", "help") if values.get(k)
    )
    report = CheckinReport(
        application_id=app_id or 0,
        period=period or "",
        phase=phase,
        percent_done=percent,
        indicator_value=str(values.get("current") or "").strip(),
        problems=text_problems,
    )
    return report, problems


def file_missing(source: str) -> str:
    return f"找不到文件 {source}：请检查路径"


def file_refused(message: str, source: str) -> str:
    """A file the safety checks refused (too large, macros, encrypted, old format, broken)."""
    return f"{message}（{source}）"


def file_not_a_report(source: str, exc: Exception) -> str:
    return (
        f"文件 {source} 无法读取（{exc}）：请使用系统发出的进度报告表填写后返回，勿改动工作表名称"
    )


def import_refused(problems: Sequence[str]) -> CheckinError:
    """All or none: the error that names every problem of an import."""
    return CheckinError(f"{len(problems)}处错误，未导入任何进度报告：" + "；".join(problems))
