"""Shared styling for the commission's Excel workbooks.

Every list sheet has the same shape, so that people and the importers find things in the same
place: row 1 is the title merged across all columns, row 2 the bold header (filled, bordered),
data from row 3; the header is frozen and filtered; the sheet prints on A4 landscape, one page
wide, with the title and header rows repeated on every page.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from copy import copy
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from documents.files import write_whole
from documents.safety import FORMULA_PREFIXES, safe_cell_value, write_cell_safely
from documents.xlsx_fit import fit_workbook

TITLE_ROW = 1
HEADER_ROW = 2
FIRST_DATA_ROW = 3

BODY_FONT = "宋体"
HEADER_FONT = "黑体"
TITLE_FONT = "宋体"

_THIN = Side(style="thin", color="000000")
BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
HEADER_FILL = PatternFill("solid", start_color="D9E1F2", end_color="D9E1F2")
INPUT_FILL = PatternFill("solid", start_color="FFF2CC", end_color="FFF2CC")
TOTAL_FILL = PatternFill("solid", start_color="F2F2F2", end_color="F2F2F2")

_INVALID_TITLE_CHARS = set("[]:*?/\\")
_MAX_TEXT = 32767  # what openpyxl keeps of a longer text
_ILLEGAL = ILLEGAL_CHARACTERS_RE


@dataclass(frozen=True)
class Column:
    """One column of a list sheet."""

    header: str
    width: float = 14.0
    wrap: bool = False
    align: str = "center"  # "center" or "left"
    number_format: str | None = None
    input: bool = False  # a cell the reader fills in: shaded, left unlocked
    formula: bool = False  # the writer's own formulas; every other cell is written as data


def new_workbook() -> Workbook:
    """A workbook whose default sheet is still there (callers rename or reuse it)."""
    return Workbook()


def safe_sheet_title(name: str, used: set[str] | None = None) -> str:
    """A legal sheet title (31 characters, no []:*?/\\), unique within ``used`` (updated)."""
    cleaned = "".join("_" if c in _INVALID_TITLE_CHARS else c for c in name).strip("'").strip()
    cleaned = (cleaned or "Sheet")[:31]
    if used is None:
        return cleaned
    candidate, n = cleaned, 2
    while candidate.lower() in {u.lower() for u in used}:
        suffix = f"({n})"
        candidate = cleaned[: 31 - len(suffix)] + suffix
        n += 1
    used.add(candidate)
    return candidate


def style_title(ws: Worksheet, title: str, ncols: int, row: int = TITLE_ROW) -> None:
    ws.cell(row=row, column=1, value=title)
    if ncols > 1:
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=ncols)
    cell = ws.cell(row=row, column=1)
    cell.font = Font(name=TITLE_FONT, size=16, bold=True)
    cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    ws.row_dimensions[row].height = 36


def style_header(ws: Worksheet, row: int, columns: Sequence[Column]) -> None:
    for index, column in enumerate(columns, start=1):
        cell = ws.cell(row=row, column=index, value=column.header)
        cell.font = Font(name=HEADER_FONT, size=11, bold=True)
        cell.fill = HEADER_FILL
        cell.border = BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(index)].width = column.width
    ws.row_dimensions[row].height = 30


BODY_CELL_FONT = Font(name=BODY_FONT, size=11)


@functools.cache
def _data_alignment(align: str, wrap: bool) -> Alignment:
    return Alignment(horizontal=align, vertical="center", wrap_text=wrap)


def style_data_cell(ws: Worksheet, row: int, col: int, column: Column) -> None:
    # Style objects are immutable and shared: building them once per kind keeps large sheets fast.
    cell = ws.cell(row=row, column=col)
    cell.font = BODY_CELL_FONT
    cell.border = BORDER
    cell.alignment = _data_alignment(column.align, bool(column.wrap or column.align == "left"))
    if column.number_format:
        cell.number_format = column.number_format
    if column.input:
        cell.fill = INPUT_FILL


def setup_print(
    ws: Worksheet,
    *,
    landscape: bool = True,
    title_rows: str | None = f"{TITLE_ROW}:{HEADER_ROW}",
) -> None:
    """A4, landscape by default, fit to one page wide, repeating title rows."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.print_options.horizontalCentered = True
    if title_rows:
        ws.print_title_rows = title_rows
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"


