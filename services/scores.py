"""成果评定's scores: the import of a panel's returned score workbook (safety-checked, read by
`documents.reports`, every cell checked by `domain.scoring`), who has not scored yet, and the
aggregation into each result's score, the ranking and the proposed excellent list."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from documents.reports import read_score_sheet
from documents.rows import ExpertScoreSheet, ScoreWorkbook
from documents.safety import UnreadableFile
from domain.calendar import SHANGHAI
from domain.evaluation import (
    EXPERT_IN_SHEET,
    OUTLIERS_LISTED,
    PANEL_IN_SHEET,
    EvaluationError,
)
from domain.scoring import (
    DEFAULT_CRITERIA,
    TRIM_MIN_PANEL,
    Criterion,
    ExcellentList,
    Outlier,
    RankedRow,
    ResultScore,
    aggregate,
    check_expert_sheet,
    excellent,
    outliers,
    rank,
    sheet_is_blank,
)
from domain.states import ProjectState
from services.context import CampaignContext, StageReport
from services.evaluation import STAGE, find_panel, result_key, result_kinds, rubric_criteria
from services.operators import SYSTEM_ACTOR, record_action
from storage import orm
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# the import of a returned score workbook


class ScoreImport(BaseModel):
    """What a score workbook's import stored."""

    panel_key: str
    experts: list[str]
    rows: int


def _read_workbook(xlsx: Path | str) -> ScoreWorkbook:
    path = Path(xlsx)
    name = path.name
    try:
        workbook = read_score_sheet(path)
    except FileNotFoundError as exc:
        raise EvaluationError(f"找不到评分表文件 {path}：请检查路径") from exc
    except UnreadableFile as exc:  # too large, macros, encrypted, old format, broken
        raise EvaluationError(f"无法读取评分表 {name}：{exc.message}") from exc
    except ValueError as exc:
        raise EvaluationError(
            f"{name} 不是本系统生成的评分表（缺少隐藏工作表 _meta）：请在下发的评分表上填写"
        ) from exc
    return workbook


def _cells(sheet: ExpertScoreSheet, letters: dict[str, str]) -> list[tuple[int, str, str, Any]]:
    """`(row, result key, column letter, value)` of an expert's sheet, row by row."""
    return [
        (row.row, row.result_key, letters[key], row.scores.get(key))
        for row in sheet.rows
        for key in letters
    ]


def _rubric_problem(
    name: str, ctx: CampaignContext, sheet: ExpertScoreSheet, workbook: ScoreWorkbook
) -> str | None:
    """Why a sheet's criteria are not its kind's rubric in the campaign's config, if they are not."""
    if not sheet.kind:
        return None
    if sheet.kind not in ctx.config.kinds:
        return (
            f"{name} 工作表「{sheet.sheet}」的课题类型「{sheet.kind}」没有评分标准"
            f"（本年度为：{'、'.join(ctx.config.kinds)}）：请使用重新下发的评分表"
        )
    wanted = [(c.key, c.points) for c in ctx.config.rubric(sheet.kind).criteria]
    found = [(c.key, c.max_points) for c in workbook.criteria if c.kind == sheet.kind]
    if wanted != found:
        return (
            f"{name} 工作表「{sheet.sheet}」的评分项与本年度{sheet.kind}评分标准不一致"
            "（评分标准已修改）：请使用重新下发的评分表"
        )
    return None


