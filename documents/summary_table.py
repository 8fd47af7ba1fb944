"""立项申报汇总表 (attachment 6): the blank table, a filled one, and the reader.

The sheet has a title row, a 推荐单位/填报日期 line, the header row and one row per project.
Dropdowns for 所属区 / 所属产业链 / 项目类型 / 是否联合申报 take their lists from a hidden sheet
(``选项``): a list typed into the validation itself is limited to 255 characters.

:func:`read_summary` finds the header row by its labels (it need not be row 3, labels may carry
spaces or line breaks, 电话 for 联系电话 …) and skips blank rows.

Everything that came from users is written with :func:`documents.safety.write_cell_safely`: text
starting with ``= + - @`` is stored as a string cell with Excel's quotePrefix flag (the same as a
typed leading apostrophe), so it is shown verbatim and never evaluated, and the value read back
is exactly the text written (no apostrophe added).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from collections.abc import Sequence
from copy import copy
from pathlib import Path
from typing import IO

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from documents.safety import FILE_UNREADABLE, UnreadableFile, check_bytes, check_file
from documents.safety import write_cell_safely as _write
from documents.xlsx_style import save_workbook
from domain.models import CHAINS, DISTRICTS, ProjectType, SummaryRow

SHEET_TITLE = "立项申报汇总表"
OPTIONS_SHEET = "选项"
TITLE_ROW, UNIT_ROW, HEADER_ROW = 1, 2, 3
FIRST_DATA_ROW = 4
BLANK_ROWS = 200  # rows pre-formatted (text format, borders, dropdowns) in the blank table

# (field, header, width, dropdown list)
COLUMNS: tuple[tuple[str, str, float], ...] = (
    ("seq", "序号", 6),
    ("title", "项目名称", 36),
    ("applicant", "申报单位", 30),
    ("uscc", "统一社会信用代码", 22),
    ("district", "所属区", 11),
    ("chain", "所属产业链", 16),
    ("project_type", "项目类型", 11),
    ("joint", "是否联合申报", 9),
    ("project_lead", "项目负责人", 11),
    ("phone", "联系电话", 15),
    ("recommending_unit", "推荐单位", 24),
    ("remark", "备注", 16),
)
HEADERS: tuple[str, ...] = tuple(h for _f, h, _w in COLUMNS)
_FIELD_COL = {f: i + 1 for i, (f, _h, _w) in enumerate(COLUMNS)}

OPTION_LISTS: dict[str, tuple[str, ...]] = {
    "district": DISTRICTS,
    "chain": CHAINS,
    "project_type": tuple(t.value for t in ProjectType),
    "joint": ("是", "否"),
}

# Header variants seen in units' tables, compared without spaces/line breaks/parentheses.
_HEADER_ALIASES: dict[str, str] = {
    "序号": "seq",
    "编号": "seq",
    "项目名称": "title",
    "攻关项目名称": "title",
    "课题名称": "title",
    "申报单位": "applicant",
    "申报单位名称": "applicant",
    "项目单位": "applicant",
    "单位名称": "applicant",
    "统一社会信用代码": "uscc",
    "社会信用代码": "uscc",
    "信用代码": "uscc",
    "所属区": "district",
    "所在区": "district",
    "所属区域": "district",
    "区域": "district",
    "所属产业链": "chain",
    "产业链": "chain",
    "项目类型": "project_type",
    "类型": "project_type",
    "是否联合申报": "joint",
    "联合申报": "joint",
    "项目负责人": "project_lead",
    "负责人": "project_lead",
    "联系电话": "phone",
    "电话": "phone",
    "手机": "phone",
    "负责人电话": "phone",
    "项目负责人电话": "phone",
    "联系方式": "phone",
    "推荐单位": "recommending_unit",
    "备注": "remark",
}

_FOOTER_RE = re.compile(r"^(?:合计|总计|小计|填表人|审核人|联系人|注[:：]|说明[:：]|备注[:：])")

_THIN = Side(style="thin", color="000000")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
_FONT = "宋体"
_DATA_FONT = Font(name=_FONT, size=10)
_WRAP_LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)
_WRAP_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)


def _hkey(value: object) -> str:
    text = re.sub(r"[\s\u3000\u00a0*★]+", "", str(value or ""))
    return re.sub(r"[（(][^）)]*[)）]", "", text).rstrip(":：")


def _options_sheet(wb: Workbook) -> dict[str, str]:
    """Write the dropdown lists into a hidden sheet; return field -> defined name of the list."""
    ws = wb.create_sheet(OPTIONS_SHEET)
    ranges: dict[str, str] = {}
    for col, (fld, values) in enumerate(OPTION_LISTS.items(), start=1):
        letter = get_column_letter(col)
        ws.cell(row=1, column=col, value=dict((f, h) for f, h, _w in COLUMNS)[fld])
        for r, v in enumerate(values, start=2):
            ws.cell(row=r, column=col, value=v)
        # A workbook-level name for each list: every Excel version, WPS and LibreOffice accept
        # a name in a list validation, while a bare cross-sheet range is not portable.
        list_name = f"list_{fld}"
        wb.defined_names[list_name] = DefinedName(
            list_name, attr_text=f"'{OPTIONS_SHEET}'!${letter}$2:${letter}${len(values) + 1}"
        )
        ranges[fld] = list_name
    ws.sheet_state = "hidden"
    return ranges


def _add_validations(ws: Worksheet, ranges: dict[str, str], last_row: int) -> None:
    for fld, formula in ranges.items():
        header = HEADERS[_FIELD_COL[fld] - 1]
        dv = DataValidation(
            type="list",
            formula1=formula,
            allow_blank=True,
            showDropDown=False,  # (sic) False shows the in-cell arrow
            showErrorMessage=True,
            errorTitle="输入有误",
            error=f"请从下拉列表中选择{header}。",
            showInputMessage=True,
            promptTitle=header,
            prompt=f"请从下拉列表中选择{header}",
        )
        letter = get_column_letter(_FIELD_COL[fld])
        dv.add(f"{letter}{FIRST_DATA_ROW}:{letter}{last_row}")
        ws.add_data_validation(dv)


def _style_data_rows(ws: Worksheet, first: int, last: int) -> None:
    """Borders, 宋体 10, text format and alignment on rows ``first..last``: the first row is
    styled cell by cell, the others take its cells' styles (openpyxl's shared style array), so a
    long table costs no more than copying a few integers per cell."""
    for col, (fld, _h, _w) in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=first, column=col)
        cell.border = _BORDER
        cell.font = _DATA_FONT
        cell.number_format = "@"  # text: keeps 18-char codes and phone numbers as typed
        wrap = fld in ("title", "applicant", "recommending_unit", "remark")
        cell.alignment = _WRAP_LEFT if wrap else _WRAP_CENTER
        style = cell._style
        for r in range(first + 1, last + 1):
            ws.cell(row=r, column=col)._style = copy(style)


def _build(recommending_unit: str, year: int | None, n_rows: int) -> tuple[Workbook, Worksheet]:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = SHEET_TITLE
    ncols = len(COLUMNS)
    last = get_column_letter(ncols)

    title = f"{year}年" if year else ""
    ws.merge_cells(f"A{TITLE_ROW}:{last}{TITLE_ROW}")
    tcell = ws.cell(row=TITLE_ROW, column=1, value=f"{title}天津市质量攻关项目立项申报汇总表")
    tcell.font = Font(name="方正小标宋简体", size=18)
    tcell.alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[TITLE_ROW].height = 36

    ws.merge_cells(f"A{UNIT_ROW}:F{UNIT_ROW}")
    ws.merge_cells(f"G{UNIT_ROW}:{last}{UNIT_ROW}")
    ucell = ws.cell(row=UNIT_ROW, column=1)
    _write(ucell, f"推荐单位（盖章）：{recommending_unit}")
    ucell.font = Font(name=_FONT, size=11)
    dcell = ws.cell(row=UNIT_ROW, column=7, value="填报日期：      年    月    日")
    dcell.font = Font(name=_FONT, size=11)
    dcell.alignment = Alignment(horizontal="right")
    ws.row_dimensions[UNIT_ROW].height = 22

    for col, (_f, header, width) in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=HEADER_ROW, column=col, value=header)
        cell.font = Font(name="黑体", size=11, bold=True)
        cell.fill = _HEADER_FILL
        cell.border = _BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.row_dimensions[HEADER_ROW].height = 32

    last_row = FIRST_DATA_ROW + n_rows - 1
    _style_data_rows(ws, FIRST_DATA_ROW, last_row)
    _add_validations(ws, _options_sheet(wb), max(last_row, FIRST_DATA_ROW + BLANK_ROWS - 1))

    ws.freeze_panes = ws.cell(row=FIRST_DATA_ROW, column=1)
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.print_options.horizontalCentered = True
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    wb.active = 0
    return wb, ws


def write_blank_summary(path: str | os.PathLike[str], *, year: int | None = None) -> Path:
    """Write the blank 立项申报汇总表 (.xlsx) for recommending units; return its path."""
    wb, _ws = _build("", year, BLANK_ROWS)
    return save_workbook(wb, Path(path))


def write_summary(
    path: str | os.PathLike[str],
    rows: Sequence[SummaryRow],
    recommending_unit: str,
    *,
    year: int | None = None,
) -> Path:
    """Write a filled 立项申报汇总表; 序号 defaults to the row's position. Return the path."""
    wb, ws = _build(recommending_unit, year, max(len(rows), 1))
    for i, row in enumerate(rows):
        r = FIRST_DATA_ROW + i
        data = row.model_dump()
        data["seq"] = row.seq or str(i + 1)
        data["recommending_unit"] = row.recommending_unit or recommending_unit
        for fld, col in _FIELD_COL.items():
            _write(ws.cell(row=r, column=col), data[fld])
    return save_workbook(wb, Path(path))


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _find_header(
    rows: Sequence[Sequence[object]], max_scan: int = 30
) -> tuple[int, dict[str, int]] | None:
    best: tuple[int, dict[str, int]] | None = None
    for r, values in enumerate(rows[:max_scan], start=1):
        cols: dict[str, int] = {}
        for c, value in enumerate(values, start=1):
            fld = _HEADER_ALIASES.get(_hkey(value))
            if fld and fld not in cols:
                cols[fld] = c
        if "title" in cols and len(cols) >= 4 and (best is None or len(cols) > len(best[1])):
            best = (r, cols)
    return best


