"""The Chinese working-day calendar (工作日), with holidays and swapped working days (调休).

Backed by `chinese_calendar`, which knows the State Council's holiday arrangements year by year:
public holidays that fall on weekdays are days off, and some Saturdays/Sundays are working days
(调休). The library only covers the years it ships data for (currently 2004-2026). A campaign's
config may declare days off and swapped working days (`[holidays]` / `[workdays]`) for a year the
library does not cover yet; they take precedence. For a date neither covers every function here
falls back to a plain Monday-Friday week (the holiday arrangement for a year is only published
in the November before it), and the campaign warns loudly (`domain.calendar.holiday_warning`).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")

# Days off and working days the campaign's config declares (`[holidays]` / `[workdays]`), for
# years the library has no data for yet; they take precedence over the library.
_HOLIDAYS: dict[dt.date, str] = {}
_WORKDAYS: dict[dt.date, str] = {}


def set_overrides(holidays: dict[dt.date, str], workdays: dict[dt.date, str]) -> None:
    """Declare days off and (swapped) working days from the campaign's config."""
    for day in holidays:
        _WORKDAYS.pop(day, None)
    for day in workdays:
        _HOLIDAYS.pop(day, None)
    _HOLIDAYS.update(holidays)
    _WORKDAYS.update(workdays)


def is_year_covered(year: int) -> bool:
    """Whether holiday data covers `year`: the library's, or days the config declares."""
    first, last = supported_years()
    return first <= year <= last or any(d.year == year for d in (*_HOLIDAYS, *_WORKDAYS))


# Messages may be sent on a working day from WORKDAY_START_HOUR:00 to WORKDAY_END_HOUR:00.
WORKDAY_START_HOUR = 9
WORKDAY_END_HOUR = 18


@lru_cache(maxsize=1)
def supported_years() -> tuple[int, int]:
    """The (first, last) year for which `chinese_calendar` has holiday data."""
    known = [*chinese_calendar.holidays, *chinese_calendar.workdays]
    return min(known).year, max(known).year


def is_calendar_known(d: dt.date) -> bool:
    """True when `d` lies in a year the holiday data covers (no Mon-Fri fallback needed)."""
    first, last = supported_years()
    return first <= d.year <= last


def is_working_day(d: dt.date) -> bool:
    """True when `d` is a working day in mainland China.

    Holidays are days off even on weekdays; swapped working days (调休) are working days even on
    weekends. Outside the supported years (see `supported_years`) this is simply Monday-Friday.
    """
    if isinstance(d, dt.datetime):
        d = d.date()
    if d in _WORKDAYS:
        return True
    if d in _HOLIDAYS:
        return False
    if is_calendar_known(d):
        try:
            return bool(chinese_calendar.is_workday(d))
        except NotImplementedError:  # pragma: no cover - data range narrower than detected
            pass
    return d.weekday() < 5


def next_working_day(d: dt.date, *, include_self: bool = True) -> dt.date:
    """The first working day on or after `d` (strictly after when `include_self` is False)."""
    day = d if include_self else d + dt.timedelta(days=1)
    while not is_working_day(day):
        day += dt.timedelta(days=1)
    return day


def add_working_days(start: dt.date, n: int) -> dt.date:
    """The date `n` working days after `start` (before it when `n` is negative).

    `start` itself is not counted: `add_working_days(d, 1)` is the next working day after `d`
    (whether or not `d` is one), and `add_working_days(d, 0)` is `d` unchanged. To count a period
    in which the start day is day 1, use `publicity_period`.
    """
    step = 1 if n >= 0 else -1
    remaining = abs(n)
    day = start
    while remaining:
        day += dt.timedelta(days=step)
        if is_working_day(day):
            remaining -= 1
    return day


def publicity_period(start: dt.date, working_days: int = 5) -> tuple[dt.date, dt.date]:
    """The (first, last) day of a 公示 lasting `working_days` working days.

    The period starts on `start` when it is a working day, else on the next working day; that first
    day counts as day 1, and the end is the last working day of the period. Example: a 5-working-day
    公示 posted on 30 Sep 2025 runs 30 Sep, 9 Oct, 10 Oct, 11 Oct (a swapped Saturday) and 13 Oct,
    skipping the National Day holiday of 1-8 Oct.
    """
    if working_days < 1:
        raise ValueError("公示期至少为 1 个工作日")
    first = next_working_day(start)
    return first, add_working_days(first, working_days - 1)


def to_shanghai(when: dt.datetime) -> dt.datetime:
    """`when` in Asia/Shanghai; a naive datetime is taken to be Shanghai local time already."""
    if when.tzinfo is None:
        return when.replace(tzinfo=SHANGHAI)
    return when.astimezone(SHANGHAI)


def next_send_time(
    when: dt.datetime, hour: int = WORKDAY_START_HOUR, end_hour: int = WORKDAY_END_HOUR
) -> dt.datetime:
    """The earliest time at or after `when` at which a message may go out.

    Messages go out on working days between `hour`:00 (inclusive) and `end_hour`:00 (exclusive),
    Shanghai time. Inside that window `when` is returned unchanged (converted to Asia/Shanghai);
    earlier on a working day it moves to `hour`:00 the same day; otherwise (after hours, weekend,
    holiday) it is deferred to the next working day at `hour`:00. A naive `when` is read as
    Shanghai local time. The result is always timezone-aware (Asia/Shanghai).
    """
    if not 0 <= hour < end_hour <= 24:
        raise ValueError("发送时段设置有误：开始时刻须早于结束时刻")
    local = to_shanghai(when)
    day = local.date()
    opens = dt.datetime.combine(day, dt.time(hour), tzinfo=SHANGHAI)
    closes = dt.datetime.combine(day, dt.time(0), tzinfo=SHANGHAI) + dt.timedelta(hours=end_hour)
    if is_working_day(day):
        if local < opens:
            return opens
        if local < closes:
            return local
    following = next_working_day(day, include_self=False)
    return dt.datetime.combine(following, dt.time(hour), tzinfo=SHANGHAI)
