"""Calendar files (.ics) for training invitations."""

from __future__ import annotations

import datetime as dt
import uuid

from icalendar import Calendar, Event

from domain.workdays import SHANGHAI

# Fixed namespace: the same session key always yields the same UID, so a re-sent invitation
# updates the calendar entry instead of adding a second one.
UID_NAMESPACE = uuid.UUID("5b0e2d1c-6f7a-4c61-9a57-3f1d2c0e9a11")
PRODID = "-//天津市市场监督管理委员会 质量发展处//质量攻关//ZH"


def training_uid(session_key: str) -> str:
    return f"{uuid.uuid5(UID_NAMESPACE, f'training:{session_key}')}@qcamp.tj"


def _local(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=SHANGHAI)
    return value.astimezone(SHANGHAI)


def training_ics(
    session_key: str,
    summary: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    location: str,
    description: str,
    *,
    stamp: dt.datetime | None = None,
    sequence: int = 0,
) -> bytes:
    """One VEVENT in Asia/Shanghai (with its VTIMEZONE), stable UID per `session_key`.

    `stamp` (DTSTAMP) defaults to `starts_at`'s day start so that the same inputs always give the
    same bytes; raise `sequence` when a session's time or place changes.
    """
    if ends_at <= starts_at:
        raise ValueError(f"培训场次 {session_key} 的结束时间须晚于开始时间")
    start, end = _local(starts_at), _local(ends_at)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    event = Event()
    event.add("uid", training_uid(session_key))
    event.add("summary", summary)
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("dtstamp", (stamp or start.replace(hour=0, minute=0, second=0)).astimezone(dt.UTC))
    event.add("location", location)
    event.add("description", description)
    event.add("sequence", sequence)
    cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()
