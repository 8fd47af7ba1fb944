"""名录导入的规则: the registers staff import (推荐单位名录, 历年优秀成果) and what makes a row
wrong. A bad row stops the import before anything is stored; the message names file, row, column
and the fix."""

from __future__ import annotations

from collections.abc import Sequence

from domain import limits
from domain.models import DISTRICTS, RecommendingUnitKind

UNIT_COLUMNS = ["单位代码", "单位名称"]
UNIT_OPTIONAL_COLUMNS = ["类型", "联系人", "电话", "邮箱", "通知渠道"]
PAST_RESULT_COLUMNS = ["年份", "项目名称"]
PAST_RESULT_OPTIONAL_COLUMNS = ["单位", "摘要"]
FIRST_YEAR, LAST_YEAR = 1990, 2100
UNIT_LIMITS = {
    "单位代码": limits.UNIT_CODE_MAX,
    "单位名称": limits.UNIT_NAME_MAX,
    "联系人": limits.CONTACT_MAX,
    "电话": limits.PHONE_MAX,
    "邮箱": limits.EMAIL_MAX,
}
PAST_RESULT_LIMITS = {"项目名称": limits.TITLE_MAX, "单位": limits.UNIT_NAME_MAX}


class ImportProblem(ValueError):
    """A spreadsheet that cannot be imported; the message names file, row, column and fix."""


def check_lengths(file: str, records: Sequence[dict[str, str]], sizes: dict[str, int]) -> None:
    """Every value fits its column (the same limit on SQLite and PostgreSQL)."""
    for r in records:
        for column, limit in sizes.items():
            if message := limits.too_long_message(column, r.get(column, ""), limit):
                raise ImportProblem(f"文件“{file}”第{r['_row']}行{message}（本次未导入任何记录）")


def check_units(file: str, records: Sequence[dict[str, str]]) -> None:
    """Every unit's 类型 is a known kind and every 单位代码 appears once."""
    check_lengths(file, records, UNIT_LIMITS)
    kinds = {k.value for k in RecommendingUnitKind}
    seen: set[str] = set()
    for r in records:
        if r.get("类型") and r["类型"] not in kinds:
            raise ImportProblem(
                f"文件“{file}”第{r['_row']}行“类型”列的值“{r['类型']}”无效。"
                f"请填写：{'、'.join(sorted(kinds))}（本次未导入任何记录）。"
            )
        if r["单位代码"] in seen:
            raise ImportProblem(
                f"文件“{file}”第{r['_row']}行“单位代码”“{r['单位代码']}”重复。每个推荐单位只列一行（本次未导入任何记录）。"
            )
        seen.add(r["单位代码"])


def notice_channels(value: str) -> list[str]:
    """通知渠道: a `;`-separated list in one cell."""
    return [c.strip() for c in value.split(";") if c.strip()]


def check_past_results(file: str, records: Sequence[dict[str, str]]) -> None:
    """Every past result's 年份 is a four-digit year, and its texts fit their columns."""
    check_lengths(file, records, PAST_RESULT_LIMITS)
    for r in records:
        if not r["年份"].isdigit() or not FIRST_YEAR <= int(r["年份"]) <= LAST_YEAR:
            raise ImportProblem(
                f"文件“{file}”第{r['_row']}行“年份”列的值“{r['年份']}”不是有效年份。请填写四位年份，如 2023（本次未导入任何记录）。"
            )


_KIND_RANK = {
    RecommendingUnitKind.DISTRICT_REGULATOR.value: 0,
    RecommendingUnitKind.DEPARTMENT.value: 1,
    RecommendingUnitKind.ASSOCIATION.value: 2,
}


def unit_order(
    kind: str, name: str, code: str, districts: Sequence[str] = DISTRICTS
) -> tuple[int, int, str]:
    """Where a recommending unit comes in the commission's lists: district regulators first in
    the administrative order of their districts, then city departments, then associations, each
    by unit code."""
    rank = _KIND_RANK.get(kind, 3)
    place = next((i for i, d in enumerate(districts) if d in name), len(districts))
    return rank, place if rank == 0 else 0, code
