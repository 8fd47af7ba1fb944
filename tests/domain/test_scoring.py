import pytest

from domain.scoring import (
    DEFAULT_CRITERIA,
    ResultScore,
    ScoreError,
    aggregate,
    by_chain,
    check_expert_sheet,
    check_points,
    excellent,
    outliers,
    rank,
    sheet_is_blank,
    validate_score_row,
)

KEYS = [c.key for c in DEFAULT_CRITERIA]


def sheet(topic, analysis, measures, effect, std, pres):
    return dict(zip(KEYS, [topic, analysis, measures, effect, std, pres], strict=True))


def row_with_total(total: float, effect: float = 20.0) -> dict[str, float]:
    """A valid sheet summing to `total` with the given effect points."""
    rest = total - effect
    maxima = [10, 20, 25, 10, 10]
    parts = []
    for m in maxima:
        take = min(m, rest)
        parts.append(take)
        rest -= take
    assert rest == 0
    return sheet(parts[0], parts[1], parts[2], effect, parts[3], parts[4])


def test_default_sheet_is_100_points_with_effect():
    assert sum(c.max_points for c in DEFAULT_CRITERIA) == 100
    assert [c.name for c in DEFAULT_CRITERIA][0] == "选题"
    assert any(c.key == "effect" and c.max_points == 25 for c in DEFAULT_CRITERIA)


def test_five_experts_drop_highest_and_lowest():
    scores = {
        "E1": row_with_total(95),
        "E2": row_with_total(88),
        "E3": row_with_total(86),
        "E4": row_with_total(84),
        "E5": row_with_total(60),
    }
    rs = aggregate(scores)
    assert rs.score == pytest.approx(86.0)  # mean of 88, 86, 84
    assert rs.trimmed and rs.dropped_high == "E1" and rs.dropped_low == "E5"
    assert rs.expert_totals["E5"] == 60


def test_four_experts_plain_mean_and_half_up_rounding():
    scores = {
        "E1": row_with_total(85.5),
        "E2": row_with_total(85),
        "E3": row_with_total(85),
        "E4": row_with_total(85),
    }
    rs = aggregate(scores)
    assert not rs.trimmed
    assert rs.score == 85.13  # 85.125 rounds half-up


def test_effect_score_is_trimmed_the_same_way():
    effects = [25, 22, 20, 18, 5]
    scores = {f"E{i}": row_with_total(80, effect=e) for i, e in enumerate(effects)}
    assert aggregate(scores).effect_score == 20.0


def test_wrong_cells_are_named_in_chinese():
    bad = sheet(12, 20, "abc", 25, 10, None)
    problems = validate_score_row("E7", bad, result_key="R001")
    messages = [p.message for p in problems]
    assert len(problems) == 3
    assert any("选题" in m and "12" in m and "0～10" in m and "E7" in m for m in messages)
    assert any("对策制定与实施" in m and "abc" in m for m in messages)
    assert any("成果表达" in m and "未填写" in m for m in messages)
    assert all("R001" in m for m in messages)
    with pytest.raises(ScoreError) as err:
        aggregate({"E7": bad})
    assert "选题" in str(err.value)


def test_negative_and_unknown_criteria_are_rejected():
    row = sheet(-1, 20, 25, 25, 10, 10) | {"bonus": 5}
    problems = validate_score_row("E1", row)
    assert {p.code for p in problems} == {"score.out_of_range", "score.unknown_criterion"}
    assert validate_score_row("E1", sheet(10, 20, 25, 25, 10, 10)) == []
    assert validate_score_row("E1", {k: str(v) for k, v in sheet(1, 2, 3, 4, 5, 6).items()}) == []


def rs(score: float, effect: float) -> ResultScore:
    return ResultScore(
        score=score, effect_score=effect, expert_totals={}, panel_size=5, trimmed=True
    )


