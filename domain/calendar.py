"""The campaign calendar (活动日程) and per-campaign rules, loaded from `config/campaign-YYYY.toml`.

All times are Asia/Shanghai. Every year has its own file: `qcamp campaign init --year Y` writes
it from the latest year's (`domain.campaign_year`), and a year without one is an error naming
that command.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)

from domain.mail import MessagesConfig
from domain.notices import NoticeSettings
from domain.rubrics import DEFAULT_RUBRICS, RankingScope, Rubric
from domain.workdays import (
    SHANGHAI,  # Asia/Shanghai: the campaign's one time zone
    add_working_days,
    is_year_covered,
    set_overrides,
    to_shanghai,
)

DEFAULT_YEAR = 2025
CAMPAIGN_TAIL_DAYS = 31  # the campaign ends this long after its exchange meeting (交流会)


class CampaignConfigError(ValueError):
    """The campaign's config file is wrong; the message names the file, the field and the fix."""


class TrainingSessionPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    place: str
    capacity: int = Field(gt=0)

    @model_validator(mode="after")
    def _ends_after_start(self) -> TrainingSessionPlan:
        if self.ends_at <= self.starts_at:
            raise ValueError(f"场次 {self.key} 的结束时间 ends_at 应晚于开始时间 starts_at")
        return self


# The calendar points in the order the campaign reaches them; each must come after the one before.
CALENDAR_ORDER: tuple[str, ...] = (
    "call_published",
    "application_deadline",
    "audit",
    "plan_published",
    "training_invitations",
    "checkins_start",
    "checkins_end",
    "results_window_opens",
    "results_deadline",
    "panel_draw",
    "scores_due",
    "excellent_decision",
    "publicity_start",
    "exchange_meeting",
)


def _moment(value: dt.date | dt.datetime) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.combine(value, dt.time(), tzinfo=SHANGHAI)


class CampaignCalendar(BaseModel):
    """活动日程: the date of every stage's step and deadline."""

    model_config = ConfigDict(extra="forbid")

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

    @model_validator(mode="after")
    def _in_order(self) -> CampaignCalendar:
        for before, after in zip(CALENDAR_ORDER, CALENDAR_ORDER[1:], strict=False):
            first, then = getattr(self, before), getattr(self, after)
            same_month_ok = (before, after) == ("checkins_start", "checkins_end")
            if _moment(then) < _moment(first) or (
                not same_month_ok and _moment(then) == _moment(first)
            ):
                raise ValueError(
                    f"{after}（{then}）应晚于 {before}（{first}）；日程各项须按此顺序："
                    + " < ".join(CALENDAR_ORDER)
                )
        return self

    def checkin_periods(self) -> list[str]:
        """Progress periods (YYYY-MM), one a month from checkins_start to checkins_end."""
        periods: list[str] = []
        y, m = self.checkins_start.year, self.checkins_start.month
        while (y, m) <= (self.checkins_end.year, self.checkins_end.month):
            periods.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return periods


class CampaignRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    duplicate_threshold: float = Field(0.75, gt=0, le=1)
    title_max_length: int = Field(30, gt=0)
    reminder_days: list[PositiveInt] = Field(default_factory=lambda: [14, 7, 3, 1])
    checkin_due_days: int = Field(10, gt=0)
    checkin_stale_periods: int = Field(2, gt=0)
    publicity_working_days: int = Field(5, gt=0)
    panel_min_size: int = Field(5, ge=1)
    panel_reserves: int = Field(2, ge=0)
    excellent_threshold: float = Field(85.0, ge=0, le=100)
    excellent_quota: int | None = Field(None, ge=0)
    panel_seed: int | None = None  # the expert draw's seed; derived from the year when unset
    max_upload_mb: int = Field(20, gt=0)
    # 链主企业: their joint applications are flagged and listed first in the audit (优先推荐)
    chain_leaders: list[str] = Field(default_factory=list)
    # 成果评定: rank and pick the excellent list over all results, or within each project kind
    ranking: RankingScope = "overall"
    trim_min_panel: int = Field(5, ge=3)  # drop highest and lowest when this many experts scored
    outlier_points: float = Field(15.0, gt=0)  # an expert this far from the others' mean is flagged
    max_results_per_panel: int = Field(30, gt=0)
    review_place: str = Field("天津市市场监管委（河西区友谊路）评审会议室", min_length=1)
    meeting_place: str = Field("天津市市场监管委（河西区友谊路）一号报告厅", min_length=1)
    # invitations (training, expert review, exchange meeting) reach people at least this many
    # working days before the event (邀请提前量)
    invitation_lead_working_days: int = Field(3, ge=1, le=30)


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
    rubrics: tuple[Rubric, ...] = DEFAULT_RUBRICS  # 评分标准, one per project kind
    # days off and swapped working days for years chinesecalendar has no data for (name by date)
    holidays: dict[dt.date, str] = Field(default_factory=dict)
    workdays: dict[dt.date, str] = Field(default_factory=dict)
    documents: NoticeSettings = Field(default_factory=NoticeSettings)  # [documents] 公文设置
    messages: MessagesConfig = Field(default_factory=MessagesConfig)
    source: str = ""

    @field_validator("rubrics")
    @classmethod
    def _one_per_kind(cls, value: tuple[Rubric, ...]) -> tuple[Rubric, ...]:
        kinds = [r.kind for r in value]
        doubled = sorted({k for k in kinds if kinds.count(k) > 1})
        if doubled:
            raise ValueError(
                f"课题类型 {'、'.join(doubled)} 有不止一套评分标准：每种类型只写一个 [[rubrics]]"
            )
        if not value:
            raise ValueError("至少需要一套评分标准 [[rubrics]]")
        return value

    @property
    def kinds(self) -> tuple[str, ...]:
        """The project kinds (课题类型) this campaign scores, in its rubrics' order."""
        return tuple(r.kind for r in self.rubrics)

    def rubric(self, kind: str) -> Rubric:
        """The rubric of a project kind (the first rubric for a kind it does not know)."""
        return next((r for r in self.rubrics if r.kind == kind), self.rubrics[0])

    @field_validator("email", "sender_email")
    @classmethod
    def _mailbox(cls, value: str) -> str:
        value = value.strip()
        if value and not _MAILBOX.fullmatch(value):
            raise ValueError(f"“{value}”不是有效的邮箱地址，请写成 scjgzlfzc@tj.gov.cn 这样的格式")
        return value

    @model_validator(mode="after")
    def _invitations_in_time(self) -> CampaignConfig:
        """Every invitation can go out `rules.invitation_lead_working_days` working days before
        its event: training sessions after `training_invitations`, the exchange meeting after
        `publicity_start`; the panel review (that many working days after the draw) before
        `scores_due`."""
        lead = self.rules.invitation_lead_working_days
        cal = self.calendar
        earliest = add_working_days(to_shanghai(cal.training_invitations).date(), lead)
        for s in self.training_sessions:
            if to_shanghai(s.starts_at).date() < earliest:
                raise ValueError(
                    f"[[training.sessions]] {s.key} 的 starts_at（{s.starts_at:%Y-%m-%d}）距培训邀请"
                    f"（calendar.training_invitations）不足 {lead} 个工作日：请推迟场次，"
                    "或提前 training_invitations，或调小 rules.invitation_lead_working_days"
                )
        if to_shanghai(cal.exchange_meeting).date() < add_working_days(cal.publicity_start, lead):
            raise ValueError(
                f"calendar.exchange_meeting 距 publicity_start 不足 {lead} 个工作日（交流会邀请须提前"
                "发出）：请推迟交流会，或调小 rules.invitation_lead_working_days"
            )
        if self.panel_review_at >= to_shanghai(cal.scores_due):
            raise ValueError(
                f"评定会（panel_draw 后第 {lead} 个工作日）不早于 calendar.scores_due：请推迟"
                " scores_due，或提前 panel_draw，或调小 rules.invitation_lead_working_days"
            )
        return self

    @property
    def panel_review_at(self) -> dt.datetime:
        """评定时间: the panels meet `invitation_lead_working_days` working days after the draw,
        at the draw's time of day, so that the invitations sent at the draw reach the experts
        in time."""
        draw = to_shanghai(self.calendar.panel_draw)
        day = add_working_days(draw.date(), self.rules.invitation_lead_working_days)
        return dt.datetime.combine(day, draw.timetz())

    @property
    def mail_from(self) -> str:
        """The From address of the campaign's mail: `sender_email`, else the contact `email`."""
        return self.sender_email or self.email

    @property
    def mail_name(self) -> str:
        """The display name of the campaign's mail: the issuer and its department."""
        return f"{self.issuer}{self.department}"


_MAILBOX = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+")


def campaign_dates(config: CampaignConfig) -> list[dt.date]:
    """Every day the campaign's calendar and training sessions use."""
    points = [_moment(getattr(config.calendar, key)) for key in CALENDAR_ORDER]
    points += [s.starts_at for s in config.training_sessions]
    return sorted({p.astimezone(SHANGHAI).date() for p in points})


