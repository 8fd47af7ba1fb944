"""专家库导入: the expert pool from the list staff upload, checked for safety before it is read
and row by row before anything is stored."""

from __future__ import annotations

import logging
from pathlib import Path

from pydantic import BaseModel, Field

from documents.evaluation import read_expert_list
from documents.safety import UnreadableFile
from domain.evaluation import EvaluationError, parse_expert_list
from services.operators import SYSTEM_ACTOR, record_action
from storage import orm
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)


class ExpertImport(BaseModel):
    """What an expert list import stored."""

    created: int = 0
    updated: int = 0
    keys: list[str] = Field(default_factory=list)


def import_experts(uow: UnitOfWork, xlsx: Path | str, *, actor: str = SYSTEM_ACTOR) -> ExpertImport:
    """专家库导入: one row per expert; every bad row is named, and nothing is stored if any is.
    An expert already in the pool (same name and phone) is updated."""
    path = Path(xlsx)
    try:
        sheet = read_expert_list(path)
    except FileNotFoundError as exc:
        raise EvaluationError(f"找不到专家库文件 {path}：请检查路径") from exc
    except UnreadableFile as exc:  # too large, macros, encrypted, old format, broken
        raise EvaluationError(f"无法读取专家库文件 {path.name}：{exc.message}") from exc
    parsed = parse_expert_list(sheet.name, sheet.sheet, sheet.rows)
    result = ExpertImport()
    with uow:
        existing = {e.key: e for e in uow.evaluation.experts(list(parsed))}
        for key, row in parsed.items():
            values = row.model_dump()
            expert = existing.get(key)
            if expert is None:
                uow.add(orm.Expert(key=key, **values))
                result.created += 1
            else:
                for attr, value in values.items():
                    setattr(expert, attr, value)
                result.updated += 1
            result.keys.append(key)
        detail = {"file": path.name, "created": result.created, "updated": result.updated}
        record_action(uow, "experts_import", actor, detail)
        uow.commit()
    log.info("专家库已导入：新增%d人，更新%d人", result.created, result.updated)
    return result