def _check_workbook(
    name: str,
    ctx: CampaignContext,
    workbook: ScoreWorkbook,
    panel: orm.ExpertPanel,
    kinds: dict[str, str],
) -> tuple[list[str], dict[tuple[str, str], dict[str, float]], list[str]]:
    """The experts who filled their sheet, their scores by (expert key, result key), and every
    problem found (nothing is stored when there is one). `kinds` is each result key's project
    kind; an expert's sheet of one kind must hold exactly the results of that kind."""
    filled: list[str] = []
    collected: dict[tuple[str, str], dict[str, float]] = {}
    problems: list[str] = []
    for sheet in workbook.sheets:
        if not sheet.has_result_keys:
            problems.append(
                f"{name} 工作表「{sheet.sheet}」第2行缺少表头「成果编号」：请勿修改表头"
            )
            continue
        of_kind = [c for c in workbook.criteria if c.kind == sheet.kind]
        columns = {
            c.column: Criterion(key=c.key, name=c.name, max_points=c.max_points) for c in of_kind
        }
        cells = _cells(sheet, {c.key: c.column for c in of_kind})
        if sheet_is_blank(cells):
            continue  # this expert has not scored yet
        if wrong := _rubric_problem(name, ctx, sheet, workbook):
            problems.append(wrong)
            continue
        result_keys = [k for k, kind in kinds.items() if not sheet.kind or kind == sheet.kind]
        m = EXPERT_IN_SHEET.search(sheet.expert)
        key = m.group(1) if m else ""
        if key not in panel.members:
            problems.append(
                f"{name} 工作表「{sheet.sheet}」：专家 {sheet.expert} 已不是评定组{panel.key}的成员"
                "（已谢绝或被替换），其评分不予接收：请删除该工作表中的评分"
            )
            continue
        if key not in filled:
            filled.append(key)
        scores, found = check_expert_sheet(
            name, sheet.sheet, panel.key, cells, columns, result_keys
        )
        problems += found
        collected.update({(key, rk): s for rk, s in scores.items()})
    return filled, collected, problems


def _store_scores(
    uow: UnitOfWork,
    panel: orm.ExpertPanel,
    apps: dict[str, orm.Application],
    collected: dict[tuple[str, str], dict[str, float]],
) -> None:
    existing = uow.evaluation.panel_scores(panel.id)
    for (ekey, rk), scores in collected.items():
        app = apps[rk]
        total = round(math.fsum(scores.values()), 2)
        row = existing.get((ekey, app.id))
        if row is None:
            uow.add(
                orm.PanelScore(
                    panel_id=panel.id,
                    application_id=app.id,
                    expert_key=ekey,
                    scores=scores,
                    total=total,
                )
            )
        else:
            row.scores = scores
            row.total = total


def import_scores(
    uow: UnitOfWork, ctx: CampaignContext, xlsx: Path | str, *, actor: str = SYSTEM_ACTOR
) -> ScoreImport:
    """Take one panel's filled score workbook. Every sheet an expert filled must be complete and
    in range; each wrong cell is named (sheet, row, column, value, allowed range) and nothing is
    stored if any is wrong. Blank sheets (experts who have not scored yet) are skipped."""
    name = Path(xlsx).name
    workbook = _read_workbook(xlsx)
    found = PANEL_IN_SHEET.search(workbook.panel)
    if not found:
        raise EvaluationError(f"{name} 的评定组信息缺失：请使用下发的原评分表")
    with uow:
        if uow.repo.step_done(ctx.campaign_id, STAGE, "aggregated"):
            raise EvaluationError(f"{ctx.year}年成果评分已汇总，不再接收评分表 {name}")
        panel = find_panel(uow, ctx, found.group(1))
        apps = {result_key(a): a for a in uow.evaluation.panel_applications(panel)}
        kind_of = result_kinds(uow, ctx, apps.values())
        kinds = {k: kind_of[a.id] for k, a in apps.items()}
        filled, collected, problems = _check_workbook(name, ctx, workbook, panel, kinds)
        if problems:
            raise EvaluationError(
                f"评分表 {name} 有{len(problems)}处错误，本次未保存任何评分", problems
            )
        if not filled:
            raise EvaluationError(f"评分表 {name} 中没有任何专家填写的评分：请填写后再导入")
        _store_scores(uow, panel, apps, collected)
        detail = {"file": name, "panel": panel.key, "experts": list(filled)}
        record_action(uow, "scores_import", actor, detail, ctx)
        uow.commit()
        log.info("评定组%s评分已导入：%d位专家，%d条", panel.key, len(filled), len(collected))
        return ScoreImport(panel_key=panel.key, experts=filled, rows=len(collected))


# ---------------------------------------------------------------------------------------------
# who has not scored


def missing_scores(uow: UnitOfWork, ctx: CampaignContext) -> dict[str, list[str]]:
    """Panel key -> the labels of members who have not scored every result of the panel
    (inside an open unit of work)."""
    have = uow.evaluation.scores_per_expert(ctx.campaign_id)
    names = uow.evaluation.expert_names()
    missing: dict[str, list[str]] = {}
    for panel in uow.evaluation.panels(ctx.campaign_id):
        need = len(panel.application_ids)
        lacking = [
            f"{names.get(k, k)}（{k}）"
            for k in panel.members
            if have.get(panel.id, {}).get(k, 0) < need
        ]
        if lacking:
            missing[panel.key] = lacking
    return missing