def holiday_warning(config: CampaignConfig) -> str | None:
    """A loud warning when holiday data covers neither the library's years nor the config's
    `[holidays]` / `[workdays]` for some day the campaign uses (working days would then be
    counted as plain Monday–Friday)."""
    uncovered = [d for d in campaign_dates(config) if not is_year_covered(d.year)]
    if not uncovered:
        return None
    years = sorted({d.year for d in uncovered})
    shown = "、".join(f"{d:%Y-%m-%d}" for d in uncovered[:6]) + ("等" if len(uncovered) > 6 else "")
    return (
        f"警告：{'、'.join(map(str, years))}年的法定节假日和调休安排尚无数据（chinesecalendar 未收录，"
        f"{config.source or '活动配置'} 也没有 [holidays] / [workdays]），活动日程中的 {shown} "
        "只能按周一至周五计算工作日，公示期、发送时段和截止日可能算错。请在配置文件中补充，如："
        f'[holidays] {years[0]}-10-01 = "国庆节"；[workdays] {years[0]}-09-26 = "国庆节调休"。'
    )


def campaign_end(config: CampaignConfig) -> dt.datetime:
    """After this no run of the campaign has anything left to do: the exchange meeting and a
    month for its follow-up (the latest point of the calendar and of the training sessions)."""
    points = [_moment(getattr(config.calendar, key)) for key in CALENDAR_ORDER]
    points += [s.ends_at for s in config.training_sessions]
    return max(points) + dt.timedelta(days=CAMPAIGN_TAIL_DAYS)


DATE_KEYS = ("checkins_start", "checkins_end", "publicity_start")
_PROBLEMS: dict[str, str] = {
    "missing": "缺少此项",
    "extra_forbidden": "不是可识别的配置项（是否拼写有误？）",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应不小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应不大于 {le}",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "string_type": "应为文字（加英文双引号）",
    "list_type": "应为列表，如 [14, 7, 3, 1]",
    "bool_type": "应为 true 或 false",
    "literal_error": "应为以下之一：{expected}",
    "string_pattern_mismatch": "应为小写英文字母开头的标识（如 topic、effect）",
    "string_too_short": "不能为空",
    "too_short": "不能为空",
}


def _problem(err: Any) -> str:
    """One pydantic error in Chinese."""
    kind = err["type"]
    if kind == "value_error":
        return str(err.get("ctx", {}).get("error", err["msg"])).removeprefix("Value error, ")
    if kind.startswith(("datetime", "date", "time")):
        return "应为日期时间，如 2025-04-20T23:59:59（北京时间）"
    template = _PROBLEMS.get(kind)
    return template.format(**err.get("ctx", {})) if template else err["msg"]


def _where(section: str, loc: tuple[Any, ...]) -> str:
    """`[rules] reminder_days 第2项`, `[[training.sessions]] 第1个 capacity`."""
    parts = [section]
    for item in loc:
        parts.append(f"第{item + 1}项" if isinstance(item, int) else str(item))
    return " ".join(p for p in parts if p)


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


def _point(key: str, value: Any, shift: int) -> Any:
    """One calendar or session value as a Shanghai datetime (or date), moved by `shift` years."""
    if key in DATE_KEYS and isinstance(value, str):
        return _shift_year(dt.date.fromisoformat(value), shift)
    return _shift_year(_localise(value), shift)


def _points(section: str, table: Any, shift: int, problems: list[str]) -> dict[str, Any]:
    if not isinstance(table, dict):
        problems.append(f"{section} 应为一个表（[calendar] 或 [[training.sessions]] 形式）")
        return {}
    converted: dict[str, Any] = {}
    for key, value in table.items():
        try:
            converted[key] = _point(key, value, shift)
        except ValueError:
            problems.append(
                f"{section} {key} = “{value}” 不是有效的日期或时间（月份 1–12、当月实有的日期），"
                "请写成 2025-04-20T23:59:59 或 2025-06-01"
            )
    return converted


def _read_toml(path: Path, config_dir: Path, year: int) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CampaignConfigError(
            f"找不到活动配置文件 {path}：请在 {config_dir} 下放置 campaign-{year}.toml"
        ) from exc
    except UnicodeDecodeError as exc:
        raise CampaignConfigError(
            f"活动配置文件 {path} 不是 UTF-8 编码：请用 UTF-8 另存后重新运行。"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+), column (\d+)", str(exc))
        where = f"第 {found[1]} 行第 {found[2]} 列" if found else "某处"
        raise CampaignConfigError(
            f"活动配置文件 {path} {where}不符合 TOML 语法（{exc}）。请检查该行的引号、等号和方括号，"
            "格式可参照 config/campaign-2025.toml。"
        ) from exc


