"""提醒: which reminder before a deadline is due at a given moment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable


def reminder_due(deadline: dt.datetime, now: dt.datetime, days: Iterable[int]) -> int | None:
    """The reminder due now: the smallest d with deadline - d days <= now < deadline.

    Queue it with ``period=f"T-{d}"``; earlier reminders that were missed are not sent again
    (the smallest due d is the most current one).
    """
    if now >= deadline:
        return None
    due = [d for d in days if now >= deadline - dt.timedelta(days=d)]
    return min(due) if due else None
