"""Stage 7 成果评定, the service: what the other evaluation services share (how results, experts
and panels are named, where a panel's score sheet is) and the staff's decision on the excellent
list. The expert pool is in `services.experts`, the draw and the score sheets in
`services.panels`, the scores and their aggregation in `services.scores`."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from domain.evaluation import (
    EXCELLENT,
    EXCELLENT_DECISION,
    NOT_EXCELLENT,
    EvaluationError,
    expert_label,
    record_key,
    split_list,
)
from domain.rubrics import KIND_DECISION, Rubric, project_kind
from domain.scoring import Criterion
from domain.states import ProjectState
from services.context import CampaignContext, StageReport
from storage import orm
from storage.uow import UnitOfWork

__all__ = [
    "STAGE",
    "EvaluationError",
    "Proposal",
    "aggregated",
    "apply_excellent_decisions",
    "confirm_excellent",
    "excellent_confirmed",
    "excellent_proposal",
    "expert_name",
    "find_panel",
    "panel_sheet_path",
    "panel_title",
    "result_key",
    "result_kinds",
    "rubric_criteria",
    "score_criteria",
    "split_list",
]

log = logging.getLogger(__name__)

STAGE = "evaluation"


# ---------------------------------------------------------------------------------------------
# names


def result_key(app: orm.Application) -> str:
    """How a result is named on sheets and lists (`domain.evaluation.record_key`)."""
    return record_key(app.id, app.plan_number)


def expert_name(expert: orm.Expert) -> str:
    """`张三（E1a2b3c4d）`: the name experts see, with the key the import reads back."""
    return expert_label(expert.name, expert.key)


def panel_title(panel: orm.ExpertPanel) -> str:
    return f"评定组{panel.key}（{panel.chain}）"


def panel_sheet_path(ctx: CampaignContext, panel: orm.ExpertPanel) -> Path:
    """Where the panel's current score sheet is (written when the panel is invited and again
    when a member is replaced)."""
    return ctx.folder(STAGE) / "评分表" / f"{ctx.year}年质量攻关成果评分表_评定组{panel.key}.xlsx"


def score_criteria(rubric: Rubric) -> list[tuple[str, str, float, str]]:
    """A rubric's criteria as the score sheet writes them: `(key, name, maximum, guidance)`."""
    return [(c.key, c.name, c.points, c.guidance) for c in rubric.criteria]


def rubric_criteria(rubric: Rubric) -> tuple[Criterion, ...]:
    """A rubric's criteria as `domain.scoring` checks and adds them."""
    return tuple(Criterion(key=c.key, name=c.name, max_points=c.points) for c in rubric.criteria)


def result_kinds(
    uow: UnitOfWork, ctx: CampaignContext, apps: Iterable[orm.Application]
) -> dict[int, str]:
    """Each application's project kind (课题类型), inside an open unit of work: staff's decision
    in the audit workbook, else its form's 课题类型, else what its title suggests."""
    decided = uow.evaluation.decisions(ctx.campaign_id, KIND_DECISION)
    return {
        a.id: project_kind(
            str((a.form or {}).get("kind", "")),
            a.title,
            decided[a.id].outcome if a.id in decided else None,
            ctx.config.kinds,
        )
        for a in apps
    }


def find_panel(uow: UnitOfWork, ctx: CampaignContext, panel_key: str) -> orm.ExpertPanel:
    """A panel of the year by key, inside an open unit of work; a wrong key is the user's."""
    panel = uow.evaluation.panel(ctx.campaign_id, panel_key)
    if panel is None:
        raise EvaluationError(f"{ctx.year}年没有评定组「{panel_key}」：请核对评定组编号（如 P001）")
    return panel


# ---------------------------------------------------------------------------------------------
# where the stage is


def aggregated(uow: UnitOfWork, ctx: CampaignContext) -> bool:
    """Whether the year's scores have been aggregated (the proposed list exists)."""
    with uow:
        return uow.repo.step_done(ctx.campaign_id, STAGE, "aggregated") is not None


