"""Registers: recommending units (推荐单位) and past excellent results (历年优秀成果), imported
from the commission's spreadsheets. A bad row stops the import before anything is stored.

The registers belong to no campaign: these services take a unit of work and the file only."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from documents.registers import read_register
from domain.registers import (
    PAST_RESULT_COLUMNS,
    PAST_RESULT_OPTIONAL_COLUMNS,
    UNIT_COLUMNS,
    UNIT_OPTIONAL_COLUMNS,
    ImportProblem,
    check_past_results,
    check_units,
    notice_channels,
)
from notifications.recipients import channel_problem
from services.operators import SYSTEM_ACTOR, record_action
from storage import orm
from storage.uow import UnitOfWork

__all__ = [
    "ImportProblem",
    "PastResultsImport",
    "UnitsImport",
    "import_past_results",
    "import_units",
]


class UnitsImport(BaseModel):
    """推荐单位名录导入: how many units were added and how many updated."""

    added: int = 0
    updated: int = 0


class PastResultsImport(BaseModel):
    """历年优秀成果导入: how many results were added and how many were there already."""

    added: int = 0
    existing: int = 0


def check_unit_channels(file: str, records: list[dict[str, str]]) -> None:
    """Every 通知渠道 is an apprise URL with its secrets as placeholders and, for mail, its
    recipient; the first one that is not stops the import before anything is stored."""
    for r in records:
        for url in notice_channels(r.get("通知渠道", "")):
            if problem := channel_problem(url):
                raise ImportProblem(
                    f"文件“{file}”第{r['_row']}行“通知渠道”列：{problem}（本次未导入任何记录）。"
                )


def import_units(uow: UnitOfWork, path: Path, *, actor: str = SYSTEM_ACTOR) -> UnitsImport:
    """`qcamp units import`. Columns 单位代码, 单位名称, 类型, 联系人, 电话, 邮箱, 通知渠道."""
    records = read_register(path, UNIT_COLUMNS, UNIT_OPTIONAL_COLUMNS)
    check_units(path.name, records)
    check_unit_channels(path.name, records)
    result = UnitsImport()
    with uow:
        for r in records:
            unit = uow.repo.recommending_unit(r["单位代码"])
            if unit is None:
                unit = orm.RecommendingUnit(code=r["单位代码"])
                uow.add(unit)
                result.added += 1
            else:
                result.updated += 1
            unit.name = r["单位名称"]
            unit.kind = r.get("类型", "")
            unit.contact = r.get("联系人", "")
            unit.phone = r.get("电话", "")
            unit.email = r.get("邮箱", "")
            unit.channels = notice_channels(r.get("通知渠道", ""))
        record_action(uow, "units_import", actor, {"file": path.name, **result.model_dump()})
        uow.commit()
    return result


def import_past_results(
    uow: UnitOfWork, path: Path, *, actor: str = SYSTEM_ACTOR
) -> PastResultsImport:
    """`qcamp past-results import`. Columns 年份, 项目名称, 单位, 摘要."""
    records = read_register(path, PAST_RESULT_COLUMNS, PAST_RESULT_OPTIONAL_COLUMNS)
    check_past_results(path.name, records)
    result = PastResultsImport()
    with uow:
        known = uow.registry.past_result_keys()
        for r in records:
            key = (int(r["年份"]), r["项目名称"], r.get("单位", ""))
            if key in known:
                result.existing += 1
                continue
            known.add(key)
            uow.add(
                orm.PastExcellentResult(
                    year=key[0], title=key[1], unit=key[2], abstract=r.get("摘要", "")
                )
            )
            result.added += 1
        record_action(uow, "past_results_import", actor, {"file": path.name, **result.model_dump()})
        uow.commit()
    return result
