import datetime as dt

import pytest

from domain.workdays import (
    SHANGHAI,
    add_working_days,
    is_working_day,
    next_send_time,
    next_working_day,
    publicity_period,
    supported_years,
)

D = dt.date


def test_national_day_2025_facts_from_the_calendar():
    # Swapped working day before the holiday, the holiday itself, and the swapped Saturday after.
    assert is_working_day(D(2025, 9, 28))  # Sunday, 调休上班
    assert not is_working_day(D(2025, 9, 27))  # ordinary Saturday
    for day in range(1, 9):
        assert not is_working_day(D(2025, 10, day)), f"2025-10-{day} is a holiday"
    assert is_working_day(D(2025, 10, 9))
    assert is_working_day(D(2025, 10, 11))  # Saturday, 调休上班
    assert not is_working_day(D(2025, 10, 12))  # Sunday


def test_publicity_from_30_september_2025_skips_national_day():
    first, last = publicity_period(D(2025, 9, 30), 5)
    # 30 Sep (1), 9 Oct (2), 10 Oct (3), 11 Oct Saturday swapped (4), 13 Oct (5)
    assert (first, last) == (D(2025, 9, 30), D(2025, 10, 13))


def test_publicity_posted_on_a_holiday_starts_on_next_working_day():
    first, last = publicity_period(D(2025, 10, 3), 5)
    assert first == D(2025, 10, 9)
    assert last == D(2025, 10, 14)  # 9, 10, 11 (swapped Saturday), 13, 14 Oct


def test_publicity_of_one_day_is_that_day():
    assert publicity_period(D(2025, 9, 28), 1) == (D(2025, 9, 28), D(2025, 9, 28))
    with pytest.raises(ValueError):
        publicity_period(D(2025, 9, 28), 0)


def test_add_working_days_does_not_count_start():
    assert add_working_days(D(2025, 9, 30), 0) == D(2025, 9, 30)
    assert add_working_days(D(2025, 9, 30), 1) == D(2025, 10, 9)
    assert add_working_days(D(2025, 9, 30), 4) == D(2025, 10, 13)
    assert add_working_days(D(2025, 10, 9), -1) == D(2025, 9, 30)
    assert add_working_days(D(2025, 9, 27), 1) == D(2025, 9, 28)  # Sunday 调休


def test_spring_festival_2025():
    # 2025: 28 Jan - 4 Feb off; Sunday 26 Jan and Saturday 8 Feb are working days.
    assert is_working_day(D(2025, 1, 26))
    assert not is_working_day(D(2025, 1, 28))
    assert not is_working_day(D(2025, 2, 4))
    assert is_working_day(D(2025, 2, 8))
    assert next_working_day(D(2025, 1, 28)) == D(2025, 2, 5)


def test_outside_supported_years_falls_back_to_monday_to_friday():
    first, last = supported_years()
    year = last + 5
    new_year = D(year, 1, 1)
    assert is_working_day(new_year) == (new_year.weekday() < 5)
    saturday = next(D(year, 3, d) for d in range(1, 8) if D(year, 3, d).weekday() == 5)
    assert not is_working_day(saturday)
    assert is_working_day(saturday - dt.timedelta(days=1))  # Friday
    assert add_working_days(saturday - dt.timedelta(days=1), 1) == saturday + dt.timedelta(days=2)
    assert is_working_day(D(first - 1, 6, 2)) == (D(first - 1, 6, 2).weekday() < 5)


def sh(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


def test_send_time_inside_window_is_unchanged():
    assert next_send_time(sh(2025, 9, 30, 10, 15)) == sh(2025, 9, 30, 10, 15)
    assert next_send_time(sh(2025, 9, 30, 9, 0)) == sh(2025, 9, 30, 9, 0)


def test_send_time_early_morning_waits_for_nine():
    assert next_send_time(sh(2025, 9, 30, 7, 30)) == sh(2025, 9, 30, 9, 0)


def test_send_time_after_hours_before_holiday_waits_until_after_national_day():
    assert next_send_time(sh(2025, 9, 30, 18, 0)) == sh(2025, 10, 9, 9, 0)
    assert next_send_time(sh(2025, 10, 1, 10, 0)) == sh(2025, 10, 9, 9, 0)


def test_send_time_on_swapped_saturday_goes_out():
    assert next_send_time(sh(2025, 10, 11, 11, 0)) == sh(2025, 10, 11, 11, 0)
    assert next_send_time(sh(2025, 10, 12, 11, 0)) == sh(2025, 10, 13, 9, 0)


def test_send_time_converts_utc_and_reads_naive_as_shanghai():
    utc = dt.datetime(2025, 9, 30, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
    result = next_send_time(utc)
    assert result == sh(2025, 9, 30, 10, 0)
    assert result.tzinfo == SHANGHAI
    # 2025-09-30 23:30 UTC is already 1 Oct 07:30 in Shanghai: a holiday.
    assert next_send_time(dt.datetime(2025, 9, 30, 23, 30, tzinfo=dt.UTC)) == sh(2025, 10, 9, 9)
    assert next_send_time(dt.datetime(2025, 9, 30, 8, 0)) == sh(2025, 9, 30, 9, 0)


def test_send_time_custom_hour():
    assert next_send_time(sh(2025, 9, 30, 8, 0), hour=10) == sh(2025, 9, 30, 10, 0)
    with pytest.raises(ValueError):
        next_send_time(sh(2025, 9, 30, 8, 0), hour=19)