def _config_error(path: Path, problems: list[str]) -> CampaignConfigError:
    return CampaignConfigError(
        f"活动配置文件 {path} 有误：" + "；".join(problems) + "。请修改这些项后重新运行，"
        "格式可参照 config/campaign-2025.toml。"
    )


def _validated(
    section: str, model: type[BaseModel], value: Any, problems: list[str]
) -> BaseModel | None:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        problems += [f"{_where(section, tuple(e['loc']))}：{_problem(e)}" for e in exc.errors()]
        return None


def _days(section: str, raw: Any, problems: list[str]) -> dict[dt.date, str]:
    """`[holidays]` / `[workdays]`: `2027-10-01 = "国庆节"`, one line a day."""
    if not isinstance(raw, dict):
        problems.append(f'[{section}] 应为一个表，每行一天，如 2027-10-01 = "国庆节"')
        return {}
    days: dict[dt.date, str] = {}
    for key, name in raw.items():
        try:
            days[dt.date.fromisoformat(str(key))] = str(name)
        except ValueError:
            problems.append(
                f'[{section}] {key}：不是有效日期，请每行写一天，如 2027-10-01 = "国庆节"'
            )
    return days


def _rubrics(raw: Any, problems: list[str]) -> tuple[Rubric, ...] | None:
    """`[[rubrics]]` (each with `[[rubrics.criteria]]`), each checked on its own."""
    if not isinstance(raw, list):
        problems.append(
            "rubrics 应写成 [[rubrics]] 表（每种课题类型一个，含 [[rubrics.criteria]]）"
        )
        return None
    found = [
        _validated(f"[[rubrics]] 第{n}个", Rubric, r, problems) for n, r in enumerate(raw, start=1)
    ]
    return tuple(r for r in found if isinstance(r, Rubric))


def load_campaign_config(year: int, config_dir: Path) -> CampaignConfig:
    """The year's config, validated; any mistake raises `CampaignConfigError` naming the file,
    every wrong key and the fix."""
    path = config_dir / f"campaign-{year}.toml"
    shift = 0
    if not path.exists():
        raise CampaignConfigError(
            f"没有 {year} 年度的活动配置文件 {path}：请先运行 qcamp campaign init --year {year}"
            "（由最近一年的配置生成，日期顺延到对应的工作日），按提示核对后再运行。"
        )
    raw = _read_toml(path, config_dir, year)
    problems: list[str] = []
    calendar = _points("[calendar]", raw.get("calendar") or {}, shift, problems)
    sessions_raw = (raw.get("training") or {}).get("sessions", [])
    sessions = [
        _points(f"[[training.sessions]] 第{n}个", s, shift, problems)
        for n, s in enumerate(sessions_raw if isinstance(sessions_raw, list) else [], start=1)
    ]
    if problems:
        raise _config_error(path, problems)
    parts = {
        "calendar": _validated("[calendar]", CampaignCalendar, calendar, problems),
        "training_sessions": [
            _validated(f"[[training.sessions]] 第{n}个", TrainingSessionPlan, s, problems)
            for n, s in enumerate(sessions, start=1)
        ],
        "rules": _validated("[rules]", CampaignRules, raw.get("rules") or {}, problems),
        "documents": _validated(
            "[documents]", NoticeSettings, raw.get("documents") or {}, problems
        ),
        "messages": _validated("[messages]", MessagesConfig, raw.get("messages") or {}, problems),
    }
    if "rubrics" in raw:
        parts["rubrics"] = _rubrics(raw["rubrics"], problems)
    for section in ("holidays", "workdays"):
        parts[section] = _days(section, raw.get(section) or {}, problems)
    if problems:
        raise _config_error(path, problems)
    title = str(raw.get("title", f"{year}年天津市质量攻关"))
    header = {
        k: raw[k]
        for k in ("issuer", "department", "contact", "phone", "email", "sender_email")
        if k in raw
    }
    try:
        config = CampaignConfig(year=year, title=title, source=str(path), **header, **parts)
    except ValidationError as exc:
        raise _config_error(
            path, [f"{_where('', tuple(e['loc']))}：{_problem(e)}" for e in exc.errors()]
        ) from exc
    both = sorted(set(config.holidays) & set(config.workdays))
    if both:
        raise _config_error(
            path, [f"{d:%Y-%m-%d} 同时写在 [holidays] 和 [workdays] 中：请只保留一处" for d in both]
        )
    set_overrides(config.holidays, config.workdays)
    return config
