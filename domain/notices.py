"""公文 settings of a year: the 发文字号 of the commission's notices, the 版记, certificate
numbers and the exchange meeting's timetable (``[documents]`` in the year's config)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, field_validator

PLAN_NUMBER_PREFIX = "TJZLGG"  # 计划编号 TJZLGG-2025-0001 (domain.audit.plan_number)


class NoticeSettings(BaseModel):
    """``[documents]``: how the year's notices are numbered and printed."""

    model_config = ConfigDict(extra="forbid")

    # 发文字号 {doc_number_prefix}〔{year}〕{n}号, n counting from doc_number_start per campaign
    doc_number_prefix: str = Field("津市场监管质发", min_length=1, max_length=20)
    doc_number_start: int = Field(1, ge=1)
    printer: str = Field("天津市市场监督管理委员会办公室", max_length=60)  # 印发机关 (版记)
    copy_to: list[str] = Field(default_factory=list)  # 抄送机关 (版记)
    certificate_prefix: str = Field("TJZLZS", pattern=r"^[A-Z]{2,10}$")  # 证书编号前缀
    # the exchange meeting (交流会): when its afternoon ends and the tea breaks in it
    meeting_ends_at: dt.time = dt.time(17, 30)
    meeting_break_minutes: int = Field(15, ge=0)
    meeting_talks_between_breaks: int = Field(6, ge=1)

    @field_validator("certificate_prefix")
    @classmethod
    def _not_plan_prefix(cls, value: str) -> str:
        if value == PLAN_NUMBER_PREFIX:
            raise ValueError(
                f"证书编号前缀不能与计划编号前缀“{PLAN_NUMBER_PREFIX}”相同，请改为如“TJZLZS”"
            )
        return value

    def doc_number(self, year: int, seq: int) -> str:
        """津市场监管质发〔2025〕3号."""
        return f"{self.doc_number_prefix}〔{year}〕{seq}号"


def talks_that_fit(
    start: dt.time,
    end: dt.time,
    *,
    fixed_minutes: int,
    talk_minutes: int,
    break_minutes: int,
    talks_between_breaks: int,
) -> int:
    """How many talks of ``talk_minutes`` fit between ``start`` and ``end`` besides the fixed
    parts (opening, review, closing), with a tea break after every ``talks_between_breaks``."""
    available = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute) - fixed_minutes
    n = 0
    while True:
        more = n + 1
        breaks = (more - 1) // talks_between_breaks if break_minutes else 0
        if more * talk_minutes + breaks * break_minutes > available:
            return n
        n = more


def fair_share(groups: dict[str, list[str]], limit: int) -> dict[str, int]:
    """How many talks each group keeps when only ``limit`` fit: every group's first, then
    every group's second, and so on, in the groups' order."""
    kept = dict.fromkeys(groups, 0)
    round_ = 0
    while sum(kept.values()) < limit:
        grew = False
        for key, items in groups.items():
            if kept[key] == round_ and len(items) > round_ and sum(kept.values()) < limit:
                kept[key] += 1
                grew = True
        if not grew:
            break
        round_ += 1
    return kept
