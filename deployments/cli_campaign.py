"""`qcamp campaign init --year Y`: a new year's config file from the latest year's."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from deployments.cli_common import check_year, fail

campaign_app = typer.Typer(help="年度活动配置", no_args_is_help=True)

_CONFIG_NAME = re.compile(r"^campaign-(\d{4})\.toml$")


def config_years(folder: Path) -> list[int]:
    """The years that have a config file in `folder`."""
    return sorted(
        int(m.group(1)) for p in folder.glob("campaign-*.toml") if (m := _CONFIG_NAME.match(p.name))
    )


@campaign_app.command("init")
def init(
    year: Annotated[int, typer.Option("--year", help="新的活动年度，如 2026")],
    source_year: Annotated[
        int | None, typer.Option("--from", help="以哪一年的配置为底稿（默认最近一年）")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="覆盖已有的该年度配置文件")] = False,
) -> None:
    """由最近一年的配置生成 config/campaign-Y.toml：日期按整周顺延（星期不变）并落在工作日，
    会议号、文号序号等逐年不同的内容清空待填，并列出需要核对的各项。"""
    from domain.calendar import CampaignConfigError, holiday_warning, load_campaign_config
    from domain.campaign_year import roll_forward
    from domain.workdays import is_working_day
    from storage.settings import get_settings

    check_year(year)
    folder = get_settings().config_dir
    target = folder / f"campaign-{year}.toml"
    if target.exists() and not force:
        fail(f"{target} 已存在：如需重新生成请加 --force（原文件将被覆盖），或直接编辑该文件。")
    years = [y for y in config_years(folder) if y != year]
    base = source_year if source_year is not None else max(years, default=None)
    if base is None or base not in years:
        fail(
            f"{folder} 下没有可作底稿的配置文件"
            + (f" campaign-{source_year}.toml" if source_year else "（campaign-YYYY.toml）")
            + "：请检查 --from 或 QCAMP_CONFIG_DIR。"
        )
    source = folder / f"campaign-{base}.toml"
    text, review = roll_forward(source.read_text(encoding="utf-8"), base, year, is_working_day)
    target.write_text(text, encoding="utf-8")
    typer.echo(f"已生成 {target}（底稿 {source.name}）。请逐项核对：")
    for item in review:
        typer.echo(f"  - {item}")
    try:
        config = load_campaign_config(year, folder)
    except CampaignConfigError as exc:
        fail(f"生成的配置未通过检查，请按提示修改 {target}：{exc}")
    if warning := holiday_warning(config):
        typer.echo(warning, err=True)
