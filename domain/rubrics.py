"""Score rubrics (评分标准), one per project kind (课题类型), and how a project's kind is known.

Defaults follow T/CAQ 10201-2020 质量管理小组活动准则 (the local standard DB12/T 1273-2023 governs
Tianjin; its text is not public): 问题解决型 and 创新型 topics are scored on different criteria.
A campaign replaces them with `[[rubrics]]` tables in its config; each rubric's points must add
up to its total.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

PROBLEM_SOLVING = "问题解决型"
INNOVATION = "创新型"
KINDS: tuple[str, ...] = (PROBLEM_SOLVING, INNOVATION)
EFFECT_KEY = "effect"  # the criterion that breaks ties on score; every rubric has it
KIND_DECISION = "project_kind"  # Decision.kind of the staff's decision on a project's kind

RankingScope = Literal["overall", "by_kind"]


class RubricCriterion(BaseModel):
    """One line of a rubric (评分项): its key, name, points and what the expert looks for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    points: float = Field(gt=0)
    guidance: str = ""


class Rubric(BaseModel):
    """评分标准 of one project kind."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = Field(min_length=1)
    total: float = Field(100.0, gt=0)
    criteria: tuple[RubricCriterion, ...]

    @model_validator(mode="after")
    def _adds_up(self) -> Rubric:
        keys = [c.key for c in self.criteria]
        doubled = sorted({k for k in keys if keys.count(k) > 1})
        if doubled:
            raise ValueError(
                f"{self.kind}评分标准的评分项 key 重复：{'、'.join(doubled)}；请为每项起不同的 key"
            )
        if EFFECT_KEY not in keys:
            raise ValueError(
                f'{self.kind}评分标准缺少 key = "{EFFECT_KEY}" 的效果评分项（并列时按它排序）；'
                "请把效果一项的 key 写成 effect"
            )
        added = sum(c.points for c in self.criteria)
        if abs(added - self.total) > 1e-9:
            raise ValueError(
                f"{self.kind}评分标准各评分项 points 之和为 {added:g} 分，不等于总分 total = "
                f"{self.total:g}；请调整各项分值使其合计 {self.total:g} 分"
            )
        return self


def _c(key: str, name: str, points: float, guidance: str) -> RubricCriterion:
    return RubricCriterion(key=key, name=name, points=points, guidance=guidance)


DEFAULT_RUBRICS: tuple[Rubric, ...] = (
    Rubric(
        kind=PROBLEM_SOLVING,
        criteria=(
            _c("topic", "选题", 15, "选题理由充分，现状清楚，目标明确可测量并有依据"),
            _c("analysis", "原因分析", 30, "原因分析透彻到末端，要因经现场验证确认，数据充分"),
            _c("measures", "对策与实施", 20, "对策针对要因，逐条实施并检查效果，过程记录完整"),
            _c(EFFECT_KEY, "效果", 20, "目标达成，经济社会效益确实，措施已纳入标准巩固"),
            _c("report", "成果报告", 5, "成果报告真实、完整、逻辑清楚，图表数据规范"),
            _c("features", "特点", 10, "统计方法运用恰当，有推广价值和特色"),
        ),
    ),
    Rubric(
        kind=INNOVATION,
        criteria=(
            _c("topic", "选题", 20, "需求与课题来源清楚，借鉴查新充分，目标可测量"),
            _c("solution", "方案", 30, "提出多个方案并比较论证，最佳方案选择有数据依据"),
            _c("measures", "对策与实施", 20, "对策按最佳方案逐项展开、实施并验证"),
            _c(EFFECT_KEY, "效果", 15, "目标达成，创新成果已转化应用或形成标准、专利"),
            _c("report", "成果报告", 5, "成果报告真实、完整、逻辑清楚，图表数据规范"),
            _c("features", "特点", 10, "创新性突出，方法运用恰当，有推广价值"),
        ),
    ),
)

# 研制/开发/新技术 topics are 创新型; 降低/提高/缩短… topics are 问题解决型 (DOMAIN.md).
_INNOVATION_WORDS = re.compile(r"研制|研发|开发|设计|新技术|新工艺|新方法|创新|技术研究|技术$|构建")


def kind_from_title(title: str) -> str:
    """The kind a title suggests when the form does not say: 创新型 for 研制/开发/新技术 topics,
    else 问题解决型."""
    return INNOVATION if _INNOVATION_WORDS.search(title or "") else PROBLEM_SOLVING


def normalize_kind(value: str, kinds: Sequence[str] = KINDS) -> str | None:
    """ "创新型", "创新型课题", "☑创新型" -> "创新型"; None when it names no kind."""
    text = re.sub(r"[\s□☐■☑✓✔√]", "", value or "")
    if not text:
        return None
    for kind in kinds:
        if text == kind or text.startswith(kind) or text == kind.removesuffix("型"):
            return kind
    return None


def project_kind(
    form_kind: str, title: str, decided: str | None = None, kinds: Sequence[str] = KINDS
) -> str:
    """A project's kind: staff's decision in the audit if any, else the form's 课题类型, else what
    its title suggests."""
    for value in (decided, form_kind):
        kind = normalize_kind(value or "", kinds)
        if kind is not None:
            return kind
    guessed = kind_from_title(title)
    return guessed if guessed in kinds else kinds[0]


def rubric_for(rubrics: Mapping[str, Rubric] | Sequence[Rubric], kind: str) -> Rubric:
    """The rubric of `kind` (the first one when the kind has none)."""
    table = rubrics if isinstance(rubrics, Mapping) else {r.kind: r for r in rubrics}
    return table.get(kind) or next(iter(table.values()))
