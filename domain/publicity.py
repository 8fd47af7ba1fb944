"""Rules of stages 8 公示公布 and 9 宣传推广: objections and their outcomes, when the notice period
ends, how certificates are handed out, and the exchange meeting's shape."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol, TypeVar

from domain.calendar import SHANGHAI
from domain.evaluation import record_key
from domain.intake import project_lead

UPHELD = "upheld"
DISMISSED = "dismissed"
OUTCOME_LABELS = {UPHELD: "异议成立", DISMISSED: "异议不成立"}
UPHELD_ACTOR = "rule:objection_upheld"
PUBLISHED_ACTOR = "rule:publicity_ended"

PICKUP = "请推荐单位于公布后10个工作日内到市市场监管委质量发展处统一领取，并转交获证单位和个人"

TALKS_PER_CHAIN = 3  # the best results of each chain present; the rest are in the printed list
TALK_MINUTES = 10
MEETING_PLACE = "天津市市场监管委（河西区友谊路）一号报告厅"
REPLY_DAYS_BEFORE_MEETING = 5
OTHER_CHAIN = "其他"


class ObjectionError(ValueError):
    """An objection or its outcome that cannot be recorded; the message says how to fix it."""


class _Person(Protocol):
    name: str
    role: str


P = TypeVar("P", bound=_Person)


def end_of_day(day: dt.date) -> dt.datetime:
    """The last second of `day` in Shanghai: a notice period ends then."""
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=SHANGHAI)


def names_project(ref: str, application_id: int, plan_number: str | None) -> bool:
    """Whether `ref` (as a user typed it) names this project: its id, plan number or key."""
    text = ref.strip()
    return (
        str(application_id) == text
        or bool(plan_number and plan_number == text)
        or record_key(application_id, plan_number) == text
    )


def speaker_of(people: Sequence[P]) -> P | None:
    """Who presents a result at the exchange meeting: its project lead, else its quality lead,
    else the first person named."""
    lead = project_lead(people)
    return lead if lead is not None or not people else people[0]
