"""The sheets the demo's participants fill as they would in Excel: the trainers' sign-in marks,
the project units' progress reports and the recommending units' visit records. The cells go into
the sheets' XML directly, keeping their styles; only the edited part is compressed again
(`documents.zip_patch`)."""

from __future__ import annotations

import datetime as dt
import functools
import html
import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel

from documents.reports import CHECKIN_LABELS, CHECKIN_SHEET, SIGNIN_MARK_COL, SIGNIN_SHEET
from documents.xlsx_reader import LightWorkbook, column_index, worksheet_parts
from documents.xlsx_style import FIRST_DATA_ROW, HEADER_ROW, save_workbook
from documents.zip_patch import patched_zip


def mark_signin_sheet(sheet: Path, target: Path, mark: Callable[[str], str]) -> Path:
    """What the trainers do in Excel: type `mark(person key)` into the 签到情况 column of every
    row with a person key (column B) and save the sheet as `target`.

    The marks go into the sheet's XML directly, keeping the cells' styles, and only that part is
    compressed again (``documents.zip_patch``): openpyxl's load and save took ~1.3 s a sheet of
    850 people.
    """
    source = sheet.read_bytes()
    with zipfile.ZipFile(io.BytesIO(source)) as z:
        part = worksheet_parts(z)[SIGNIN_SHEET]
        xml = z.read(part).decode("utf-8")
    # The person keys as the system writes them (inline strings); a sheet saved otherwise (shared
    # strings, numbers) is read through the light reader.
    keys = {
        int(m.group(1)): html.unescape(m.group(2))
        for m in re.finditer(r'<c r="B(\d+)"[^>]*? t="inlineStr"><is><t>([^<]*)</t></is></c>', xml)
    }
    if len(keys) < len(re.findall(r'<c r="B\d+"[^>]*?>\s*<(?:v|is)>', xml)):
        book = LightWorkbook(source, name=sheet.name)
        try:
            rows = book.rows(SIGNIN_SHEET, min_row=1, max_col=2)
        finally:
            book.close()
        keys = {r: str(v[1]) for r, v in rows.items() if len(v) > 1 and v[1] not in (None, "")}
    marks = {r: mark(key) for r, key in keys.items() if r >= FIRST_DATA_ROW and key}
    column = get_column_letter(SIGNIN_MARK_COL)
    typed: set[int] = set()

    def type_mark(cell: re.Match[str]) -> str:
        number = int(cell.group("n"))
        if number not in marks:
            return cell.group(0)
        typed.add(number)
        style = re.search(r'\bs="(\d+)"', cell.group("attrs"))
        return _cell_xml(f"{column}{number}", style.group(1) if style else "", marks[number])

    mark_cells = rf'<c r="{column}(?P<n>\d+)"(?P<attrs>[^>]*?)(?:/>|>.*?</c>)'
    xml = re.sub(mark_cells, type_mark, xml, flags=re.DOTALL)
    missing = marks.keys() - typed

    def add_cell(row: re.Match[str]) -> str:
        """A row without a 签到情况 cell: the cell goes before the first cell of a later column."""
        number = int(row.group("n"))
        if number not in missing or row.group("body") is None:
            return row.group(0)
        body = row.group("body")
        later = next(
            (
                c
                for c in re.finditer(r'<c r="([A-Z]+)\d+"', body)
                if column_index(c.group(1)) > SIGNIN_MARK_COL
            ),
            None,
        )
        at = later.start() if later else len(body)
        new = _cell_xml(f"{column}{number}", "", marks[number])
        return f"{row.group('open')}>{body[:at]}{new}{body[at:]}</row>"

    if missing:
        rows_xml = r'(?P<open><row r="(?P<n>\d+)"[^>]*?)(?:/>|>(?P<body>.*?)</row>)'
        xml = re.sub(rows_xml, add_cell, xml, flags=re.DOTALL)
    target.write_bytes(patched_zip(source, {part: xml.encode("utf-8")}))
    return target


def _cell_xml(ref: str, style: str, value: object) -> str:
    s = f' s="{style}"' if style else ""
    if isinstance(value, bool):
        return f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, dt.date):  # dates and datetimes: Excel's serial number
        return f'<c r="{ref}"{s}><v>{to_excel(value)}</v></c>'
    if isinstance(value, int | float):
        return f'<c r="{ref}"{s}><v>{value}</v></c>'
    return f'<c r="{ref}"{s} t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'


