"""Evaluation of results (成果评定): score sheets, a result's score, ranking, the excellent list.

Defaults follow DOMAIN.md (the local standard DB12/T 1273-2023 governs; every value is a
parameter so a campaign can change it):

* a 100-point sheet over six criteria (`DEFAULT_CRITERIA`);
* a result's score is the trimmed mean of the experts' totals: with 5 or more experts the single
  highest and the single lowest total are dropped, the rest averaged; rounded half-up to 2 places;
* ranking by score, ties broken by the effect criterion's score (computed the same trimmed way),
  then by result key so the order is stable;
* excellent = score at or above the threshold (default 85), optionally capped by a quota.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel, ConfigDict, Field

from domain.models import Finding, Severity

EFFECT_KEY = "effect"
TRIM_MIN_PANEL = 5  # drop highest and lowest only when at least this many experts scored


class Criterion(BaseModel):
    """One line of the score sheet (评分项)."""

    model_config = ConfigDict(frozen=True)

    key: str
    name: str
    max_points: float


DEFAULT_CRITERIA: tuple[Criterion, ...] = (
    Criterion(key="topic", name="选题", max_points=10),
    Criterion(key="analysis", name="现状调查与原因分析", max_points=20),
    Criterion(key="measures", name="对策制定与实施", max_points=25),
    Criterion(key=EFFECT_KEY, name="效果（目标达成及经济社会效益）", max_points=25),
    Criterion(key="standardisation", name="标准化与推广", max_points=10),
    Criterion(key="presentation", name="成果表达", max_points=10),
)


class ScoreError(ValueError):
    """A score sheet has wrong cells; `findings` names each one (in Chinese)."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        super().__init__("；".join(f.message for f in findings))


class ResultScore(BaseModel):
    """A result's score from its panel's sheets."""

    score: float  # trimmed mean of the totals, 2 places
    effect_score: float  # trimmed mean of the effect criterion, 2 places (tie-break)
    expert_totals: dict[str, float]
    panel_size: int
    trimmed: bool  # highest and lowest dropped
    dropped_high: str | None = None  # expert key whose total was dropped as highest
    dropped_low: str | None = None


class RankedRow(BaseModel):
    result_key: str
    chain: str
    score: float
    effect_score: float
    overall_rank: int
    chain_rank: int
    tie_note: str = ""  # 并列说明: how a tie on score with the row above was broken


class ExcellentList(BaseModel):
    threshold: float
    quota: int | None
    selected: list[RankedRow] = Field(default_factory=list)
    over_quota: list[RankedRow] = Field(default_factory=list)  # reached threshold, cut by quota


class Outlier(BaseModel):
    result_key: str
    expert_key: str
    total: float
    others_mean: float  # mean of the other experts' totals for this result
    deviation: float  # total - others_mean
    message: str


