"""评定组名单: who sits on each expert panel, by name (docx to print, xlsx to sort)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from documents.docx_style import add_table, add_text, add_title, arabic_date, new_document, save
from documents.xlsx_style import Column, new_workbook, save_workbook, write_table


class RosterRow(BaseModel):
    """One seat of one panel."""

    model_config = ConfigDict(frozen=True)

    panel: str  # 评定组 key, e.g. 焊材-1
    chain: str
    role: str  # 组员 / 备选
    name: str
    organisation: str = ""
    title: str = ""  # 职称


COLUMNS = ("序号", "评定组", "产业链", "身份", "姓名", "工作单位", "职称")


def write_panel_roster(
    docx_path: Path | str,
    xlsx_path: Path | str,
    year: int,
    rows: Sequence[RosterRow],
    as_of: dt.date,
) -> tuple[Path, Path]:
    """The current 评定组名单 as Word and Excel; returns ``(docx, xlsx)``."""
    title = f"{year}年天津市质量攻关技术评定组名单"
    values = [
        [i, r.panel, r.chain, r.role, r.name, r.organisation, r.title]
        for i, r in enumerate(rows, start=1)
    ]
    doc = new_document(landscape=True)
    add_title(doc, title)
    add_text(doc, f"（截至{arabic_date(as_of)}）", indent=False)
    add_table(doc, COLUMNS, values, widths_mm=(8, 18, 22, 10, 14, 50, 18), left_aligned=(5,))
    docx = save(doc, docx_path)
    wb = new_workbook()
    ws = wb.active
    ws.title = "评定组名单"
    columns = [
        Column("序号", 7),
        Column("评定组", 14),
        Column("产业链", 18),
        Column("身份", 8),
        Column("姓名", 10),
        Column("工作单位", 40, align="left"),
        Column("职称", 16),
    ]
    write_table(ws, title, columns, values)
    return docx, save_workbook(wb, xlsx_path)
