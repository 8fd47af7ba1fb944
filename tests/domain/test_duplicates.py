import pytest

from domain.duplicates import PastResultIndex, campaign_duplicates, normalize_title, similarity
from domain.models import PastResult

PAST = [
    PastResult(year=2021, title="降低A产品焊接不良率", unit="天津某焊接设备有限公司"),
    PastResult(year=2022, title="提高汽车座椅骨架一次交检合格率", unit="天津某汽车座椅有限公司"),
    PastResult(year=2023, title="缩短油浸式变压器交付周期", unit="天津某变压器有限公司"),
    PastResult(year=2020, title="车用燃料全自动进气阀沉积物试验机研制", unit="天津某检测中心"),
    PastResult(year=2024, title="金属焊接件早期疲劳检测技术", unit="天津某大学"),
    PastResult(year=2019, title="降低电机控制器故障率", unit="天津某电机有限公司"),
    PastResult(year=2022, title="降低铝合金轮毂铸造气孔不良率", unit="天津某轮毂有限公司"),
]


@pytest.fixture(scope="module")
def index():
    return PastResultIndex(PAST)


def test_normalisation_maps_synonyms_and_drops_stop_characters():
    assert normalize_title("降低A产品的焊接缺陷率") == normalize_title("降低A产品焊接不良率")
    assert normalize_title("提升 汽车座椅骨架 良品率！") == normalize_title(
        "提高汽车座椅骨架合格率"
    )
    assert normalize_title("减少ＸＫ－２００型变速箱漏油") == normalize_title(
        "降低xk200型变速箱漏油"
    )


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("降低A产品的焊接缺陷率", "降低A产品焊接不良率"),
        ("减少A产品焊接不合格率", "降低A产品焊接不良率"),
        ("提高A产品焊接合格率", "降低A产品焊接不良率"),
        ("提升汽车座椅骨架焊接一次合格率", "提高汽车座椅骨架一次交检合格率"),
        ("减少油浸式变压器交付时间", "缩短油浸式变压器交付周期"),
        ("车用燃料进气阀沉积物自动试验装置的研发", "车用燃料全自动进气阀沉积物试验机研制"),
        ("金属焊接件早期疲劳检测技术研究与应用", "金属焊接件早期疲劳检测技术"),
        ("降低电机控制器失效率", "降低电机控制器故障率"),
        ("降低铝合金轮毂气孔缺陷率", "降低铝合金轮毂铸造气孔不良率"),
    ],
)
def test_rewordings_of_past_results_are_caught(index, title, expected):
    matches = index.match(title, threshold=0.75)
    assert matches, title
    assert matches[0].past.title == expected
    assert 0.75 <= matches[0].similarity <= 1.0


@pytest.mark.parametrize(
    "title",
    [
        "降低B车间注塑件不良率",  # shares only the verb and the indicator
        "提高汽车仪表板一次交检合格率",
        "缩短油浸式变压器生产周期",
        "降低电机装配故障率",
        "降低铝合金压铸件气孔不良率",
        "缩短A产品焊接周期",  # same object, different aim
        "提高门诊患者满意度",
    ],
)
def test_different_projects_are_not_flagged(index, title):
    assert index.match(title, threshold=0.75) == []


def test_the_brief_pair():
    assert similarity("降低A产品焊接不良率", "降低A产品的焊接缺陷率") >= 0.95
    assert similarity("降低A产品焊接不良率", "降低B车间注塑件不良率") < 0.3


def test_identical_title_scores_one_and_most_recent_first():
    index = PastResultIndex(
        [
            PastResult(year=2018, title="降低曲轴磨削烧伤不良率"),
            PastResult(year=2023, title="降低曲轴磨削烧伤不良率"),
            PastResult(year=2020, title="降低曲轴的磨削烧伤缺陷率"),
        ]
    )
    matches = index.match("降低曲轴磨削烧伤不良率", limit=2)
    assert [m.past.year for m in matches] == [2023, 2020]
    assert all(m.similarity == pytest.approx(1.0) for m in matches)


def test_similar_problem_text_can_lift_a_borderline_title():
    past_text = "曲轴磨削工序烧伤比例达到3.2%，主要原因是砂轮修整周期过长、冷却液浓度不稳定，目标降至0.5%以下"
    index = PastResultIndex(
        [PastResult(year=2022, title="降低曲轴磨削烧伤不良率", abstract=past_text)]
    )
    title = "降低发动机曲轴磨削工序烧伤缺陷"
    assert index.match(title) == []  # default threshold 0.75
    assert index.match(title, past_text)
    # Unrelated text never lowers a title match.
    assert index.match("降低曲轴磨削烧伤不良率", "完全不同的内容", threshold=0.9)


def test_empty_title_matches_nothing(index):
    assert index.match("  ", threshold=0.1) == []


def test_campaign_duplicates_are_symmetric():
    titles = [
        ("a.docx", "降低A产品焊接不良率"),
        ("b.docx", "降低A产品的焊接缺陷率"),
        ("c.docx", "降低B车间注塑件不良率"),
        ("d.docx", ""),
    ]
    dups = campaign_duplicates(titles, 0.75)
    assert set(dups) == {"a.docx", "b.docx"}
    assert dups["a.docx"][0][0] == "b.docx"
    assert dups["b.docx"][0][0] == "a.docx"
    assert dups["a.docx"][0][1] == pytest.approx(dups["b.docx"][0][1])


def test_index_lookup_agrees_with_brute_force():
    import random

    rng = random.Random(11)
    objects = [
        "汽车座椅骨架",
        "铝合金轮毂",
        "电机控制器",
        "锂电池极片",
        "无缝钢管",
        "变速箱壳体",
        "中药饮片",
    ]
    processes = ["焊接", "铸造", "涂布", "装配", "热处理", ""]
    aims = ["不良率", "一次交检合格率", "交付周期", "能耗", "气孔缺陷率"]
    verbs = ["降低", "提高", "缩短", "减少", "提升"]

    def title():
        return rng.choice(verbs) + rng.choice(objects) + rng.choice(processes) + rng.choice(aims)

    sentences = [
        "焊缝气孔比例偏高",
        "返修占用产能",
        "客户投诉集中在外观",
        "设备参数波动",
        "目标降至1%以下",
    ]

    def text():
        return "，".join(rng.sample(sentences, 3)) if rng.random() < 0.5 else ""

    past = [PastResult(year=2020, title=title(), abstract=text()) for _ in range(150)]
    index = PastResultIndex(past)
    total = 0
    for _ in range(80):
        query, query_text = title(), text()
        expected = sorted(
            (round(s, 9), i)
            for i, p in enumerate(past)
            if (s := similarity(query, p.title, query_text, p.abstract)) >= 0.7
        )
        got = sorted(
            (round(m.similarity, 9), past.index(m.past))
            for m in index.match(query, query_text, threshold=0.7, limit=1000)
        )
        assert [s for s, _ in got] == [s for s, _ in expected]
        total += len(got)
    assert total > 50  # the check above did compare real matches


def test_match_many_in_two_processes_gives_the_same_answers(index):
    queries = [("降低A产品的焊接缺陷率", ""), ("降低B车间注塑件不良率", "")] * 3
    assert index.match_many(queries, workers=2) == index.match_many(queries)
    assert [len(found) for found in index.match_many(queries, workers=2)] == [1, 0] * 3
