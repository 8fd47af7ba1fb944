"""What a printed sheet shows wrong, measured independently of the writer's own fitting: a
wrapped text whose row is too short for its lines (it prints over the next rows), and an unwrapped
text wider than its column beside a filled cell (it is cut off).

The measure is deliberately a little more lenient than `documents.xlsx_fit` (narrower characters,
tighter lines): a row this check calls too short is too short in any viewer."""

from __future__ import annotations

import math
import unicodedata
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

DEFAULT_WIDTH = 8.43
DEFAULT_HEIGHT = 15.0


def _width(text: str) -> float:
    return sum(2.0 if unicodedata.east_asian_width(c) in "WF" else 1.0 for c in text)


def _col_width(ws, c: int) -> float:
    dim = ws.column_dimensions.get(get_column_letter(c))
    return float(dim.width) if dim is not None and dim.width else DEFAULT_WIDTH


def print_faults(path: Path) -> list[str]:
    """Each fault as "file/sheet!A1: what"."""
    wb = load_workbook(path)
    faults: list[str] = []
    for ws in wb.worksheets:
        if ws.sheet_state != "visible":
            continue
        merged = {(r.min_row, r.min_col): r for r in ws.merged_cells.ranges}
        covered = {
            (row, col)
            for r in ws.merged_cells.ranges
            for row in range(r.min_row, r.max_row + 1)
            for col in range(r.min_col, r.max_col + 1)
            if (row, col) != (r.min_row, r.min_col)
        }

        for row in ws.iter_rows():
            for cell in row:
                value = cell.value
                if not isinstance(value, str) or not value or value.startswith("="):
                    continue
                if (cell.row, cell.column) in covered:
                    continue
                dim = ws.column_dimensions.get(get_column_letter(cell.column))
                if dim is not None and dim.hidden:
                    continue  # nobody sees a hidden column (the importers' keys)
                span = merged.get((cell.row, cell.column))
                last_col = span.max_col if span else cell.column
                rows = span.max_row - span.min_row + 1 if span else 1
                width = sum(_col_width(ws, c) for c in range(cell.column, last_col + 1)) - 1.0
                size = float(cell.font.sz or 11) if cell.font else 11.0
                scale = size / 11.0
                where = f"{path.name}/{ws.title}!{cell.coordinate}"
                wrap = bool(cell.alignment and cell.alignment.wrap_text)
                if wrap:
                    lines = sum(
                        max(1, math.ceil(_width(p) * scale / max(width, 1.0)))
                        for p in value.split("\n")
                    )
                    if lines < 2:
                        continue
                    heights = [
                        ws.row_dimensions[r].height or DEFAULT_HEIGHT
                        for r in range(cell.row, cell.row + rows)
                    ]
                    need = lines * size * 1.3
                    if sum(heights) < need:
                        faults.append(
                            f"{where}: 换行文字需 {lines} 行（约 {need:.0f} 磅），"
                            f"行高只有 {sum(heights):.0f} 磅"
                        )
                elif "\n" in value or _width(value) * scale > width + 0.5:
                    neighbour = ws.cell(row=cell.row, column=last_col + 1).value
                    if neighbour not in (None, "") or "\n" in value:
                        faults.append(f"{where}: 文字宽于列宽且未换行，被右侧单元格截断")
    return faults


def print_setup_faults(path: Path) -> list[str]:
    """Visible sheets that would not print on A4 one page wide with page numbers."""
    wb = load_workbook(path)
    faults: list[str] = []
    for ws in wb.worksheets:
        if ws.sheet_state != "visible":
            continue
        setup = ws.page_setup
        where = f"{path.name}/{ws.title}"
        if str(setup.paperSize) != "9":
            faults.append(f"{where}: 纸张不是 A4")
        if not ws.sheet_properties.pageSetUpPr or not ws.sheet_properties.pageSetUpPr.fitToPage:
            faults.append(f"{where}: 未设置按页宽缩放")
        elif str(setup.fitToWidth) not in ("1", "None"):
            faults.append(f"{where}: 未缩放到一页宽")
        if "&P" not in (ws.oddFooter.center.text or "") + (ws.oddFooter.right.text or ""):
            faults.append(f"{where}: 页脚没有页码")
    return faults