def round2(x: float) -> float:
    """Round half-up to 2 places (85.125 -> 85.13), as people do by hand, not banker's rounding."""
    return float(Decimal(repr(x)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def trimmed_mean(values: Sequence[float], trim_min: int = TRIM_MIN_PANEL) -> float:
    """Mean after dropping the single highest and lowest value when there are >= `trim_min`."""
    if not values:
        raise ValueError("没有评分")
    ordered = sorted(values)
    if len(ordered) >= trim_min:
        ordered = ordered[1:-1]
    return math.fsum(ordered) / len(ordered)


def _criteria_by_key(criteria: Iterable[Criterion]) -> dict[str, Criterion]:
    return {c.key: c for c in criteria}


def _fmt(x: object) -> str:
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


SCORE_MISSING = "score.missing"
SCORE_NOT_A_NUMBER = "score.not_a_number"
SCORE_OUT_OF_RANGE = "score.out_of_range"
SCORE_UNKNOWN_CRITERION = "score.unknown_criterion"
SCORE_EMPTY = "score.empty"


def is_blank(raw: object) -> bool:
    """A cell nobody filled: nothing, or only spaces."""
    return raw is None or (isinstance(raw, str) and not raw.strip())


def parse_points(raw: object) -> float | None:
    """The points a cell holds (a number, or text of one); None when it is not a finite number."""
    value: float | None
    if isinstance(raw, bool):
        value = None
    elif isinstance(raw, int | float):
        value = float(raw)
    elif isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            value = None
    else:
        value = None
    if value is None or math.isnan(value) or math.isinf(value):
        return None
    return value


def check_points(raw: object, criterion: Criterion) -> tuple[str | None, float | None]:
    """The one check of a score: `(None, points)` when it is a number in 0..max, else the
    finding code (missing, not a number, out of range) and the number read, if any."""
    if is_blank(raw):
        return SCORE_MISSING, None
    value = parse_points(raw)
    if value is None:
        return SCORE_NOT_A_NUMBER, None
    if not 0 <= value <= criterion.max_points:
        return SCORE_OUT_OF_RANGE, value
    return None, value


def validate_score_row(
    expert_key: str,
    row: Mapping[str, object],
    criteria: Sequence[Criterion] = DEFAULT_CRITERIA,
    *,
    result_key: str = "",
) -> list[Finding]:
    """Check one expert's sheet for one result; one finding per wrong cell, naming the criterion,
    the value and the allowed range. An empty list means the row is good."""
    by_key = _criteria_by_key(criteria)
    where = f"成果 {result_key} " if result_key else ""
    findings: list[Finding] = []
    for c in criteria:
        raw = row.get(c.key)
        code, value = check_points(raw, c)
        top = _fmt(c.max_points)
        if code == SCORE_MISSING:
            message = f"{where}专家 {expert_key} 未填写「{c.name}」得分（应为 0～{top} 分）"
            detail: dict[str, object] = {"expert": expert_key, "criterion": c.name}
        elif code == SCORE_NOT_A_NUMBER:
            message = (
                f"{where}专家 {expert_key} 的「{c.name}」得分「{raw}」不是有效数字"
                f"（应为 0～{top} 分）"
            )
            detail = {"expert": expert_key, "criterion": c.name, "value": str(raw)}
        elif code == SCORE_OUT_OF_RANGE:
            message = (
                f"{where}专家 {expert_key} 的「{c.name}」得分 {_fmt(value)} "
                f"超出允许范围 0～{top} 分"
            )
            detail = {
                "expert": expert_key,
                "criterion": c.name,
                "value": value,
                "max": c.max_points,
            }
        else:
            continue
        findings.append(
            Finding(code=code, severity=Severity.ERROR, field=c.key, message=message, detail=detail)
        )
    for key in row:
        if key not in by_key:
            findings.append(
                Finding(
                    code=SCORE_UNKNOWN_CRITERION,
                    severity=Severity.ERROR,
                    field=str(key),
                    message=f"{where}专家 {expert_key} 的评分表含未知评分项「{key}」",
                    detail={"expert": expert_key},
                )
            )
    return findings


def validate_score_sheet(
    scores: Mapping[str, Mapping[str, object]],
    criteria: Sequence[Criterion] = DEFAULT_CRITERIA,
    *,
    result_key: str = "",
) -> list[Finding]:
    """`validate_score_row` over every expert of a result's panel."""
    findings: list[Finding] = []
    if not scores:
        where = f"成果 {result_key} " if result_key else ""
        findings.append(
            Finding(
                code=SCORE_EMPTY,
                severity=Severity.ERROR,
                message=f"{where}没有任何专家评分",
            )
        )
    for expert_key, row in scores.items():
        findings.extend(validate_score_row(expert_key, row, criteria, result_key=result_key))
    return findings


def expert_total(
    row: Mapping[str, float], criteria: Sequence[Criterion] = DEFAULT_CRITERIA
) -> float:
    return math.fsum(float(row[c.key]) for c in criteria)


def aggregate(
    scores: Mapping[str, Mapping[str, float]],
    criteria: Sequence[Criterion] = DEFAULT_CRITERIA,
    *,
    trim_min: int = TRIM_MIN_PANEL,
    effect_key: str = EFFECT_KEY,
    result_key: str = "",
) -> ResultScore:
    """A result's score from `{expert_key: {criterion_key: points}}`.

    Each expert's total is the sum of their criteria. With `trim_min` (5) or more experts the single
    highest and the single lowest total are dropped and the rest averaged; fewer experts are simply
    averaged. The effect criterion's score is the same trimmed mean taken over the experts' effect
    points (its own highest and lowest dropped), used to break ties. Raises `ScoreError` naming
    every wrong cell when a sheet is incomplete or out of range.
    """
    findings = validate_score_sheet(scores, criteria, result_key=result_key)
    if findings:
        raise ScoreError(findings)
    if effect_key not in _criteria_by_key(criteria):
        raise ValueError(f"评分表中没有「{effect_key}」评分项")
    totals = {e: round2(expert_total(row, criteria)) for e, row in scores.items()}
    effects = [float(row[effect_key]) for row in scores.values()]
    trimmed = len(totals) >= trim_min
    dropped_high = dropped_low = None
    if trimmed:
        # Deterministic choice among equal totals: lowest key is "the" highest/lowest.
        dropped_high = min(totals, key=lambda e: (-totals[e], e))
        dropped_low = min((e for e in totals if e != dropped_high), key=lambda e: (totals[e], e))
    return ResultScore(
        score=round2(trimmed_mean(list(totals.values()), trim_min)),
        effect_score=round2(trimmed_mean(effects, trim_min)),
        expert_totals=totals,
        panel_size=len(totals),
        trimmed=trimmed,
        dropped_high=dropped_high,
        dropped_low=dropped_low,
    )


def rank(results: Iterable[tuple[str, str, ResultScore]]) -> list[RankedRow]:
    """Rank `(result_key, chain, ResultScore)` overall and within each chain.

    Order: score descending, then effect score descending, then result key ascending. Ranks are
    1, 2, 3... without gaps or shared places (the tie-breaks decide); `tie_note` says in Chinese how
    a tie on score with the row above was broken, for the people who sign the list.
    """
    rows = sorted(results, key=lambda r: (-r[2].score, -r[2].effect_score, r[0]))
    ranked: list[RankedRow] = []
    per_chain: dict[str, int] = {}
    previous: tuple[str, str, ResultScore] | None = None
    for i, (key, chain, rs) in enumerate(rows, start=1):
        per_chain[chain] = per_chain.get(chain, 0) + 1
        note = ""
        if previous is not None and previous[2].score == rs.score:
            if previous[2].effect_score != rs.effect_score:
                note = f"与 {previous[0]} 总分并列（{_fmt(rs.score)}），按效果得分排序"
            else:
                note = f"与 {previous[0]} 总分及效果得分均并列，按成果编号排序"
        ranked.append(
            RankedRow(
                result_key=key,
                chain=chain,
                score=rs.score,
                effect_score=rs.effect_score,
                overall_rank=i,
                chain_rank=per_chain[chain],
                tie_note=note,
            )
        )
        previous = (key, chain, rs)
    return ranked


def by_chain(ranked: Iterable[RankedRow]) -> dict[str, list[RankedRow]]:
    """The ranked rows grouped per chain, each list in chain-rank order."""
    groups: dict[str, list[RankedRow]] = {}
    for row in sorted(ranked, key=lambda r: (r.chain, r.chain_rank)):
        groups.setdefault(row.chain, []).append(row)
    return groups


def _as_total(value: float | Mapping[str, float]) -> float:
    if isinstance(value, Mapping):
        return math.fsum(float(v) for v in value.values())
    return float(value)


def outliers(
    panel_scores: Mapping[str, Mapping[str, float | Mapping[str, float]]],
    threshold: float = 15.0,
) -> list[Outlier]:
    """Experts whose total for a result is more than `threshold` points from the others' mean.

    `panel_scores` is `{result_key: {expert_key: total or {criterion: points}}}`. We compare an
    expert with the mean of the *other* experts on the panel (leave-one-out), in points, not a
    z-score: points are what the panel chair reads on the sheet, and with 5-7 experts a z-score is
    unstable and an expert's own score would pull the plain mean towards itself. Panels of fewer than
    3 experts are skipped (two experts apart would both be flagged; nobody is "the" outlier).
    """
    found: list[Outlier] = []
    for result_key in sorted(panel_scores):
        totals = {e: _as_total(v) for e, v in panel_scores[result_key].items()}
        if len(totals) < 3:
            continue
        grand = math.fsum(totals.values())
        for expert_key in sorted(totals):
            total = totals[expert_key]
            others = (grand - total) / (len(totals) - 1)
            deviation = total - others
            if abs(deviation) > threshold:
                direction = "高于" if deviation > 0 else "低于"
                found.append(
                    Outlier(
                        result_key=result_key,
                        expert_key=expert_key,
                        total=round2(total),
                        others_mean=round2(others),
                        deviation=round2(deviation),
                        message=(
                            f"成果 {result_key}：专家 {expert_key} 总分 {_fmt(round2(total))}，"
                            f"{direction}其他专家平均分 {_fmt(round2(others))} 达 "
                            f"{_fmt(round2(abs(deviation)))} 分（阈值 {_fmt(threshold)} 分），请核实"
                        ),
                    )
                )
    return found


def excellent(
    ranked: Sequence[RankedRow], threshold: float = 85.0, quota: int | None = None
) -> ExcellentList:
    """The proposed excellent list: rows scoring at or above `threshold`, in rank order, at most
    `quota` of them. Rows that reached the threshold but fell outside the quota are returned in
    `over_quota`, so the decision is visible."""
    if quota is not None and quota < 0:
        raise ValueError("优秀成果名额不能为负数")
    qualified = [r for r in sorted(ranked, key=lambda r: r.overall_rank) if r.score >= threshold]
    cut = len(qualified) if quota is None else quota
    return ExcellentList(
        threshold=threshold,
        quota=quota,
        selected=qualified[:cut],
        over_quota=qualified[cut:],
    )


# ---------------------------------------------------------------------------------------------
# a returned score sheet: one expert's cells, checked cell by cell


def sheet_is_blank(cells: Iterable[tuple[int, str, str, object]]) -> bool:
    """True when an expert has not filled any cell of their sheet yet."""
    return all(is_blank(value) for *_, value in cells)


def _cell_problem(where: str, code: str, raw: object, value: float | None, top: float) -> str:
    if code == SCORE_MISSING:
        return f"{where}：未填写，应为 0～{top:g} 分"
    if code == SCORE_NOT_A_NUMBER:
        return f"{where}：「{raw}」不是数字，应为 0～{top:g} 分"
    return f"{where}：{value:g} 超出允许范围 0～{top:g} 分"


def check_expert_sheet(
    file: str,
    sheet: str,
    panel_key: str,
    cells: Iterable[tuple[int, str, str, object]],
    columns: Mapping[str, Criterion],
    result_keys: Collection[str],
) -> tuple[dict[str, dict[str, float]], list[str]]:
    """One expert's sheet of a returned score workbook: `cells` are `(row, result key, column
    letter, value)`, `columns` the criterion of each letter. Returns the scores by result key
    and, in Chinese, every wrong cell (sheet, row, column, value, allowed range), every result
    key that is not the panel's and every result row that is missing (completeness)."""
    scores: dict[str, dict[str, float]] = {}
    problems: list[str] = []
    seen: set[str] = set()
    first_letter = next(iter(columns), None)
    for row, result, letter, raw in cells:
        criterion = columns[letter]
        if result not in result_keys:
            if letter == first_letter:
                problems.append(
                    f"{file} 工作表「{sheet}」第{row}行：成果编号「{result}」不属于评定组"
                    f"{panel_key}，请勿修改成果编号"
                )
            continue
        seen.add(result)
        code, value = check_points(raw, criterion)
        if code is None:
            scores.setdefault(result, {})[criterion.key] = value  # type: ignore[assignment]
            continue
        header = f"{criterion.name}（{criterion.max_points:g}分）"
        where = f"{file} 工作表「{sheet}」第{row}行 {letter}列「{header}」"
        problems.append(_cell_problem(where, code, raw, value, criterion.max_points))
    for result in sorted(set(result_keys) - seen):
        problems.append(f"{file} 工作表「{sheet}」：缺少成果「{result}」的评分行，请勿删除行")
    return scores, problems