def test_rank_overall_and_per_chain_with_tie_breaks():
    ranked = rank(
        [
            ("R3", "新材料", rs(90, 20)),
            ("R1", "高端装备", rs(90, 22)),
            ("R2", "高端装备", rs(88, 25)),
            ("R5", "新材料", rs(90, 20)),
            ("R4", "新材料", rs(70, 10)),
        ]
    )
    assert [r.result_key for r in ranked] == ["R1", "R3", "R5", "R2", "R4"]
    assert [r.overall_rank for r in ranked] == [1, 2, 3, 4, 5]
    chains = by_chain(ranked)
    assert [(r.result_key, r.chain_rank) for r in chains["新材料"]] == [
        ("R3", 1),
        ("R5", 2),
        ("R4", 3),
    ]
    assert [r.result_key for r in chains["高端装备"]] == ["R1", "R2"]
    assert "效果得分" in ranked[1].tie_note
    assert "成果编号" in ranked[2].tie_note
    assert ranked[0].tie_note == ""


def test_outlier_flags_expert_far_from_the_others():
    panel = {"R1": {"E1": 82, "E2": 80, "E3": 84, "E4": 81, "E5": 62}}
    found = outliers(panel)
    assert [(o.expert_key, o.deviation) for o in found] == [("E5", -19.75)]
    assert "低于" in found[0].message and "R1" in found[0].message
    assert outliers(panel, threshold=20) == []
    # Criterion dicts are summed.
    assert outliers(
        {"R2": {"E1": row_with_total(90), "E2": row_with_total(88), "E3": row_with_total(60)}}
    )


def test_outliers_need_three_experts():
    assert outliers({"R1": {"E1": 90, "E2": 50}}) == []


def test_excellent_threshold_and_quota():
    ranked = rank(
        [
            ("R1", "信创", rs(92, 20)),
            ("R2", "信创", rs(85, 20)),
            ("R3", "信创", rs(84.99, 25)),
            ("R4", "信创", rs(88, 20)),
        ]
    )
    all_good = excellent(ranked)
    assert [r.result_key for r in all_good.selected] == ["R1", "R4", "R2"]  # 85 included
    capped = excellent(ranked, threshold=85, quota=2)
    assert [r.result_key for r in capped.selected] == ["R1", "R4"]
    assert [r.result_key for r in capped.over_quota] == ["R2"]
    assert excellent(ranked, threshold=95).selected == []


def test_one_check_of_a_score_cell():
    topic = DEFAULT_CRITERIA[0]
    assert check_points(7.5, topic) == (None, 7.5)
    assert check_points(" 8 ", topic) == (None, 8.0)
    assert check_points(None, topic) == ("score.missing", None)
    assert check_points("  ", topic) == ("score.missing", None)
    assert check_points("abc", topic) == ("score.not_a_number", None)
    assert check_points(True, topic) == ("score.not_a_number", None)
    assert check_points(float("nan"), topic) == ("score.not_a_number", None)
    assert check_points(10.5, topic) == ("score.out_of_range", 10.5)
    assert check_points(-1, topic) == ("score.out_of_range", -1.0)


def test_a_returned_sheet_names_every_wrong_cell_and_missing_row():
    columns = {"E": DEFAULT_CRITERIA[0], "F": DEFAULT_CRITERIA[1]}
    cells = [
        (3, "R1", "E", 8),
        (3, "R1", "F", 18.5),
        (4, "R2", "E", 30),
        (4, "R2", "F", None),
        (5, "X9", "E", 5),
        (5, "X9", "F", "abc"),
        (6, "R3", "E", "九"),
        (6, "R3", "F", 15),
    ]
    scores, problems = check_expert_sheet(
        "评分表.xlsx", "王强", "P001", cells, columns, ["R1", "R2", "R3", "R4"]
    )
    assert scores == {"R1": {"topic": 8, "analysis": 18.5}, "R3": {"analysis": 15}}
    assert problems == [
        "评分表.xlsx 工作表「王强」第4行 E列「选题（10分）」：30 超出允许范围 0～10 分",
        "评分表.xlsx 工作表「王强」第4行 F列「现状调查与原因分析（20分）」：未填写，应为 0～20 分",
        "评分表.xlsx 工作表「王强」第5行：成果编号「X9」不属于评定组P001，请勿修改成果编号",
        "评分表.xlsx 工作表「王强」第6行 E列「选题（10分）」：「九」不是数字，应为 0～10 分",
        "评分表.xlsx 工作表「王强」：缺少成果「R4」的评分行，请勿删除行",
    ]
    assert sheet_is_blank([(3, "R1", "E", None), (3, "R1", "F", " ")])
    assert not sheet_is_blank(cells)
