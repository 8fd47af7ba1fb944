"""What every `qcamp` sub-command shares: the year and clock options and their validation, the
Chinese error exit (code 2), and opening the campaign on an upgraded database."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from services.context import CampaignContext

FIRST_YEAR, LAST_YEAR = 2000, 2100
TIME_FORMATS = "YYYY-MM-DD（当日 23:59:59）或 YYYY-MM-DDTHH:MM[:SS]，北京时间（Asia/Shanghai）"
SIMULATED_CLOCK = "QCAMP_SIMULATED_CLOCK"  # "1": the demo's clock may run ahead of the machine's

Year = Annotated[int, typer.Option("--year", help=f"活动年度，如 2025（{FIRST_YEAR}–{LAST_YEAR}）")]
AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of", help=f"按此时刻记录（默认现在）。格式：{TIME_FORMATS}，如 2025-09-20T10:00"
    ),
]

By = Annotated[
    str | None,
    typer.Option(
        "--by",
        help="经办人姓名（记入操作记录；默认取环境变量 QCAMP_OPERATOR，再默认为本机登录用户）",
    ),
]

_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}"  # the date
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?"  # the time, seconds optional
    r"(?:Z|[+-]\d{2}:?\d{2})?)?"  # an offset (the demo passes +08:00); none means Shanghai
)


def fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"错误：{message}", err=True)
    raise typer.Exit(code)


def parse_time(value: str, option: str = "--as-of") -> dt.datetime:
    """A date or time given on the command line, as an aware datetime (a date is the end of that
    day, a time without offset is Shanghai time); a wrong value exits with code 2."""
    from services.context import parse_as_of

    text = value.strip()
    if _TIME.fullmatch(text):
        try:
            return parse_as_of(text.replace("Z", "+00:00"))
        except ValueError:
            pass  # a month 13 or 30 February: the same message
    fail(
        f"{option} 的值“{value}”不是有效的日期或时间。请写成 {TIME_FORMATS}，"
        "例如 2025-05-08 或 2025-05-08T10:00。"
    )


def check_year(year: int, option: str = "--year") -> int:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        fail(
            f"{option} 的值 {year} 不是有效的活动年度：请写 {FIRST_YEAR}–{LAST_YEAR} 之间的年份，如 2025。"
        )
    return year


def simulated_clock() -> bool:
    """The demo runs its campaign on a clock of its own, ahead of the machine's."""
    return os.environ.get(SIMULATED_CLOCK, "").strip() == "1"


def check_run_clock(ctx: CampaignContext, as_of: dt.datetime, option: str = "--as-of") -> None:
    """A run at a clock after the campaign's end, or ahead of the machine's, would do every
    stage's due work at once and for good: refused, unless the clock is simulated (the demo)."""
    from domain.calendar import CAMPAIGN_TAIL_DAYS, SHANGHAI, campaign_end

    if simulated_clock():
        return
    now = dt.datetime.now(SHANGHAI)
    shown = f"{as_of.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"
    if as_of > now + dt.timedelta(minutes=5):
        fail(
            f"{option} {shown} 晚于本机当前时间 {now:%Y-%m-%d %H:%M}：运行会一次完成到那时为止所有到期"
            f"事项且不可撤销。请改为不晚于现在的时间；演示或试运行请设置环境变量 {SIMULATED_CLOCK}=1。"
        )
    end = campaign_end(ctx.config)
    if as_of > end:
        fail(
            f"{option} {shown} 晚于 {ctx.year} 年度活动的结束时间 {end.astimezone(SHANGHAI):%Y-%m-%d}"
            f"（交流会后 {CAMPAIGN_TAIL_DAYS} 天）。请改为活动期内的时间，或检查 --year。"
        )


def material_clock(as_of: str | None, option: str = "--as-of") -> str | None:
    """The clock of a command that records participant material as received now: it is the
    machine's. A typed clock would back-date the material, so it is refused — unless the
    clock is simulated (the demo)."""
    if as_of is not None and not simulated_clock():
        fail(
            f"{option} 不能用于登记送达的材料：送达时间即登记时间（本机当前时间），不能补记。"
            "截止后送达的材料须先由工作人员批准截止后例外（qcamp exceptions grant）。"
        )
    return as_of


def check_received(ctx: CampaignContext, value: str, option: str) -> dt.datetime:
    """A time something arrived (送达/收到时间): a valid time within the campaign year's span."""
    from domain.calendar import SHANGHAI, campaign_end

    when = parse_time(value, option)
    now = dt.datetime.now(SHANGHAI)
    if not simulated_clock() and when > now + dt.timedelta(minutes=5):
        fail(
            f"{option} 的值“{value}”晚于本机当前时间 {now:%Y-%m-%d %H:%M}：收到时间不能是将来，"
            "请写实际收到的时间。"
        )
    start = dt.datetime(ctx.year, 1, 1, tzinfo=SHANGHAI)
    end = campaign_end(ctx.config)
    if not start <= when <= end:
        fail(
            f"{option} 的值“{value}”不在 {ctx.year} 年度活动期内（{start:%Y-%m-%d} 至 "
            f"{end.astimezone(SHANGHAI):%Y-%m-%d}）：请写材料实际送达的时间，或检查 --year。"
        )
    return when


def operator_name(by: str | None) -> str:
    """Who does this command: `--by`, else QCAMP_OPERATOR, else the OS user (recorded)."""
    from services.operators import operator

    return operator(by)


def upgraded_database() -> None:
    """Bring the database up to date; a URL that cannot be used exits with code 2."""
    from storage.db import DatabaseUnusable, upgrade

    try:
        upgrade()
    except DatabaseUnusable as exc:
        fail(str(exc))


def campaign_context(year: int, as_of: str | dt.datetime | None) -> CampaignContext:
    from domain.calendar import holiday_warning
    from services.context import open_campaign

    check_year(year)
    when = parse_time(as_of) if isinstance(as_of, str) else as_of
    upgraded_database()
    try:
        ctx = open_campaign(year, when)
    except ValueError as exc:  # CampaignConfigError: the file, the key and the fix
        fail(str(exc))
    if warning := holiday_warning(ctx.config):
        typer.echo(warning, err=True)
    return ctx


def existing_file(file: Path) -> Path:
    if not file.is_file():
        fail(f"找不到文件 {file}：请检查路径和文件名")
    return file
