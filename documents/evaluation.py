"""Files of 成果评定 other than the score sheets (those are in `documents.reports`): the expert
list (专家库) a staff member uploads, read only after the file passed the safety checks (what a
good row is lives in `domain.evaluation`), and the panel draw's record."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from documents.xlsx_reader import LightWorkbook, Value

__all__ = ["ExpertListSheet", "read_expert_list", "write_draw_record"]


@dataclass(frozen=True)
class ExpertListSheet:
    """The first sheet of an uploaded expert list: its title and every row from row 1 (empty
    rows as empty tuples, so that row numbers stay those people see)."""

    name: str  # the file's name
    sheet: str
    rows: list[tuple[Value, ...]]


def read_expert_list(path: Path | str) -> ExpertListSheet:
    """The cells of an expert list's first sheet, as typed (cached values of formulas).

    ``FileNotFoundError`` when there is no such file; ``UnreadableFile`` (a Chinese message naming
    the file and the fix) when it is too large, broken, encrypted, has macros or is not .xlsx."""
    path = Path(path)
    wb = LightWorkbook(path)
    try:
        sheet = wb.first_sheet()
        by_number = wb.rows(sheet)
    finally:
        wb.close()
    last = max(by_number, default=0)
    rows = [by_number.get(n, ()) for n in range(1, last + 1)]
    return ExpertListSheet(name=path.name, sheet=sheet, rows=rows)


def write_draw_record(path: Path, record: dict[str, Any]) -> Path:
    """评定组抽取记录: the draw (seed, inputs digest, panels, recusals) as indented JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
    return path
