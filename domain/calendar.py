"""The campaign calendar (活动日程) and per-campaign rules, loaded from `config/campaign-YYYY.toml`.

All times are Asia/Shanghai. A year with no file of its own takes the 2025 file's dates moved to
that year, so that a new campaign can be started before its plan is issued.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, ValidationError, field_validator

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_YEAR = 2025


class CampaignConfigError(ValueError):
    """The campaign's config file is wrong; the message names the file, the field and the fix."""


class TrainingSessionPlan(BaseModel):
    key: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    place: str
    capacity: int = Field(gt=0)


class CampaignCalendar(BaseModel):
    """活动日程: the date of every stage's step and deadline."""

    call_published: dt.datetime
    application_deadline: dt.datetime
    audit: dt.datetime
    plan_published: dt.datetime
    training_invitations: dt.datetime
    checkins_start: dt.date
    checkins_end: dt.date
    results_window_opens: dt.datetime
    results_deadline: dt.datetime
    panel_draw: dt.datetime
    scores_due: dt.datetime
    excellent_decision: dt.datetime
    publicity_start: dt.date
    exchange_meeting: dt.datetime

    def checkin_periods(self) -> list[str]:
        """Progress periods (YYYY-MM), one a month from checkins_start to checkins_end."""
        periods: list[str] = []
        y, m = self.checkins_start.year, self.checkins_start.month
        while (y, m) <= (self.checkins_end.year, self.checkins_end.month):
            periods.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return periods


class CampaignRules(BaseModel):
    duplicate_threshold: float = Field(0.75, gt=0, le=1)
    title_max_length: int = 30
    reminder_days: list[int] = Field(default_factory=lambda: [14, 7, 3, 1])
    checkin_due_days: int = 10
    checkin_stale_periods: int = 2
    publicity_working_days: int = 5
    panel_min_size: int = 5
    panel_reserves: int = 2
    excellent_threshold: float = 85.0
    excellent_quota: int | None = None
    panel_seed: int | None = None  # the expert draw's seed; derived from the year when unset
    max_upload_mb: int = 20


class CampaignConfig(BaseModel):
    year: int
    title: str
    issuer: str = "天津市市场监督管理委员会"
    department: str = "质量发展处"
    contact: str = ""
    phone: str = ""
    email: str = ""  # the commission's monitored mailbox: every mail's Reply-To
    # the address mail is sent from, when not `email` itself (e.g. a sending-only account)
    sender_email: str = ""
    calendar: CampaignCalendar
    training_sessions: list[TrainingSessionPlan] = Field(default_factory=list)
    rules: CampaignRules = Field(default_factory=CampaignRules)
    source: str = ""

    @field_validator("email", "sender_email")
    @classmethod
    def _mailbox(cls, value: str) -> str:
        value = value.strip()
        if value and not _MAILBOX.fullmatch(value):
            raise ValueError(f"“{value}”不是有效的邮箱地址，请写成 scjgzlfzc@tj.gov.cn 这样的格式")
        return value

    @property
    def mail_from(self) -> str:
        """The From address of the campaign's mail: `sender_email`, else the contact `email`."""
        return self.sender_email or self.email

    @property
    def mail_name(self) -> str:
        """The display name of the campaign's mail: the issuer and its department."""
        return f"{self.issuer}{self.department}"


_MAILBOX = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+")


def _localise(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=SHANGHAI)
    if isinstance(value, str) and "T" in value:
        parsed = dt.datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=SHANGHAI)
    return value


def _shift_year(value: Any, years: int) -> Any:
    if isinstance(value, dt.datetime | dt.date) and years:
        try:
            return value.replace(year=value.year + years)
        except ValueError:  # 29 February
            return value.replace(year=value.year + years, day=28)
    return value


def load_campaign_config(year: int, config_dir: Path) -> CampaignConfig:
    path = config_dir / f"campaign-{year}.toml"
    shift = 0
    if not path.exists():
        path = config_dir / f"campaign-{DEFAULT_YEAR}.toml"
        shift = year - DEFAULT_YEAR
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CampaignConfigError(
            f"找不到活动配置文件 {path}：请在 {config_dir} 下放置 campaign-{year}.toml"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise CampaignConfigError(
            f"活动配置文件 {path} 格式错误：{exc}。请按 TOML 语法修改。"
        ) from exc

    calendar = {k: _shift_year(_localise(v), shift) for k, v in (raw.get("calendar") or {}).items()}
    for key in ("checkins_start", "checkins_end", "publicity_start"):
        if isinstance(calendar.get(key), str):
            calendar[key] = _shift_year(dt.date.fromisoformat(calendar[key]), shift)
    sessions = [
        {k: _shift_year(_localise(v), shift) for k, v in s.items()}
        for s in (raw.get("training") or {}).get("sessions", [])
    ]
    title = raw.get("title", f"{year}年天津市质量攻关")
    if shift:
        title = title.replace(str(DEFAULT_YEAR), str(year))
    try:
        return CampaignConfig(
            year=year,
            title=title,
            issuer=raw.get("issuer", "天津市市场监督管理委员会"),
            department=raw.get("department", "质量发展处"),
            contact=raw.get("contact", ""),
            phone=raw.get("phone", ""),
            email=raw.get("email", ""),
            sender_email=raw.get("sender_email", ""),
            calendar=CampaignCalendar.model_validate(calendar),
            training_sessions=[TrainingSessionPlan.model_validate(s) for s in sessions],
            rules=CampaignRules.model_validate(raw.get("rules") or {}),
            source=str(path),
        )
    except ValidationError as exc:
        problems = "；".join(
            f"字段 {'.'.join(str(p) for p in err['loc'])}：{err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise CampaignConfigError(
            f"活动配置文件 {path} 有误：{problems}。请按 config/campaign-2025.toml 的格式填写。"
        ) from exc