def excellent_confirmed(uow: UnitOfWork, ctx: CampaignContext) -> bool:
    """Whether the staff have confirmed the year's excellent list."""
    with uow:
        return uow.repo.step_done(ctx.campaign_id, STAGE, "excellent_confirmed") is not None


# ---------------------------------------------------------------------------------------------
# the decision on the excellent list


@dataclass
class Proposal:
    threshold: float
    quota: int | None
    rows: list[
        tuple[str, str, str, float, int, int, bool]
    ]  # key, title, chain, score, rank, chain rank, proposed
    kinds: dict[str, str] = field(default_factory=dict)  # result key -> project kind (课题类型)
    by_kind: bool = False  # ranks are within each kind (`[rules] ranking = "by_kind"`)

    def rank_label(self, key: str) -> str:
        """总排名 or 创新型内排名: what a row's rank counts over."""
        return f"{self.kinds.get(key, '')}内排名" if self.by_kind else "总排名"

    @property
    def proposed(self) -> list[str]:
        return [r[0] for r in self.rows if r[6]]


def excellent_proposal(uow: UnitOfWork, ctx: CampaignContext) -> Proposal | None:
    """The ranked results and the proposed list; None before aggregation."""
    with uow:
        if not uow.repo.step_done(ctx.campaign_id, STAGE, "aggregated"):
            return None
        rows = uow.evaluation.scored_results(ctx.campaign_id)
        kinds = result_kinds(uow, ctx, [a for a, _ in rows])
        return Proposal(
            kinds={result_key(a): kinds[a.id] for a, _ in rows},
            by_kind=ctx.rules.ranking == "by_kind",
            threshold=ctx.rules.excellent_threshold,
            quota=ctx.rules.excellent_quota,
            rows=[
                (result_key(a), a.title, a.chain, s.score, s.rank, s.rank_in_chain, s.excellent)
                for a, s in rows
            ],
        )


def _check_adjustments(
    proposal: Proposal, exclude: set[str], include: set[str], reason: str
) -> None:
    unknown = sorted((exclude | include) - {r[0] for r in proposal.rows})
    if unknown:
        raise EvaluationError(
            "以下成果编号不在评分结果中",
            [f"成果编号「{k}」：请核对（见评分汇总表）" for k in unknown],
        )
    if (exclude or include) and not reason.strip():
        raise EvaluationError("调整拟认定名单时请填写理由（--reason）")


def _decision_reason(
    row: tuple[str, str, str, float, int, int, bool],
    proposal: Proposal,
    exclude: set[str],
    include: set[str],
    reason: str,
) -> str:
    key, _title, _chain, score, rnk, chain_rank, proposed = row
    threshold = proposal.threshold
    kind = proposal.kinds.get(key, "")
    why = (
        f"评定得分{score:g}分（{kind}评分标准），{proposal.rank_label(key)}第{rnk}名，"
        f"产业链内第{chain_rank}名"
    )
    if key in exclude:
        return why + f"；拟认定名单中调出：{reason}"
    if key in include:
        return why + f"；增补认定：{reason}"
    if proposed:
        return why + f"；达到优秀成果分数线{threshold:g}分"
    return why + f"；未达到优秀成果分数线{threshold:g}分或超出名额"