def write_table(
    ws: Worksheet,
    title: str,
    columns: Sequence[Column],
    rows: Iterable[Sequence[object]],
    *,
    landscape: bool = True,
    autofilter: bool = True,
) -> int:
    """Title, header and data rows in the standard layout; returns the last data row.

    When ``rows`` is empty the return value is ``HEADER_ROW``.
    """
    ncols = len(columns)
    style_title(ws, title, ncols)
    style_header(ws, HEADER_ROW, columns)
    last = HEADER_ROW
    # The first data row is styled through openpyxl; every later cell gets a copy of its
    # column's style array (plus the quote prefix where formula-looking text is kept as text)
    # and is made directly rather than through ``ws.cell``.
    plain: list[StyleArray] = []
    formulas = [column.formula for column in columns]
    cells = ws._cells
    for r, values in enumerate(rows, start=FIRST_DATA_ROW):
        if len(values) != ncols:
            raise ValueError(f"row {r} has {len(values)} values for {ncols} columns")
        if r == FIRST_DATA_ROW:
            for c, (column, value) in enumerate(zip(columns, values, strict=True), start=1):
                cell = ws.cell(row=r, column=c)
                _write_value(cell, column, value)
                quote = cell.quotePrefix
                style_data_cell(ws, r, c, column)
                style = copy(cell._style)  # type: ignore[attr-defined]
                style.quotePrefix = 0
                plain.append(style)
                if quote:
                    cell.quotePrefix = True
        else:
            for c, value in enumerate(values, start=1):
                cell = Cell(ws, r, c, None, plain[c - 1])  # copies the style array
                kind = type(value)
                if value is None or value == "":
                    if formulas[c - 1] and value is not None:
                        cell.value = value
                elif kind is str and _plain_text(value) and not formulas[c - 1]:
                    cell._value = value
                    cell.data_type = "s"
                elif (kind is int or kind is float) and not formulas[c - 1]:
                    cell._value = value  # data type "n", the new cell's default
                elif _write_value(cell, columns[c - 1], value):
                    cell._style.quotePrefix = 1  # type: ignore[attr-defined]
                cells[(r, c)] = cell
        last = r
    ws._current_row = max(ws._current_row, last)  # as ws.cell would leave it, for ws.append
    ws.freeze_panes = ws.cell(row=FIRST_DATA_ROW, column=1)
    if autofilter:
        ws.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(ncols)}{max(last, HEADER_ROW)}"
    setup_print(ws, landscape=landscape)
    return last


def _plain_text(text: str) -> bool:
    """Text openpyxl stores as it is: not formula-looking, not an error code, not too long, no
    illegal characters."""
    return (
        not text.startswith(FORMULA_PREFIXES)
        and len(text) <= _MAX_TEXT
        and text not in ERROR_CODES
        and _ILLEGAL.search(text) is None
    )


def _write_value(cell: Cell, column: Column, value: object) -> bool:
    """The value as :func:`write_cell_safely` writes it (the column's own formulas as given);
    True when it is formula-looking text kept as text (quote prefix). The common kinds (none,
    numbers, plain text) are stored as openpyxl would store them, without its type dispatch."""
    if column.formula:
        cell.value = value
        return False
    if value is None:
        return False
    kind = type(value)
    if kind is int or kind is float:
        cell._value = value  # data type "n", the new cell's default
        return False
    if kind is str:
        if value == "":
            return False
        if value.startswith(FORMULA_PREFIXES):
            write_cell_safely(cell, value)
            return True
        if len(value) <= _MAX_TEXT and value not in ERROR_CODES and not _ILLEGAL.search(value):
            cell._value = value
            cell.data_type = "s"
            return False
    text, as_text = safe_cell_value(value)
    if as_text:
        write_cell_safely(cell, value)
        return True
    cell.value = text
    return False


def style_total_row(ws: Worksheet, row: int, ncols: int) -> None:
    for col in range(1, ncols + 1):
        cell = ws.cell(row=row, column=col)
        cell.font = Font(name=HEADER_FONT, size=11, bold=True)
        cell.fill = TOTAL_FILL
        cell.border = BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center")


def add_list_validation(
    ws: Worksheet,
    col: int,
    first_row: int,
    last_row: int,
    options: Sequence[str],
    *,
    prompt_title: str = "请选择",
) -> DataValidation:
    """A drop-down list over one column's cells."""
    formula = '"' + ",".join(options) + '"'
    if len(formula) > 257:
        raise ValueError("drop-down options too long for an inline list")
    dv = DataValidation(type="list", formula1=formula, allow_blank=True)
    dv.promptTitle = prompt_title
    dv.prompt = "可选：" + "、".join(options)
    dv.errorTitle = "输入无效"
    dv.error = "请从下拉列表中选择：" + "、".join(options)
    dv.showInputMessage = True
    dv.showErrorMessage = True
    letter = get_column_letter(col)
    dv.add(f"{letter}{first_row}:{letter}{max(first_row, last_row)}")
    ws.add_data_validation(dv)
    return dv


def add_decimal_validation(
    ws: Worksheet,
    col: int,
    first_row: int,
    last_row: int,
    low: float,
    high: float,
) -> DataValidation:
    """Numbers between ``low`` and ``high`` (inclusive) over one column's cells."""
    dv = DataValidation(
        type="decimal",
        operator="between",
        formula1=_num(low),
        formula2=_num(high),
        allow_blank=True,
    )
    dv.errorTitle = "输入无效"
    dv.error = f"请输入{_num(low)}至{_num(high)}之间的数值"
    dv.promptTitle = "取值范围"
    dv.prompt = f"{_num(low)}～{_num(high)}"
    dv.showInputMessage = True
    dv.showErrorMessage = True
    letter = get_column_letter(col)
    dv.add(f"{letter}{first_row}:{letter}{max(first_row, last_row)}")
    ws.add_data_validation(dv)
    return dv


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def save_workbook(wb: Workbook, path: Path | str) -> Path:
    """Save after :func:`documents.xlsx_fit.fit_workbook` (wrapped text gets rows tall enough to
    hold it, text wider than its column wraps instead of being cut), whole or not at all."""
    fit_workbook(wb)
    return write_whole(path, wb.save)


__all__ = [
    "BORDER",
    "FIRST_DATA_ROW",
    "HEADER_ROW",
    "TITLE_ROW",
    "Column",
    "add_decimal_validation",
    "add_list_validation",
    "new_workbook",
    "safe_sheet_title",
    "save_workbook",
    "setup_print",
    "style_data_cell",
    "style_header",
    "style_title",
    "style_total_row",
    "write_table",
]
