"""A light read-only .xlsx reader: the cell values of one sheet, straight from the sheet's XML.

openpyxl's loader builds the whole workbook (styles, validations, every sheet) and costs
10-20 ms even for the one-page progress report; the imports that read hundreds of returned
workbooks need only the values. This reader opens the zip once, resolves the sheet by its name
(through ``xl/workbook.xml`` and its relationships, so a workbook re-saved by Excel or WPS works),
and decodes shared strings, inline strings, numbers, booleans, cached formula results and dates
(by the cell's number format) the way openpyxl's ``values_only`` reading does.

Every file first passes ``documents.safety.check_bytes`` (size, zip bomb, macros, encryption,
old binary formats, DOCTYPE/ENTITY declarations), so a refused file raises
:class:`documents.safety.UnreadableFile` whose Chinese message names the file and the fix.
"""

from __future__ import annotations

import datetime as dt
import io
import posixpath
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

from documents.safety import UnreadableFile, check_bytes

__all__ = ["LightWorkbook", "UnreadableFile", "column_index", "worksheet_parts"]

_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_REF = re.compile(r"([A-Z]+)(\d+)")

Value = str | int | float | bool | dt.datetime | dt.date | dt.time | dt.timedelta | None


def column_index(letters: str) -> int:
    """ "A" -> 1, "B" -> 2, "AA" -> 27."""
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _text(element: ET.Element) -> str:
    """The text of a shared or inline string: its <t>, or its runs' <t> (not phonetic <rPh>)."""
    direct = element.find(f"{_NS}t")
    if direct is not None:
        return direct.text or ""
    return "".join(t.text or "" for r in element.iter(f"{_NS}r") for t in r.iter(f"{_NS}t"))


def _number(text: str) -> int | float:
    if "." in text or "E" in text or "e" in text:
        return float(text)
    return int(text)


def worksheet_parts(zf: zipfile.ZipFile, book: ET.Element | None = None) -> dict[str, str]:
    """``{sheet name: zip part}`` of a workbook's worksheets, in the workbook's order
    (`book`: ``xl/workbook.xml`` when the caller has parsed it already)."""
    if book is None:
        book = ET.fromstring(zf.read("xl/workbook.xml"))
    rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    targets = {}
    for rel in rels.iter(f"{_PKG_REL_NS}Relationship"):
        if not rel.get("Type", "").endswith("/worksheet"):
            continue  # chart sheets, styles, themes
        target = rel.get("Target", "")
        if target.startswith("/"):
            part = target.lstrip("/")
        else:
            part = posixpath.normpath(posixpath.join("xl", target))
        targets[rel.get("Id")] = part
    present = set(zf.namelist())
    sheets = {}
    for sheet in book.iter(f"{_NS}sheet"):
        part = targets.get(sheet.get(f"{_REL_NS}id"))
        if part in present:
            sheets[sheet.get("name", "")] = part
    return sheets


