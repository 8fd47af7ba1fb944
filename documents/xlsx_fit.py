"""Rows that hold their text (行高自适应): what Excel and LibreOffice never do for a written file.

A viewer draws a cell's text inside the row height stored in the file; a wrapped text taller than
its row runs over the next rows when printed, and an unwrapped text wider than its column is cut
at a filled neighbour. Before a workbook is saved, :func:`fit_workbook` makes every text cell
wider than its column wrap and gives every row the height its tallest cell needs.

Widths are in Excel's column units (one "0" of the default 11-point font); a CJK character of an
11-point font takes about two of them. The estimate errs on the tall side: a row a line too high
is harmless, a row a line too low prints text over its neighbour.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterator

from openpyxl import Workbook
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

__all__ = [
    "DEFAULT_COLUMN_WIDTH",
    "DEFAULT_ROW_HEIGHT",
    "MAX_ROW_HEIGHT",
    "column_width",
    "ensure_print_setup",
    "fit_workbook",
    "fit_worksheet",
    "lines_needed",
    "row_height_for",
    "text_width",
]

DEFAULT_COLUMN_WIDTH = 8.43  # Excel's default, in column units
DEFAULT_ROW_HEIGHT = 15.0  # points, for an 11-point font
MAX_ROW_HEIGHT = 409.0  # the largest row height Excel stores
CELL_PADDING = 1.2  # column units lost to the cell's margins and borders
LINE_FACTOR = 1.45  # a line of a CJK font is about 1.45 times its size (Noto CJK, SimSun)
ROW_PADDING = 4.0  # points above and below the text
WIDE = frozenset("WF")


def text_width(text: str, size: float = 11.0, *, bold: bool = False) -> float:
    """The width of one line of ``text`` in column units, at ``size`` points."""
    units = 0.0
    for ch in text:
        if unicodedata.east_asian_width(ch) in WIDE:
            units += 2.0
        elif unicodedata.combining(ch) or ch in "\r\u200b\ufeff":
            continue
        else:
            units += 1.0
    scale = size / 11.0 * (1.06 if bold else 1.0)
    return units * scale


def lines_needed(text: str, width: float, size: float = 11.0, *, bold: bool = False) -> int:
    """How many lines ``text`` takes when wrapped in a cell ``width`` column units wide.

    CJK text breaks between any two characters; a Latin word does not, so each paragraph gets a
    twentieth of slack for the words that move whole to the next line."""
    usable = max(width - CELL_PADDING, 1.0)
    total = 0
    for paragraph in text.split("\n"):
        needed = text_width(paragraph, size, bold=bold)
        if needed > usable:
            needed *= 1.05 if any(ord(c) < 0x2E80 for c in paragraph) else 1.0
        total += max(1, math.ceil(needed / usable))
    return total


def row_height_for(lines: int, size: float = 11.0) -> float:
    """Points for ``lines`` lines of ``size``-point text (capped at Excel's maximum)."""
    return min(MAX_ROW_HEIGHT, lines * size * LINE_FACTOR + ROW_PADDING)


def column_width(ws: Worksheet, index: int) -> float:
    """The column's width in column units (Excel's default when none is stored)."""
    dim = ws.column_dimensions.get(get_column_letter(index))
    if dim is None or not dim.width:
        return DEFAULT_COLUMN_WIDTH
    return float(dim.width)


def fit_workbook(wb: Workbook) -> None:
    """:func:`fit_worksheet` and :func:`ensure_print_setup` on every visible worksheet."""
    for ws in wb.worksheets:
        if ws.sheet_state == "visible":
            fit_worksheet(ws)
            ensure_print_setup(ws)


LANDSCAPE_WIDTH = 110.0  # column units: wider than this prints across an A4 page


def ensure_print_setup(ws: Worksheet) -> None:
    """A sheet nobody set up for printing prints on A4, one page wide (landscape when wide),
    with page numbers in the footer; a sheet already set up keeps its own setup."""
    if ws.page_setup.paperSize is not None:
        return
    total = sum(column_width(ws, c) for c in range(1, (ws.max_column or 1) + 1))
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if total > LANDSCAPE_WIDTH * 0.7 else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    if not ws.oddFooter.center.text:
        ws.oddFooter.center.text = "第 &P 页，共 &N 页"


def fit_worksheet(ws: Worksheet) -> None:
    """Wrap every text cell wider than its column; size every row to its tallest cell.

    A height already stored is kept when it is larger (titles, headers, signature lines)."""
    spans = _merged_spans(ws)
    covered = _covered_cells(ws)
    columns = range(1, (ws.max_column or 1) + 1)
    widths = {c: column_width(ws, c) for c in columns}  # once per column, not per cell
    hidden = {c for c in columns if _hidden(ws, c)}
    needed: dict[int, float] = {}
    for (row, col), cell in ws._cells.items():  # noqa: SLF001 - the only way to skip empty cells
        value = cell.value
        if not isinstance(value, str) or not value or (row, col) in covered:
            continue
        if value.startswith("=") or col in hidden:
            continue  # a formula (its result is a number here) or a hidden column
        span_cols, span_rows = spans.get((row, col), (1, 1))
        width = sum(widths.get(c, DEFAULT_COLUMN_WIDTH) for c in range(col, col + span_cols))
        font = cell.font
        size = float(font.sz or 11.0) if font is not None else 11.0
        bold = bool(font is not None and font.b)
        wrap = bool(cell.alignment is not None and cell.alignment.wrap_text)
        one_line = "\n" not in value and text_width(value, size, bold=bold) <= width - CELL_PADDING
        if one_line:
            lines = 1
        else:
            if not wrap:
                cell.alignment = _wrapped(cell.alignment)
            lines = lines_needed(value, width, size, bold=bold)
        if lines == 1 and size <= 11.0:
            continue  # the viewer's default row holds one line of the default size
        height = row_height_for(lines, size) / span_rows
        if height > needed.get(row, 0.0):
            needed[row] = height
    for row, height in needed.items():
        dim = ws.row_dimensions[row]
        if dim.height is None or dim.height < height:
            dim.height = round(height, 1)


def _hidden(ws: Worksheet, col: int) -> bool:
    dim = ws.column_dimensions.get(get_column_letter(col))
    return bool(dim is not None and dim.hidden)


def _wrapped(alignment: Alignment | None) -> Alignment:
    if alignment is None:
        return Alignment(wrap_text=True, vertical="center")
    return Alignment(
        horizontal=alignment.horizontal,
        vertical=alignment.vertical or "center",
        wrap_text=True,
        shrink_to_fit=False,
        indent=alignment.indent,
        text_rotation=alignment.text_rotation,
    )


def _merged_spans(ws: Worksheet) -> dict[tuple[int, int], tuple[int, int]]:
    """Top-left cell of each merged range -> (columns, rows) it spans."""
    return {
        (r.min_row, r.min_col): (r.max_col - r.min_col + 1, r.max_row - r.min_row + 1)
        for r in ws.merged_cells.ranges
    }


def _covered_cells(ws: Worksheet) -> set[tuple[int, int]]:
    """Cells hidden under a merged range (all but its top-left)."""
    out: set[tuple[int, int]] = set()
    for r in ws.merged_cells.ranges:
        out.update(_cells_of(r.min_row, r.max_row, r.min_col, r.max_col))
        out.discard((r.min_row, r.min_col))
    return out


def _cells_of(r1: int, r2: int, c1: int, c2: int) -> Iterator[tuple[int, int]]:
    for row in range(r1, r2 + 1):
        for col in range(c1, c2 + 1):
            yield row, col
