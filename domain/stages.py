"""When each stage (工作程序) opens, and whether it has something due at a clock: the one place the
campaign asks before it starts a stage's flow.

A stage's due work may depend on the steps it already recorded (`done`: the names of its stage
steps, e.g. ``requested:2025-06``); callers read them from the database and pass them in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from typing import NamedTuple

from domain.calendar import SHANGHAI, CampaignCalendar, CampaignConfig
from domain.checkins import due_at, escalate_at, request_day
from domain.visits import CoveragePoint, coverage_points

COMPLETE = "complete"  # the step a stage records when it is complete

# When each stage opens: before then, the campaign does not start its flow at all.
OPENS: dict[str, Callable[[CampaignCalendar], dt.datetime | dt.date]] = {
    "application": lambda c: c.call_published,
    "audit": lambda c: c.audit,
    "training": lambda c: c.training_invitations,
    "implementation": lambda c: c.checkins_start,
    "follow_up": lambda c: c.checkins_start,
    "results": lambda c: c.results_window_opens,
    "evaluation": lambda c: c.panel_draw,
    "publicity": lambda c: c.publicity_start,
    "promotion": lambda c: c.publicity_start,
}


def reached(now: dt.datetime, moment: dt.datetime | dt.date) -> bool:
    """Whether the clock has reached a moment; a date is reached on that day in Shanghai."""
    if isinstance(moment, dt.datetime):
        return now >= moment
    return now.astimezone(SHANGHAI).date() >= moment


def opens_at(stage: str, calendar: CampaignCalendar) -> dt.datetime | dt.date:
    return OPENS[stage](calendar)


def is_open(stage: str, calendar: CampaignCalendar, now: dt.datetime) -> bool:
    return reached(now, opens_at(stage, calendar))


# ---------------------------------------------------------------------------------------------
# 项目实施


class PeriodWork(NamedTuple):
    """A check-in period with work left at a clock: its requests to send, its overdue reports
    to chase."""

    period: str
    request: bool
    chase: bool


def checkin_work(
    config: CampaignConfig, now: dt.datetime, done: Collection[str]
) -> list[PeriodWork]:
    """Each period with something left to do by `now`: its report requests not yet sent, or
    its overdue reports past due and not yet escalated."""
    due_days = config.rules.checkin_due_days
    work = []
    for period in config.calendar.checkin_periods():
        if not reached(now, request_day(period)):
            break
        request = f"requested:{period}" not in done
        chase = now > due_at(period, due_days) and f"chased:{period}" not in done
        if request or chase:
            work.append(PeriodWork(period, request, chase))
    return work


def implementation_closes(config: CampaignConfig, now: dt.datetime) -> bool:
    """Whether 项目实施 is over: the last period's escalation is due."""
    periods = config.calendar.checkin_periods()
    return bool(periods) and reached(now, escalate_at(periods[-1], config.rules.checkin_due_days))


def implementation_due(config: CampaignConfig, now: dt.datetime, done: Collection[str]) -> bool:
    """Whether a run has anything to do: requests, chasing, or the stage to close."""
    return implementation_closes(config, now) or bool(checkin_work(config, now, done))


# ---------------------------------------------------------------------------------------------
# 跟踪服务


def coverage_due(
    calendar: CampaignCalendar, now: dt.datetime, done: Collection[str]
) -> list[CoveragePoint]:
    """The coverage reports due by `now` and not yet written."""
    return [p for p in coverage_points(calendar) if reached(now, p.due) and p.step not in done]


def follow_up_closes(calendar: CampaignCalendar, now: dt.datetime) -> bool:
    """Whether 跟踪服务 is over: the results deadline has passed."""
    return reached(now, calendar.results_deadline)


def follow_up_due(config: CampaignConfig, now: dt.datetime, done: Collection[str]) -> bool:
    """Whether a run has anything to do: a report to write, or the stage to close."""
    calendar = config.calendar
    return follow_up_closes(calendar, now) or bool(coverage_due(calendar, now, done))


# ---------------------------------------------------------------------------------------------
# 提交成果


def results_due(config: CampaignConfig, now: dt.datetime, done: Collection[str] = ()) -> bool:
    """Whether a run has anything to do: a reminder day (T-14/T-7/T-3/T-1: from the first of
    them on, every day before the deadline has one due) or the close at the deadline.
    Submissions and withdrawals do not wait for a run: they are recorded when they arrive."""
    deadline = config.calendar.results_deadline
    first = max(config.rules.reminder_days, default=0)
    return reached(now, deadline - dt.timedelta(days=first))


# Stages driven by calendar points alone: the campaign starts their flow only on a run where one
# is due (the others look at what arrived since their last run, so they run whenever open).
DUE: dict[str, Callable[[CampaignConfig, dt.datetime, Collection[str]], bool]] = {
    "implementation": implementation_due,
    "follow_up": follow_up_due,
    "results": results_due,
}


def has_due_work(
    stage: str, config: CampaignConfig, now: dt.datetime, done: Collection[str]
) -> bool:
    """Whether the campaign starts `stage` at `now`: open, not complete, and (for a stage driven
    by calendar points) something due."""
    if not is_open(stage, config.calendar, now) or COMPLETE in done:
        return False
    return stage not in DUE or DUE[stage](config, now, done)
