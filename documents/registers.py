"""名录表格: the registers staff hand in as spreadsheets (推荐单位名录, 历年优秀成果), read as
rows of text after the safety checks. A table that cannot be read raises `ImportProblem`."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook

from documents.safety import UnreadableFile, check_file
from domain.registers import ImportProblem

HEADER_ROWS = 10  # the header is looked for in the first rows


def _load_rows(path: Path) -> list[tuple[object, ...]]:
    try:
        check_file(path)
    except UnreadableFile as exc:
        raise ImportProblem(exc.message) from exc
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise ImportProblem(
            f"文件“{path.name}”无法读取（{type(exc).__name__}）。请用 Excel/WPS 另存为 .xlsx 后重试。"
        ) from exc
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    wb.close()
    return rows


def read_register(path: Path, required: list[str], optional: list[str]) -> list[dict[str, str]]:
    """The rows of the first sheet under its header, as {column: text} plus `_row` (the sheet's
    row number); blank rows skipped; a row missing a required value stops the import."""
    rows = _load_rows(path)
    header_index, header = None, []
    for i, row in enumerate(rows[:HEADER_ROWS]):
        cells = [str(c).strip() if c is not None else "" for c in row]
        if all(col in cells for col in required):
            header_index, header = i, cells
            break
    if header_index is None:
        raise ImportProblem(
            f"文件“{path.name}”中找不到表头（须包含列：{'、'.join(required)}）。请按模板填写表头后重试。"
        )
    positions = {name: header.index(name) for name in required + optional if name in header}
    records = []
    for offset, row in enumerate(rows[header_index + 1 :], start=header_index + 2):
        values = {
            name: (str(row[pos]).strip() if pos < len(row) and row[pos] is not None else "")
            for name, pos in positions.items()
        }
        if not any(values.values()):
            continue
        for name in required:
            if not values.get(name):
                raise ImportProblem(
                    f"文件“{path.name}”第{offset}行“{name}”列为空。请填写后重新导入（本次未导入任何记录）。"
                )
        values["_row"] = str(offset)
        records.append(values)
    return records
