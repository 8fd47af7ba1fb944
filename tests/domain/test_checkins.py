"""项目实施's and 跟踪服务's rules: the periods' dates, stale projects, what a returned report
must hold, and when each calendar-driven stage has something due."""

from __future__ import annotations

import datetime as dt

from domain.calendar import SHANGHAI, CampaignCalendar, CampaignConfig
from domain.checkins import (
    check_returned_values,
    due_at,
    escalate_at,
    is_stale,
    missed_in_a_row,
    parse_period,
    period_end,
    period_label,
    request_day,
)
from domain.stages import checkin_work, coverage_due, has_due_work, results_due
from domain.visits import coverage_points


def config() -> CampaignConfig:
    def at(day: str) -> dt.datetime:
        return dt.datetime.fromisoformat(f"{day}T09:00").replace(tzinfo=SHANGHAI)

    calendar = CampaignCalendar(
        call_published=at("2025-03-20"),
        application_deadline=at("2025-04-20"),
        audit=at("2025-05-08"),
        plan_published=at("2025-05-15"),
        training_invitations=at("2025-05-26"),
        checkins_start=dt.date(2025, 6, 1),
        checkins_end=dt.date(2025, 7, 31),
        results_window_opens=at("2025-09-01"),
        results_deadline=at("2025-09-30"),
        panel_draw=at("2025-10-13"),
        scores_due=at("2025-10-24"),
        excellent_decision=at("2025-10-28"),
        publicity_start=dt.date(2025, 11, 5),
        exchange_meeting=at("2025-12-10"),
    )
    return CampaignConfig(year=2025, title="2025年天津市质量攻关", calendar=calendar)


def now(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def test_a_period_is_asked_after_it_ends_due_ten_days_later_and_escalated_five_after() -> None:
    assert period_end("2025-12") == dt.date(2025, 12, 31)
    assert request_day("2025-06") == dt.date(2025, 7, 1)
    assert due_at("2025-06", 10) == now("2025-07-11T23:59:59")
    assert escalate_at("2025-06", 10) == now("2025-07-16T23:59:59")
    assert period_label("2025-06") == "2025年6月"
    assert parse_period("2025年6月") == parse_period("2025-06") == "2025-06"
    assert parse_period("六月") is None


def test_missed_periods_and_stale_projects() -> None:
    periods = ["2025-06", "2025-07", "2025-08"]
    assert missed_in_a_row({"2025-06": False, "2025-07": False}, periods, "2025-07") == 2
    assert missed_in_a_row({"2025-06": True, "2025-07": False}, periods, "2025-07") == 1
    window, before = ["2025-07", "2025-08"], ["2025-06"]
    assert is_stale({"2025-06": 30.0, "2025-07": 30.0, "2025-08": None}, window, before)
    assert not is_stale({"2025-06": 30.0, "2025-07": 45.0}, window, before)
    assert not is_stale({"2025-06": 100.0, "2025-07": None}, window, before)  # done
    assert not is_stale({"2025-06": None}, window, before)  # never asked in the window
    assert is_stale({"2025-07": None, "2025-08": None}, window, before)


def test_a_returned_report_names_the_cell_and_the_fix() -> None:
    def cell(field: str) -> str:
        return {"project_key": "B2", "period": "B6", "phase": "B8", "percent": "B9"}[field]

    values = {"project_key": "TJZLGG-2025-0001", "period": "2025年6月", "percent": "150"}
    report, problems = check_returned_values(
        values, source="a.xlsx", cell=cell, find_project=lambda key: 7
    )
    assert report.application_id == 7 and report.period == "2025-06"
    assert problems == ["文件 a.xlsx 单元格 B9（完成进度）“150”无效：请填写0～100之间的数值"]
    report, problems = check_returned_values(
        {"project_key": "X", "period": "2025-06", "phase": "执行", "percent": "40%"},
        source="b.xlsx",
        cell=cell,
        find_project=lambda key: None,
    )
    assert report.percent_done == 40.0 and len(problems) == 1 and "B2（项目编号）“X”" in problems[0]


def test_what_the_calendar_driven_stages_have_due() -> None:
    c = config()
    assert checkin_work(c, now("2025-06-30T12:00"), set()) == []
    assert [tuple(w) for w in checkin_work(c, now("2025-07-12T08:00"), set())] == [
        ("2025-06", True, True)
    ]
    done = {"requested:2025-06", "chased:2025-06"}
    assert checkin_work(c, now("2025-07-20T08:00"), done) == []
    assert has_due_work("implementation", c, now("2025-08-17T00:00"), set())  # closes
    assert [p.step for p in coverage_points(c.calendar)] == [
        "coverage:2025-06",
        "coverage:2025-07",
        "coverage:final",
    ]
    assert [p.step for p in coverage_due(c.calendar, now("2025-07-01T00:00"), set())] == [
        "coverage:2025-06"
    ]
    assert not results_due(c, now("2025-09-16T08:59"))  # T-14 is 09-16 09:00
    assert results_due(c, now("2025-09-16T09:00"))
    assert not has_due_work("follow_up", c, now("2025-10-01T00:00"), {"complete"})
