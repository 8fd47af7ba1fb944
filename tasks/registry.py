"""Registers: recommending units (推荐单位) and past excellent results (历年优秀成果), imported
from the commission's spreadsheets. A bad row stops the import before anything is stored."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select

from documents.safety import UnreadableFile, check_file
from domain.models import RecommendingUnitKind
from storage import orm
from storage.uow import UnitOfWork


class ImportProblem(ValueError):
    """A spreadsheet that cannot be imported; the message names file, row, column and fix."""


def _read_table(path: Path, required: list[str], optional: list[str]) -> list[dict[str, str]]:
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
    ws = wb.worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    wb.close()
    header_index = None
    for i, row in enumerate(rows[:10]):
        cells = [str(c).strip() if c is not None else "" for c in row]
        if all(col in cells for col in required):
            header_index = i
            header = cells
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


def import_units(path: Path) -> tuple[int, int]:
    """`qcamp units import`: (added, updated). Columns 单位代码, 单位名称, 类型, 联系人, 电话, 邮箱."""
    records = _read_table(
        path, ["单位代码", "单位名称"], ["类型", "联系人", "电话", "邮箱", "通知渠道"]
    )
    kinds = {k.value for k in RecommendingUnitKind}
    seen: set[str] = set()
    for r in records:
        if r.get("类型") and r["类型"] not in kinds:
            raise ImportProblem(
                f"文件“{path.name}”第{r['_row']}行“类型”列的值“{r['类型']}”无效。"
                f"请填写：{'、'.join(sorted(kinds))}（本次未导入任何记录）。"
            )
        if r["单位代码"] in seen:
            raise ImportProblem(
                f"文件“{path.name}”第{r['_row']}行“单位代码”“{r['单位代码']}”重复。每个推荐单位只列一行（本次未导入任何记录）。"
            )
        seen.add(r["单位代码"])
    added = updated = 0
    with UnitOfWork() as uow:
        for r in records:
            unit = uow.repo.recommending_unit(r["单位代码"])
            channels = [c.strip() for c in r.get("通知渠道", "").split(";") if c.strip()]
            if unit is None:
                unit = orm.RecommendingUnit(code=r["单位代码"])
                uow.session.add(unit)
                added += 1
            else:
                updated += 1
            unit.name = r["单位名称"]
            unit.kind = r.get("类型", "")
            unit.contact = r.get("联系人", "")
            unit.phone = r.get("电话", "")
            unit.email = r.get("邮箱", "")
            unit.channels = channels
        uow.commit()
    return added, updated


def import_past_results(path: Path) -> tuple[int, int]:
    """`qcamp past-results import`: (added, already there). Columns 年份, 项目名称, 单位, 摘要."""
    records = _read_table(path, ["年份", "项目名称"], ["单位", "摘要"])
    for r in records:
        if not r["年份"].isdigit() or not 1990 <= int(r["年份"]) <= 2100:
            raise ImportProblem(
                f"文件“{path.name}”第{r['_row']}行“年份”列的值“{r['年份']}”不是有效年份。请填写四位年份，如 2023（本次未导入任何记录）。"
            )
    added = existing = 0
    with UnitOfWork() as uow:
        known = {
            (y, t, u)
            for y, t, u in uow.session.execute(
                select(
                    orm.PastExcellentResult.year,
                    orm.PastExcellentResult.title,
                    orm.PastExcellentResult.unit,
                )
            )
        }
        for r in records:
            key = (int(r["年份"]), r["项目名称"], r.get("单位", ""))
            if key in known:
                existing += 1
                continue
            known.add(key)
            uow.session.add(
                orm.PastExcellentResult(
                    year=key[0], title=key[1], unit=key[2], abstract=r.get("摘要", "")
                )
            )
            added += 1
        uow.commit()
    return added, existing