def confirm_excellent(
    uow: UnitOfWork,
    ctx: CampaignContext,
    decided_by: str,
    *,
    source: str,
    exclude: Iterable[str] = (),
    include: Iterable[str] = (),
    reason: str = "",
) -> tuple[int, int]:
    """Staff confirm the excellent list: a Decision(kind="excellent") per scored result.
    `exclude` takes proposed results off the list, `include` adds scored ones (both by result
    key, with `reason`). Returns (excellent, not excellent)."""
    if not decided_by.strip():
        raise EvaluationError("请填写确认人姓名（--by）")
    proposal = excellent_proposal(uow, ctx)
    if proposal is None:
        raise EvaluationError(f"{ctx.year}年成果评分尚未汇总，暂不能确认优秀成果名单")
    exclude_set, include_set = set(exclude), set(include)
    _check_adjustments(proposal, exclude_set, include_set, reason)
    counts = [0, 0]
    with uow:
        if uow.repo.step_done(ctx.campaign_id, STAGE, "excellent_confirmed"):
            raise EvaluationError(f"{ctx.year}年优秀成果名单已确认，不能重复确认")
        apps = {result_key(a): a for a in uow.repo.applications(ctx.campaign_id)}
        for row in proposal.rows:
            key, proposed = row[0], row[6]
            chosen = (proposed and key not in exclude_set) or key in include_set
            uow.add(
                orm.Decision(
                    campaign_id=ctx.campaign_id,
                    application_id=apps[key].id,
                    kind=EXCELLENT_DECISION,
                    outcome=EXCELLENT if chosen else NOT_EXCELLENT,
                    reason=_decision_reason(row, proposal, exclude_set, include_set, reason),
                    decided_by=decided_by,
                    decided_at=ctx.now,
                    source=source,
                )
            )
            counts[0 if chosen else 1] += 1
        uow.repo.mark_step(
            ctx.campaign_id,
            STAGE,
            "excellent_confirmed",
            as_of=ctx.now,
            summary={"by": decided_by, "source": source, "excellent": counts[0], "not": counts[1]},
        )
        uow.commit()
    log.info("优秀成果名单已确认（%s）：认定%d项，不予认定%d项", decided_by, *counts)
    return counts[0], counts[1]


def _move_decided(uow: UnitOfWork, ctx: CampaignContext) -> list[int]:
    """Each results_submitted project to excellent / evaluated by its decision; counts of
    (excellent, evaluated, unscored)."""
    decisions = uow.evaluation.excellent_decisions(ctx.campaign_id)
    moved = [0, 0, 0]
    for app in uow.repo.applications(ctx.campaign_id, [ProjectState.RESULTS_SUBMITTED]):
        d = decisions.get(app.id)
        if d is None:
            uow.repo.move(
                app,
                ProjectState.EVALUATED,
                at=ctx.now,
                actor="rule:scores_due",
                reason="评分截止时没有有效专家评分，未参加排名",
            )
            moved[2] += 1
            continue
        target = ProjectState.EXCELLENT if d.outcome == EXCELLENT else ProjectState.EVALUATED
        uow.repo.move(app, target, at=ctx.now, actor=d.decided_by, reason=d.reason)
        moved[0 if target == ProjectState.EXCELLENT else 1] += 1
    return moved


def apply_excellent_decisions(uow: UnitOfWork, ctx: CampaignContext) -> StageReport:
    """Move each decided result: results_submitted -> excellent / evaluated, with its reason."""
    report = StageReport.start(STAGE, ctx)
    with uow:
        if uow.repo.step_done(ctx.campaign_id, STAGE, "states_applied"):
            report.complete = True
            return report
        if not uow.repo.step_done(ctx.campaign_id, STAGE, "excellent_confirmed"):
            report.waiting.append(
                "等待质量发展处确认优秀成果名单（仪表盘确认表单，或 "
                f"qcamp evaluation confirm --year {ctx.year} --by 姓名）"
            )
            return report
        moved = _move_decided(uow, ctx)
        uow.repo.mark_step(
            ctx.campaign_id,
            STAGE,
            "states_applied",
            as_of=ctx.now,
            summary={"excellent": moved[0], "evaluated": moved[1], "unscored": moved[2]},
        )
        uow.commit()
    report.done.append(
        f"按确认的名单更新状态：拟认定优秀成果{moved[0]}项，已评定{moved[1]}项"
        + (f"，无评分{moved[2]}项" if moved[2] else "")
    )
    report.counts["拟认定优秀成果"] = moved[0]
    report.complete = True
    return report
