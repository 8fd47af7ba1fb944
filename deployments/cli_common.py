"""What every `qcamp` sub-command shares: the year and clock options, the Chinese error exit
(code 2), and opening the campaign on an upgraded database."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from services.context import CampaignContext

Year = Annotated[int, typer.Option("--year", help="活动年度，如 2025")]
AsOf = Annotated[
    str | None, typer.Option("--as-of", help="按此时刻记录（默认现在），如 2025-09-20T10:00")
]


def fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"错误：{message}", err=True)
    raise typer.Exit(code)


def campaign_context(year: int, as_of: str | None) -> CampaignContext:
    from services.context import open_campaign
    from storage.db import upgrade

    upgrade()
    try:
        return open_campaign(year, as_of)
    except ValueError as exc:
        fail(str(exc))


def existing_file(file: Path) -> Path:
    if not file.is_file():
        fail(f"找不到文件 {file}：请检查路径和文件名")
    return file