def fill_checkin(request: Path | bytes, target: Path, values: dict[str, object]) -> Path:
    """What the project unit does in Excel: type `values` (by CHECKIN_LABELS field) into the
    request's input cells (column B) and save it as `target`.

    The cells are put into the sheet's XML directly, keeping their styles, and only that part is
    compressed again: openpyxl's load and save cost ~20 ms a workbook, 49 s for the demo's 2,300
    reports at 1,200 projects.
    """
    rows = {field: HEADER_ROW + i for i, field in enumerate(CHECKIN_LABELS)}
    source = request if isinstance(request, bytes) else request.read_bytes()
    with zipfile.ZipFile(io.BytesIO(source)) as z:
        sheet = worksheet_parts(z)[CHECKIN_SHEET]
        xml = z.read(sheet).decode("utf-8")
    for field, value in values.items():
        ref = f"B{rows[field]}"
        cell = re.compile(rf'<c r="{ref}"(?P<attrs>[^>]*?)(?:/>|>.*?</c>)', re.DOTALL)
        found = cell.search(xml)
        if found is None:
            raise ValueError(f"{target.name}: no cell {ref}")
        style = re.search(r'\bs="(\d+)"', found.group("attrs"))
        new = _cell_xml(ref, style.group(1) if style else "", value)
        xml = xml[: found.start()] + new + xml[found.end() :]
    target.write_bytes(patched_zip(source, {sheet: xml.encode("utf-8")}))
    return target


VISIT_HEADER = ("推荐单位", "项目编号", "项目名称", "走访日期", "走访人", "发现问题与建议")


@functools.cache
def _visit_template() -> tuple[bytes, str, str]:
    """A unit's visit workbook as Excel would save it (one header row and a dated row), the
    sheet's part name and the style index of its date cells; made once with openpyxl."""
    wb = Workbook()
    ws = wb.active
    ws.title = "走访记录"
    ws.append(list(VISIT_HEADER))
    ws.append(["", "", "", dt.date(2025, 1, 1), "", ""])
    buffer = io.BytesIO()
    wb.save(buffer)
    source = buffer.getvalue()
    with zipfile.ZipFile(io.BytesIO(source)) as z:
        sheet = worksheet_parts(z)["走访记录"]
        xml = z.read(sheet).decode("utf-8")
    style = re.search(r'<c r="D2"[^>]*?\bs="(\d+)"', xml)
    return source, sheet, style.group(1) if style else ""


def visit_workbook(rows: list[list[object]]) -> bytes:
    """The .xlsx a recommending unit returns: the header and one row per visit.

    openpyxl costs ~10 ms a workbook to build and save (254 files at 1,200 projects); the rows
    go into a once-made workbook's sheet XML instead (`documents.zip_patch`).
    """
    source, sheet, date_style = _visit_template()
    with zipfile.ZipFile(io.BytesIO(source)) as z:
        xml = z.read(sheet).decode("utf-8")
    lines = []
    for r, values in enumerate([list(VISIT_HEADER), *rows], start=1):
        cells = "".join(
            _cell_xml(f"{chr(65 + c)}{r}", date_style if isinstance(v, dt.date) else "", v)
            for c, v in enumerate(values)
            if v not in (None, "")
        )
        lines.append(f'<row r="{r}">{cells}</row>')
    data = f"<sheetData>{''.join(lines)}</sheetData>"
    xml = re.sub(r"<sheetData>.*</sheetData>|<sheetData/>", lambda _: data, xml, flags=re.DOTALL)
    xml = re.sub(r'<dimension ref="[^"]*"/>', f'<dimension ref="A1:F{len(rows) + 1}"/>', xml)
    return patched_zip(source, {sheet: xml.encode("utf-8")})


def save_typed_register(wb: Workbook, path: Path, widths: list[float]) -> Path:
    """A register as staff leave it after typing it in Excel: columns widened to what they hold
    and rows grown to their wrapped text (what Excel does while one types), then saved."""
    ws = wb.active
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    return save_workbook(wb, path)