# ---------------------------------------------------------------------------------------------
# aggregation


class _Aggregated(BaseModel):
    application_id: int
    key: str
    chain: str
    kind: str = ""  # project kind (课题类型): the rubric it was scored on
    score: ResultScore


def aggregate_panels(
    rows: Iterable[tuple[int, str, str, str, dict[str, float]]],
    criteria: Mapping[int, Sequence[Criterion]] | None = None,
    kinds: Mapping[int, str] | None = None,
    trim_min: int = TRIM_MIN_PANEL,
) -> list[_Aggregated]:
    """`(application_id, result_key, chain, expert_key, scores)` rows -> each result's score,
    on the criteria of its own rubric (`criteria` by application id; the default sheet else)."""
    by_app: dict[int, tuple[str, str, dict[str, dict[str, float]]]] = {}
    for app_id, key, chain, ekey, scores in rows:
        by_app.setdefault(app_id, (key, chain, {}))[2][ekey] = scores
    return [
        _Aggregated(
            application_id=app_id,
            key=key,
            chain=chain,
            kind=(kinds or {}).get(app_id, ""),
            score=aggregate(
                sheets,
                (criteria or {}).get(app_id, DEFAULT_CRITERIA),
                trim_min=trim_min,
                result_key=key,
            ),
        )
        for app_id, (key, chain, sheets) in by_app.items()
    ]


def _missing_line(ctx: CampaignContext, missing: dict[str, list[str]]) -> str:
    return (
        f"评分截止 {ctx.calendar.scores_due.astimezone(SHANGHAI):%Y-%m-%d %H:%M}，"
        f"尚有{len(missing)}个评定组未交齐评分："
        + "；".join(f"评定组{k}：{'、'.join(v)}" for k, v in list(missing.items())[:10])
    )


def _aggregate_stored(
    uow: UnitOfWork, ctx: CampaignContext, panels: Sequence[orm.ExpertPanel]
) -> tuple[dict[int, orm.Application], list[_Aggregated] | None]:
    """The results to rank and each scored one's score, from its current members' sheets
    (None when no score has been stored at all)."""
    apps = {
        a.id: a for a in uow.repo.applications(ctx.campaign_id, [ProjectState.RESULTS_SUBMITTED])
    }
    members = {p.id: set(p.members) for p in panels}
    score_rows = uow.evaluation.score_rows(list(members))
    if not score_rows:
        return apps, None
    kinds = result_kinds(uow, ctx, apps.values())
    criteria = {i: rubric_criteria(ctx.config.rubric(k)) for i, k in kinds.items()}
    aggregated = aggregate_panels(
        (
            (
                app_id,
                result_key(apps[app_id]),
                apps[app_id].chain,
                ekey,
                dict(scores),
            )
            for panel_id, app_id, ekey, scores in score_rows
            if app_id in apps and ekey in members[panel_id]
        ),
        criteria,
        kinds,
        trim_min=ctx.rules.trim_min_panel,
    )
    return apps, aggregated


def rank_and_select(
    ctx: CampaignContext, aggregated: Sequence[_Aggregated]
) -> tuple[list[RankedRow], ExcellentList]:
    """Ranks and the proposed excellent list: over all results (`[rules] ranking = "overall"`)
    or within each project kind (`"by_kind"`: ranks, threshold and quota per kind)."""
    rules = ctx.rules
    if rules.ranking == "overall":
        ranked = rank((a.key, a.chain, a.score) for a in aggregated)
        return ranked, excellent(ranked, rules.excellent_threshold, rules.excellent_quota)
    ranked, selected, over = [], [], []
    for kind in ctx.config.kinds:
        group = rank((a.key, a.chain, a.score) for a in aggregated if a.kind == kind)
        proposal = excellent(group, rules.excellent_threshold, rules.excellent_quota)
        ranked += group
        selected += proposal.selected
        over += proposal.over_quota
    return ranked, ExcellentList(
        threshold=rules.excellent_threshold,
        quota=rules.excellent_quota,
        selected=selected,
        over_quota=over,
    )