def read_summary(
    source: str | os.PathLike[str] | bytes | IO[bytes],
    *,
    name: str | None = None,
    check: bool = True,
) -> list[SummaryRow]:
    """Read a 立项申报汇总表 by its header labels; blank rows are skipped.

    Every sheet is searched for the header row (first sheet first); ``row_number`` is the row in
    the sheet. A file that is refused or has no recognisable header raises
    :class:`UnreadableFile` with a Chinese message.
    """
    if isinstance(source, (str, os.PathLike)):
        p = Path(source)
        display = name or p.name
        if check:
            check_file(p)
        data = p.read_bytes()
    else:
        data = source if isinstance(source, bytes) else source.read()
        display = name or "汇总表.xlsx"
        if check:
            check_bytes(data, display if display.lower().endswith(".xlsx") else display + ".xlsx")
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken workbook
        raise UnreadableFile(
            FILE_UNREADABLE,
            f"文件「{display}」无法作为 Excel 汇总表读取，请用 Excel/WPS 打开后另存为 .xlsx "
            "格式再提交。",
            file=display,
        ) from exc
    try:
        for ws in wb.worksheets:
            if ws.sheet_state != "visible":
                continue
            # One pass over the sheet (a read-only sheet is parsed again by every iter_rows).
            sheet_rows = list(ws.iter_rows(values_only=True))
            found = _find_header(sheet_rows)
            if found is None:
                continue
            header_row, cols = found
            rows: list[SummaryRow] = []
            for r, values in enumerate(sheet_rows[header_row:], start=header_row + 1):
                fields = {
                    fld: _text(values[c - 1]) if c - 1 < len(values) else ""
                    for fld, c in cols.items()
                }
                if not any(v for k, v in fields.items() if k != "seq"):
                    continue  # blank (or numbered but empty) row
                if _FOOTER_RE.match(fields.get("seq", "")) or _FOOTER_RE.match(
                    fields.get("title", "")
                ):
                    continue  # 合计 / 填表人 / 注： lines under the table
                rows.append(SummaryRow(**fields, row_number=r))
            return rows
    finally:
        wb.close()
    raise UnreadableFile(
        FILE_UNREADABLE,
        f"文件「{display}」中找不到汇总表的表头（序号、项目名称、申报单位……）。"
        "请使用下发的《立项申报汇总表》模板填写，勿删除或改动表头。",
        file=display,
    )
