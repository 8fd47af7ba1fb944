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