class LightWorkbook:
    """One checked .xlsx held in memory; ``rows(sheet)`` gives its values by row number."""

    def __init__(self, source: Path | str | bytes, *, name: str | None = None) -> None:
        if isinstance(source, bytes):
            data, self.name = source, name or "upload.xlsx"
        else:
            path = Path(source)
            data = path.read_bytes()  # FileNotFoundError is the caller's to word
            self.name = name or path.name
        check_bytes(data, self.name)
        self._shared: list[str] | None = None
        # style index -> "date" / "timedelta" for the cells whose number format shows a date
        self._date_styles: dict[int, str] | None = None
        self._epoch = CALENDAR_WINDOWS_1900  # or 1904, read from xl/workbook.xml just below
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
            self._parts = set(self._zip.namelist())
            self._sheets = self._sheet_parts()
        except (zipfile.BadZipFile, KeyError, ET.ParseError) as exc:
            raise self._broken() from exc

    def _broken(self) -> UnreadableFile:
        return UnreadableFile(
            "FILE_UNREADABLE",
            f"文件「{self.name}」不是有效的 Excel 工作簿（缺少工作表结构）。请用 Excel/WPS 打开后"
            "另存为 .xlsx 再提交。",
            file=self.name,
        )

    def _xml(self, part: str) -> ET.Element:
        return ET.fromstring(self._zip.read(part))

    def _sheet_parts(self) -> dict[str, str]:
        book = self._xml("xl/workbook.xml")
        pr = book.find(f"{_NS}workbookPr")
        if pr is not None and pr.get("date1904") in ("1", "true"):
            self._epoch = CALENDAR_MAC_1904
        return worksheet_parts(self._zip, book)

    @property
    def sheetnames(self) -> list[str]:
        return list(self._sheets)

    def _shared_strings(self) -> list[str]:
        if self._shared is None:
            self._shared = []
            if "xl/sharedStrings.xml" in self._parts:
                root = self._xml("xl/sharedStrings.xml")
                self._shared = [_text(si) for si in root.iter(f"{_NS}si")]
        return self._shared

    def _date_style(self, style: int) -> str:
        if self._date_styles is None:
            self._date_styles = {}
            if "xl/styles.xml" in self._parts:
                root = self._xml("xl/styles.xml")
                custom = {
                    int(f.get("numFmtId", "0")): f.get("formatCode", "")
                    for f in root.iter(f"{_NS}numFmt")
                }
                xfs = root.find(f"{_NS}cellXfs")
                for i, xf in enumerate(xfs if xfs is not None else []):
                    fmt_id = int(xf.get("numFmtId", "0"))
                    code = custom.get(fmt_id) or BUILTIN_FORMATS.get(fmt_id, "")
                    if code and is_timedelta_format(code):
                        self._date_styles[i] = "timedelta"
                    elif code and is_date_format(code):
                        self._date_styles[i] = "date"
        return self._date_styles.get(style, "")

    def _value(self, cell: ET.Element) -> Value:
        kind = cell.get("t", "n")
        if kind == "inlineStr":
            inline = cell.find(f"{_NS}is")
            return _text(inline) if inline is not None else None
        v = cell.find(f"{_NS}v")
        if v is None or v.text is None:
            return None
        text = v.text
        if kind == "s":
            strings = self._shared_strings()
            index = int(text)
            return strings[index] if 0 <= index < len(strings) else None
        if kind in ("str", "e"):
            return text
        if kind == "b":
            return text.strip() in ("1", "true")
        if kind == "d":
            return dt.datetime.fromisoformat(text.strip())
        number = _number(text)
        style = cell.get("s")
        shown = self._date_style(int(style)) if style is not None else ""
        if shown:
            return from_excel(number, self._epoch, timedelta=shown == "timedelta")
        return number

    def rows(
        self, sheet: str, *, min_row: int = 1, max_col: int | None = None
    ) -> dict[int, tuple[Value, ...]]:
        """``{row number: values from column A}`` of the rows with any cell (empty cells None).

        Raises ``KeyError`` when the workbook has no sheet of that name."""
        part = self._sheets[sheet]
        try:
            root = self._xml(part)
        except ET.ParseError as exc:
            raise self._broken() from exc
        data = root.find(f"{_NS}sheetData")
        result: dict[int, tuple[Value, ...]] = {}
        row_number = 0
        for row in data if data is not None else []:
            row_number = int(row.get("r") or row_number + 1)
            if row_number < min_row:
                continue
            cells: dict[int, Value] = {}
            col = 0
            for cell in row.iter(f"{_NS}c"):
                ref = cell.get("r")
                m = _REF.match(ref) if ref else None
                col = column_index(m.group(1)) if m else col + 1
                if max_col is not None and col > max_col:
                    continue
                cells[col] = self._value(cell)
            if not cells:
                continue
            width = max(cells)
            result[row_number] = tuple(cells.get(c) for c in range(1, width + 1))
        return result

    def first_sheet(self) -> str:
        if not self._sheets:
            raise self._broken()
        return next(iter(self._sheets))

    def close(self) -> None:
        self._zip.close()
