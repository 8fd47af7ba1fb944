"""进度报告 in bulk: the request workbooks of a period (one per project) and the returned ones.

Speed: openpyxl costs ~17 ms a workbook, 20 s for 1,200 projects, so the writer runs once per
(period, due date) with placeholders and each project's copy gets its texts put into the sheets'
XML (~0.2 ms each): only the parts with placeholders are deflated again, the others are copied
compressed (`documents.zip_patch`).

A returned workbook is read by `documents.reports.read_checkin_response`, which runs the safety
checks (`documents.safety`) on the file's bytes before anything parses them.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

from documents.files import write_bytes_whole
from documents.reports import CHECKIN_LABELS, read_checkin_response, write_checkin_request
from documents.rows import CheckinRequest
from documents.xlsx_style import HEADER_ROW
from documents.zip_patch import patched_zip

__all__ = ["checkin_cell", "read_checkin_response", "write_checkin_requests"]

PLACEHOLDERS = {
    "project_key": "@@KEY@@",
    "title": "@@TITLE@@",
    "applicant": "@@APPLICANT@@",
    "recommending_unit": "@@UNIT@@",
    "indicator": "@@INDICATOR@@",
}
MARKS = tuple(PLACEHOLDERS.values())


def checkin_cell(field: str) -> str:
    """The cell a progress report's field is filled in, e.g. ``B9`` for the percentage."""
    return f"B{HEADER_ROW + list(CHECKIN_LABELS).index(field)}"


def _template(path: Path, req: CheckinRequest) -> tuple[bytes, dict[str, str]]:
    """The request workbook with placeholders for the project's texts, and its parts (XML
    text) that carry them."""
    probe = path.with_name(f".template_{path.name}")
    placeholder = req.model_copy(
        update={**PLACEHOLDERS, "indicator_unit": "", "baseline": "", "target": ""}
    )
    write_checkin_request(probe, placeholder)
    source = probe.read_bytes()
    probe.unlink()
    with zipfile.ZipFile(io.BytesIO(source)) as z:
        marked = {
            name: text
            for name in z.namelist()
            if name == "xl/sharedStrings.xml" or name.startswith("xl/worksheets/")
            if any(mark in (text := z.read(name).decode("utf-8")) for mark in MARKS)
        }
    return source, marked


def write_checkin_requests(jobs: Sequence[tuple[Path, CheckinRequest]]) -> list[Path]:
    """Write the request workbooks (their folders made): one per (period, due) through
    `write_checkin_request` with placeholders, then each project's copy with its own texts put
    into the sheets' XML (strings are written inline, escaped here). Each copy holds what the
    writer produces for that project."""
    for folder in {path.parent for path, _ in jobs}:
        folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    templates: dict[tuple[str, dt.date | None], tuple[bytes, dict[str, str]]] = {}
    for path, req in jobs:
        key = (req.period, req.due)
        if key not in templates:
            templates[key] = _template(path, req)
        source, marked = templates[key]
        values = {PLACEHOLDERS[f]: escape(str(getattr(req, f))) for f in PLACEHOLDERS}
        parts = {}
        for name, text in marked.items():
            for mark, value in values.items():
                text = text.replace(mark, value)
            parts[name] = text.encode("utf-8")
        write_bytes_whole(path, patched_zip(source, parts))
        written.append(path)
    return written
