"""提醒: which reminder before a deadline is due at a given moment, and the dates a message
states as seen from its delivery day."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from domain.workdays import add_working_days, to_shanghai


def reminder_due(deadline: dt.datetime, now: dt.datetime, days: Iterable[int]) -> int | None:
    """The reminder due now: the smallest d with deadline - d days <= now < deadline.

    Queue it with ``period=f"T-{d}"``; earlier reminders that were missed are not sent again
    (the smallest due d is the most current one).
    """
    if now >= deadline:
        return None
    due = [d for d in days if now >= deadline - dt.timedelta(days=d)]
    return min(due) if due else None


def days_left(deadline: dt.datetime, on: dt.date) -> int:
    """Calendar days from `on` to the deadline's day (Asia/Shanghai): 0 on the deadline day."""
    return (to_shanghai(deadline).date() - on).days


def left_phrase(days: int) -> str:
    """``3天后`` / ``明天`` / ``今天``: when a deadline falls, seen from the delivery day."""
    if days <= 0:
        return "今天"
    return "明天" if days == 1 else f"{days}天后"


def reminder_days_of(period: str) -> int | None:
    """``T-7`` -> 7; None for a period that is not a reminder's."""
    head, _, number = period.partition("-")
    return int(number) if head == "T" and number.isdigit() else None


def most_current(periods: Iterable[str]) -> str:
    """Of reminders (``T-14``, ``T-7``) that would arrive on one day, the one to send: the one
    closest to the deadline (the others collapse into it)."""
    return min(periods, key=lambda p: reminder_days_of(p) or 0)


def reply_by_on(delivered: dt.date, asked: dt.date, working_days: int = 1) -> dt.date:
    """A "于…前回复" date that the reader still can meet: the one asked for, unless it falls
    before `working_days` working days after the delivery day (then that day)."""
    return max(asked, add_working_days(delivered, working_days))


def invitation_in_time(delivered: dt.date, event: dt.date, lead_working_days: int) -> bool:
    """Whether an invitation delivered on `delivered` leaves the invitee `lead_working_days`
    working days before the event (邀请提前量)."""
    return add_working_days(delivered, lead_working_days) <= event
