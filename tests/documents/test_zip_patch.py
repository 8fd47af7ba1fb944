"""Copies of a workbook with one part replaced stay valid archives that Excel, openpyxl and the
safety checks accept."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from documents.safety import check_bytes
from documents.zip_patch import patched_zip


def workbook_bytes(tmp_path: Path) -> bytes:
    wb = Workbook()
    wb.active.title = "进度报告"
    wb.active["A1"] = "项目编号"
    wb.save(tmp_path / "源.xlsx")
    return (tmp_path / "源.xlsx").read_bytes()


def test_replaced_part_changes_and_the_rest_is_kept(tmp_path: Path) -> None:
    source = workbook_bytes(tmp_path)
    with zipfile.ZipFile(io.BytesIO(source)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
        before = {n: z.read(n) for n in z.namelist()}
    row = '<row r="2"><c r="B2"><v>42</v></c></row>'
    new_sheet = re.sub(r"<sheetData>(.*)</sheetData>", rf"<sheetData>\1{row}</sheetData>", sheet)
    assert row in new_sheet
    copy = patched_zip(source, {"xl/worksheets/sheet1.xml": new_sheet.encode()})
    check_bytes(copy, "副本.xlsx")
    with zipfile.ZipFile(io.BytesIO(copy)) as z:
        assert z.testzip() is None
        assert z.namelist() == list(before)
        for name, data in before.items():
            if name != "xl/worksheets/sheet1.xml":
                assert z.read(name) == data
    (tmp_path / "副本.xlsx").write_bytes(copy)
    ws = load_workbook(tmp_path / "副本.xlsx")["进度报告"]
    assert ws["B2"].value == 42


def test_archive_with_data_descriptors_is_rewritten(tmp_path: Path) -> None:
    class Stream(io.RawIOBase):  # not seekable: zipfile writes data descriptors
        def __init__(self) -> None:
            self.buffer = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, b: bytes) -> int:  # type: ignore[override]
            self.buffer += b
            return len(b)

    stream = Stream()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.xml", "<a/>")
        z.writestr("b.xml", "<b/>")
    source = bytes(stream.buffer)
    copy = patched_zip(source, {"b.xml": b"<b>1</b>"})
    with zipfile.ZipFile(io.BytesIO(copy)) as z:
        assert z.testzip() is None
        assert z.read("a.xml") == b"<a/>" and z.read("b.xml") == b"<b>1</b>"
    with pytest.raises(KeyError):
        patched_zip(source, {"c.xml": b""})