def _store_ranking(
    uow: UnitOfWork, aggregated: list[_Aggregated], ranked: list[RankedRow], proposed: set[str]
) -> None:
    by_key = {a.key: a for a in aggregated}
    existing = uow.evaluation.result_scores([a.application_id for a in aggregated])
    for row in ranked:
        agg = by_key[row.result_key]
        values = {
            "score": row.score,
            "effect_score": row.effect_score,
            "rank": row.overall_rank,
            "rank_in_chain": row.chain_rank,
            "excellent": row.result_key in proposed,
        }
        record = existing.get(agg.application_id)
        if record is None:
            uow.add(orm.ResultScore(application_id=agg.application_id, **values))
        else:
            for attr, value in values.items():
                setattr(record, attr, value)


def _aggregated_report(
    report: StageReport,
    ctx: CampaignContext,
    ranked: list[RankedRow],
    proposed: set[str],
    missing: dict[str, list[str]],
    flagged: list[Outlier],
) -> None:
    report.done.append(
        f"汇总评分：{len(ranked)}项成果（去掉一个最高分和一个最低分后取平均），"
        f"拟认定优秀成果{len(proposed)}项（{ctx.rules.excellent_threshold:g}分及以上"
        + (f"，名额{ctx.rules.excellent_quota}项" if ctx.rules.excellent_quota else "")
        + "）"
    )
    if missing:
        report.done.append(
            "评分截止时未交齐："
            + "；".join(f"评定组{k}：{'、'.join(v)}" for k, v in missing.items())
        )
    for o in flagged[:OUTLIERS_LISTED]:
        report.done.append(f"评分偏离提示：{o.message}")
    if len(flagged) > OUTLIERS_LISTED:
        report.done.append(f"另有{len(flagged) - OUTLIERS_LISTED}处评分偏离提示，见评分汇总记录")
    report.counts["已评分成果"] = len(ranked)
    report.counts["拟认定优秀成果"] = len(proposed)
    report.counts["评分偏离提示"] = len(flagged)


def _aggregation_summary(
    ctx: CampaignContext,
    ranked: list[RankedRow],
    proposal: ExcellentList,
    missing: dict[str, list[str]],
    unscored: list[str],
    flagged: list[Outlier],
) -> dict[str, Any]:
    return {
        "results": len(ranked),
        "proposed": len(proposal.selected),
        "over_quota": [r.result_key for r in proposal.over_quota],
        "threshold": ctx.rules.excellent_threshold,
        "quota": ctx.rules.excellent_quota,
        "missing": missing,
        "unscored": unscored,
        "outliers": [o.model_dump() for o in flagged],
    }


def aggregate_scores(uow: UnitOfWork, ctx: CampaignContext) -> StageReport:
    """When every panel has scored (or at the scores deadline, with what is in): each result's
    score, ranks overall and per chain, the proposed excellent list; outliers flagged. Whether
    it has happened (now or before) is `services.evaluation.aggregated`."""
    report = StageReport.start(STAGE, ctx)
    with uow:
        if uow.repo.step_done(ctx.campaign_id, STAGE, "aggregated"):
            return report
        missing = missing_scores(uow, ctx)
        if missing and not ctx.is_due(ctx.calendar.scores_due):
            report.waiting.append(_missing_line(ctx, missing))
            return report
        panels = uow.evaluation.panels(ctx.campaign_id)
        if not panels:
            return report
        apps, aggregated = _aggregate_stored(uow, ctx, panels)
        if aggregated is None:
            report.waiting.append("评分截止时间已过，但尚未收到任何评分表：请催交后导入")
            return report
        ranked, proposal = rank_and_select(ctx, aggregated)
        proposed = {r.result_key for r in proposal.selected}
        _store_ranking(uow, aggregated, ranked, proposed)
        flagged = outliers(
            {a.key: dict(a.score.expert_totals) for a in aggregated},
            threshold=ctx.rules.outlier_points,
        )
        scored = {x.application_id for x in aggregated}
        unscored = sorted(result_key(a) for i, a in apps.items() if i not in scored)
        summary = _aggregation_summary(ctx, ranked, proposal, missing, unscored, flagged)
        uow.repo.mark_step(ctx.campaign_id, STAGE, "aggregated", as_of=ctx.now, summary=summary)
        uow.commit()
    _aggregated_report(report, ctx, ranked, proposed, missing, flagged)
    return report
