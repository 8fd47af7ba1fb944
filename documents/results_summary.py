"""成果材料汇总表: every project of the plan, what arrived and when, and its state."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from documents.xlsx_style import Column, new_workbook, save_workbook, write_table
from domain.results import REQUIRED_PARTS

SUMMARY_COLUMNS = (
    Column("序号", 6),
    Column("计划编号", 17),
    Column("项目名称", 34, align="left"),
    Column("项目单位", 28, align="left"),
    Column("推荐单位", 24, align="left"),
    Column("所属产业链", 11),
    Column("送达时间", 17),
    *(Column(p, 22, align="left") for p in REQUIRED_PARTS),
    Column("缺少材料", 14, align="left"),
    Column("是否逾期", 9),
    Column("状态", 14),
    Column("取得成效", 40, align="left"),
)


def write_results_summary(
    path: Path, year: int, deadline: str, rows: Sequence[Sequence[object]]
) -> Path:
    """The summary workbook at `path`: one row per project in `SUMMARY_COLUMNS`' order, titled
    with the year and the deadline (``2025-09-30 23:59``)."""
    wb = new_workbook()
    ws = wb.active
    ws.title = "成果材料汇总"
    write_table(
        ws, f"{year}年天津市质量攻关成果材料汇总表（截止 {deadline}）", SUMMARY_COLUMNS, rows
    )
    return save_workbook(wb, path)
