"""The light reader gives the values openpyxl gives, for the kinds of cells users' workbooks hold,
and refuses hostile files with the safety checks' wording."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from documents.safety import UnreadableFile
from documents.xlsx_reader import LightWorkbook


def openpyxl_rows(path: Path, sheet: str) -> dict[int, tuple[object, ...]]:
    ws = load_workbook(path, data_only=True)[sheet]
    rows = {}
    for r, row in enumerate(ws.iter_rows(values_only=True), start=1):
        if any(v is not None for v in row):
            while row and row[-1] is None:
                row = row[:-1]
            rows[r] = row
    return rows


@pytest.mark.parametrize("mac_dates", [False, True])
def test_values_match_openpyxl(tmp_path: Path, mac_dates: bool) -> None:
    wb = Workbook()
    if mac_dates:
        wb.epoch = CALENDAR_MAC_1904
    ws = wb.active
    ws.title = "走访记录"
    ws.append(["推荐单位", "项目编号", "走访日期", "次数", "得分", "已核实", "时刻"])
    ws.append(["河西区市场监督管理局", "TJZLGG-2025-0001", dt.date(2025, 6, 18), 2, 87.5, True])
    ws.append(["和平区", "TJZLGG-2025-0002", dt.datetime(2025, 7, 1, 9, 30), 0, -1.25, False])
    ws["G3"] = dt.time(14, 5)
    ws["B6"] = "空行之后 <特殊> & 字符"
    ws["C6"] = "2025年6月15日"
    wb.create_sheet("第二页")["A1"] = "另一页"
    path = tmp_path / "走访记录.xlsx"
    wb.save(path)

    book = LightWorkbook(path)
    assert book.sheetnames == ["走访记录", "第二页"]
    assert book.first_sheet() == "走访记录"
    got = {r: tuple(v for v in row) for r, row in book.rows("走访记录").items()}
    assert got == openpyxl_rows(path, "走访记录")
    assert got[2][2] == dt.datetime(2025, 6, 18) and got[6] == (
        None,
        "空行之后 <特殊> & 字符",
        "2025年6月15日",
    )
    assert book.rows("第二页") == {1: ("另一页",)}
    assert list(book.rows("走访记录", min_row=3, max_col=2)) == [3, 6]
    with pytest.raises(KeyError):
        book.rows("不存在")


def test_hostile_files_are_refused(tmp_path: Path) -> None:
    wb = Workbook()
    wb.save(tmp_path / "ok.xlsx")
    macro = tmp_path / "带宏.xlsx"
    with zipfile.ZipFile(tmp_path / "ok.xlsx") as src, zipfile.ZipFile(macro, "w") as out:
        for name in src.namelist():
            out.writestr(name, src.read(name))
        out.writestr("xl/vbaProject.bin", b"\0" * 64)
    with pytest.raises(UnreadableFile, match="「带宏.xlsx」包含宏"):
        LightWorkbook(macro)
    entity = tmp_path / "实体.xlsx"
    with zipfile.ZipFile(tmp_path / "ok.xlsx") as src, zipfile.ZipFile(entity, "w") as out:
        for name in src.namelist():
            data = src.read(name)
            if name == "xl/workbook.xml":
                data = b'<!DOCTYPE x [<!ENTITY a "b">]>' + data
            out.writestr(name, data)
    with pytest.raises(UnreadableFile, match="DOCTYPE/ENTITY"):
        LightWorkbook(entity)
    renamed = tmp_path / "改名.xlsx"
    renamed.write_text("不是表格", encoding="utf-8")
    with pytest.raises(UnreadableFile, match="可能只是改了扩展名"):
        LightWorkbook(renamed)
