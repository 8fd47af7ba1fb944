"""A new year's campaign config (新年度活动配置) from the latest year's, as `qcamp campaign init`
writes it: the text is kept (comments, order, rubrics, rules), and

* every date of `[calendar]` and `[[training.sessions]]` moves by whole weeks (so it keeps its
  weekday: the 4th-Friday deadline stays on a Friday), then onto the next working day; the
  progress months (`checkins_start` / `checkins_end`) keep month and day;
* what belongs to one year only is blanked for staff: online meeting numbers, the 文号 sequence
  (〔2025〕3号 -> 〔2026〕□号), a fixed `panel_seed`, the old year's `[holidays]` / `[workdays]`;
* the old year left anywhere else (the title) becomes the new one.

It returns the new text and the list of what staff must review.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

WEEKDAYS = "一二三四五六日"
MONTH_KEYS = ("checkins_start", "checkins_end")  # month boundaries, not days of the week
_DATE_LINE = re.compile(
    r'^(?P<key>[a-z_]+)(?P<eq>\s*=\s*)"(?P<date>\d{4}-\d{2}-\d{2})(?P<time>T[0-9:]+)?"',
)
_MEETING_NUMBER = re.compile(r"(会议号|会议ID|会议 ID)\s*[0-9][0-9\- ]*[0-9]")
_DOC_NUMBER = re.compile(r"〔(\d{4})〕\s*\d+\s*号")
_SECTION = re.compile(r"^\s*\[\[?\s*([a-z_.]+)\s*\]?\]")
_DAY_KEY = re.compile(r"^\s*\"?(\d{4})-\d{2}-\d{2}\"?\s*=")
BLANK = "□"


def weeks_between(from_year: int, to_year: int) -> int:
    """Whole weeks from one year's campaign to another's: the shift that keeps each weekday and
    stays within a few days of the same date."""
    return round((to_year - from_year) * 365.2425 / 7)


def _day(d: dt.date) -> str:
    return f"{d:%Y-%m-%d}（周{WEEKDAYS[d.weekday()]}）"


def _moved(old: dt.date, weeks: int, is_working_day: Callable[[dt.date], bool]) -> dt.date:
    new = old + dt.timedelta(weeks=weeks)
    while not is_working_day(new):
        new += dt.timedelta(days=1)
    return new


def _month_key(old: dt.date, to_year: int) -> dt.date:
    """A progress month's boundary in the new year (same month and day)."""
    try:
        return old.replace(year=to_year)
    except ValueError:  # 29 February
        return old.replace(year=to_year, day=28)


def roll_forward(
    text: str, from_year: int, to_year: int, is_working_day: Callable[[dt.date], bool]
) -> tuple[str, list[str]]:
    """`text` (campaign-<from_year>.toml) made into campaign-<to_year>.toml; and what to review."""
    weeks = weeks_between(from_year, to_year)
    review: list[str] = []
    out: list[str] = []
    section = ""
    latest: list[dt.date] = []  # the last calendar day written: the calendar keeps its order
    for line in text.splitlines():
        if found := _SECTION.match(line):
            section = found.group(1)
        if section in ("holidays", "workdays"):
            day = _DAY_KEY.match(line)
            if day and int(day.group(1)) < to_year:
                continue  # the old year's days off mean nothing in the new year
        line = _date_line(line, section, to_year, weeks, is_working_day, review, latest)
        line = _blank_year_specific(line, section, to_year, review)
        out.append(line)
    new = "\n".join(out) + ("\n" if text.endswith("\n") else "")
    new = re.sub(rf"(?<!\d){from_year}(?!\d)", str(to_year), new)
    review.append(
        f"节假日：如 chinesecalendar 尚未收录 {to_year} 年的放假安排，请在 [holidays] / [workdays] 中"
        f'逐日补充（如 {to_year}-10-01 = "国庆节"），并核对上面顺延的日期'
    )
    return new, review


def _date_line(
    line: str,
    section: str,
    to_year: int,
    weeks: int,
    is_working_day: Callable[[dt.date], bool],
    review: list[str],
    latest: list[dt.date],
) -> str:
    found = _DATE_LINE.match(line)
    if not found or section not in ("calendar", "training.sessions"):
        return line
    key = found.group("key")
    old = dt.date.fromisoformat(found.group("date"))
    if key in MONTH_KEYS:
        new = _month_key(old, to_year)
    else:
        new = _moved(old, weeks, is_working_day)
        if section == "calendar" and latest and new <= latest[-1]:
            # a day that must follow a progress month's end (results open after August)
            new = latest[-1] + dt.timedelta(days=1)
            while not is_working_day(new):
                new += dt.timedelta(days=1)
            review.append(
                f"[{section}] {key}：{_day(old)} 顺延后早于前一项，已改到其后的第一个工作日"
                f" {_day(new)}，请核对"
            )
        elif new != old + dt.timedelta(weeks=weeks):
            review.append(
                f"[{section}] {key}：{_day(old)} 顺延 {weeks} 周落在非工作日，已改到下一个工作日"
                f" {_day(new)}，请核对"
            )
        else:
            review.append(f"[{section}] {key}：{_day(old)} → {_day(new)}")
    if section == "calendar":
        latest.append(new)
    time = found.group("time") or ""
    start, end = found.span()
    return f'{line[:start]}{key}{found.group("eq")}"{new:%Y-%m-%d}{time}"{line[end:]}'


def _blank_year_specific(line: str, section: str, to_year: int, review: list[str]) -> str:
    if _MEETING_NUMBER.search(line):
        line = _MEETING_NUMBER.sub(lambda m: f"{m.group(1)} {BLANK}", line)
        review.append(f"[{section}] 会议号已清空（{BLANK}）：请填写 {to_year} 年的新会议号")
    if _DOC_NUMBER.search(line):
        line = _DOC_NUMBER.sub(f"〔{to_year}〕{BLANK}号", line)
        review.append(f"发文字号的序号已清空（〔{to_year}〕{BLANK}号）：请填写 {to_year} 年的文号")
    if section == "rules" and re.match(r"^\s*panel_seed\s*=", line):
        review.append("[rules] panel_seed 是上一年的抽取种子，已注释掉（留空则按年度自动生成）")
        line = "# " + line
    return line
