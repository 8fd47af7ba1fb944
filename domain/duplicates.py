"""Near-duplicate detection of project titles (不得与历年优秀成果项目雷同), built for Chinese.

A title is normalised (full-width to half-width, lower case, punctuation and the stop characters
的/之/与/和/及 dropped, synonyms mapped: 缺陷率/不合格率 -> 不良率, 良品率/良率 -> 合格率,
提升/增加 -> 提高, 减少/缩短 -> 降低, ...) and split into
- the *object*: what is left once the direction verbs, indicator words and technical framing
  words (技术/研制/应用 ...) are stripped, e.g. "A产品焊接" for "降低A产品的焊接缺陷率";
- the *indicators*: the characteristic words found (不良率, 周期, 能耗 ...).
Similarity of two titles weights the object (character bigrams, Dice) over the whole normalised
title, and is scaled down a little when the two aim at different characteristics. When both sides
carry a text (the application's problem + goal, the past result's abstract), a similar text can
lift the score, never lower it.

Titles that share only the verb and the indicator ("降低A产品焊接不良率" / "降低B车间注塑件不良率")
score low; rewordings ("降低A产品的焊接缺陷率") score high.

Candidates are found through an inverted index on object bigrams with prefix filtering (only the
rarest bigrams of a query are looked up; a title sharing none of them cannot reach the threshold),
so 10,000 applications against 20,000 past results take seconds.
"""

from __future__ import annotations

import math
import multiprocessing
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain

from domain.models import DuplicateMatch, PastResult

# --- normalisation ----------------------------------------------------------------------------

# Mapped in one left-to-right pass, longest alternative first, so "不良率" is never read as
# "不" + "良率".
_SYNONYMS: dict[str, str] = {
    # defect rates
    "不合格品率": "不良率",
    "不良品率": "不良率",
    "不合格率": "不良率",
    "缺陷率": "不良率",
    "次品率": "不良率",
    "废品率": "不良率",
    "报废率": "不良率",
    "不良率": "不良率",
    "不合格品": "不良品",
    "不合格": "不良",
    "缺陷": "不良",
    "瑕疵": "不良",
    "次品": "不良品",
    "废品": "不良品",
    # pass rates
    "一次交检合格率": "一次合格率",
    "一次交验合格率": "一次合格率",
    "一次检验合格率": "一次合格率",
    "一次交付合格率": "一次合格率",
    "一次性合格率": "一次合格率",
    "一次合格率": "一次合格率",
    "直通率": "一次合格率",
    "良品率": "合格率",
    "成品率": "合格率",
    "良率": "合格率",
    "合格率": "合格率",
    # direction verbs
    "提升": "提高",
    "增加": "提高",
    "增强": "提高",
    "改善": "提高",
    "减少": "降低",
    "下降": "降低",
    "减小": "降低",
    "减低": "降低",
    "缩短": "降低",
    "压缩": "降低",
    "全自动": "自动",
    "试验装置": "试验机",
    "试验设备": "试验机",
    "试验台": "试验机",
    "检测装置": "检测设备",
    "检测仪": "检测设备",
    "装置": "设备",
    "研发": "研制",
    "开发": "研制",
    # other indicators
    "时间": "周期",
    "时长": "周期",
    "工期": "周期",
    "用时": "周期",
    "耗时": "周期",
    "能源消耗量": "能耗",
    "能源消耗": "能耗",
    "能耗量": "能耗",
    "耗能": "能耗",
    "耗电量": "电耗",
    "用电量": "电耗",
    "费用": "成本",
    "失效率": "故障率",
    "返工率": "返修率",
    "客户满意度": "满意度",
    "顾客满意度": "满意度",
    "满意率": "满意度",
}
_SYNONYM_RE = re.compile("|".join(re.escape(k) for k in sorted(_SYNONYMS, key=len, reverse=True)))
_STOP_RE = re.compile(r"的|之|与|和|及(?!时)")
_NON_WORD_RE = re.compile(r"[\W_]+")

# Canonical words stripped to get the object part.
_INDICATORS: tuple[str, ...] = (
    "一次合格率",
    "合格率",
    "不良率",
    "故障率",
    "返修率",
    "投诉率",
    "准时率",
    "及时率",
    "准确率",
    "利用率",
    "损耗率",
    "收率",
    "得率",
    "能耗",
    "电耗",
    "成本",
    "周期",
    "效率",
    "产能",
    "精度",
    "寿命",
    "可靠性",
    "稳定性",
    "一致性",
    "满意度",
    "强度",
    "次数",
    "损耗",
    "排放",
    "质量",
    "水平",
    "能力",
    "不良",
)
# Indicators that measure the same thing from the two sides count as the same aim.
_INDICATOR_CLASS: dict[str, str] = {
    "一次合格率": "quality_rate",
    "合格率": "quality_rate",
    "不良率": "quality_rate",
    "不良": "quality_rate",
    "返修率": "quality_rate",
    "质量": "quality_rate",
    "能耗": "energy",
    "电耗": "energy",
    "故障率": "reliability",
    "可靠性": "reliability",
    "寿命": "reliability",
}
_VERBS: tuple[str, ...] = (
    "提高",
    "降低",
    "优化",
    "加强",
    "强化",
    "完善",
    "实现",
    "保证",
    "确保",
    "攻克",
    "解决",
    "控制",
    "延长",
    "改进",
    "稳定",
    "提质增效",
)
_FRAMING: tuple[str, ...] = (
    "技术",
    "研制",
    "研究",
    "应用",
    "设计",
    "方法",
    "问题",
    "项目",
    "攻关",
    "创新",
    "基于",
    "工序",
    "环节",
    "过程",
)
_INDICATOR_SET = frozenset(_INDICATORS)
# A stripped word followed by one of these characters is part of a noun and is kept.
_PART_OF_NOUN: dict[str, str] = {
    "控制": "器柜板阀盒箱台",
    "质量": "流计",
    "稳定": "器剂",
    "设计": "院师",
}
_STRIP_RE = re.compile(
    "|".join(
        re.escape(w) for w in sorted({*_INDICATORS, *_VERBS, *_FRAMING}, key=len, reverse=True)
    )
)


def normalize_title(text: str) -> str:
    """Canonical form used for comparison (see the module docstring)."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = _NON_WORD_RE.sub("", text)
    text = _SYNONYM_RE.sub(lambda m: _SYNONYMS[m.group(0)], text)
    return _STOP_RE.sub("", text)


def split_title(text: str) -> tuple[str, frozenset[str]]:
    """(object part, indicator words) of a title."""
    canonical = normalize_title(text)
    indicators: set[str] = set()

    def strip(m: re.Match[str]) -> str:
        word = m.group(0)
        if canonical[m.end() : m.end() + 1] in _PART_OF_NOUN.get(word, ()):
            return word  # "控制器", "质量流量计": a noun, not a verb or indicator
        if word in _INDICATOR_SET:
            indicators.add(word)
        # A separator keeps "A产品" and "焊接" from joining across a removed word into a bigram
        # that neither title really has.
        return " "

    obj = _STRIP_RE.sub(strip, canonical)
    return obj, frozenset(indicators)


def _grams(text: str, unigrams: bool = False) -> frozenset[str]:
    """Character bigrams of each space-separated piece (a lone character counts as itself), plus
    the characters themselves when `unigrams`: they keep reordered wording ("全自动进气阀试验机" /
    "进气阀自动试验装置") close."""
    out: set[str] = set()
    for piece in text.split():
        if len(piece) == 1 or unigrams:
            out.update(piece)
        out.update(piece[i : i + 2] for i in range(len(piece) - 1))
    return frozenset(out)


@dataclass(frozen=True, slots=True)
class TitleFeatures:
    canonical: str
    obj: frozenset[str]
    whole: frozenset[str]
    indicators: frozenset[str]
    text: frozenset[str]


def features(title: str, text: str = "") -> TitleFeatures:
    canonical = normalize_title(title)
    obj, indicators = split_title(title)
    classes = frozenset(_INDICATOR_CLASS.get(w, w) for w in indicators)
    return TitleFeatures(
        canonical=canonical,
        obj=_grams(obj, unigrams=True),
        whole=_grams(canonical),
        indicators=classes,
        text=_grams(normalize_title(text)) if text else frozenset(),
    )


def _dice(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


OBJECT_WEIGHT = 0.7  # share of the object part in a title's similarity; the rest is the whole title
INDICATOR_PENALTY = 0.2  # largest reduction when the two titles aim at different characteristics
TEXT_WEIGHT = 0.3  # share of problem/goal vs abstract text, when both are given


def title_similarity(a: TitleFeatures, b: TitleFeatures) -> float:
    whole = _dice(a.whole, b.whole)
    if a.obj and b.obj:
        base = OBJECT_WEIGHT * _dice(a.obj, b.obj) + (1 - OBJECT_WEIGHT) * whole
    else:
        base = whole
    if a.indicators and b.indicators:
        ind = len(a.indicators & b.indicators) / len(a.indicators | b.indicators)
    elif a.indicators or b.indicators:
        ind = 0.5
    else:
        ind = 1.0
    return base * (1 - INDICATOR_PENALTY * (1 - ind))


def feature_similarity(a: TitleFeatures, b: TitleFeatures) -> float:
    t = title_similarity(a, b)
    if a.text and b.text:
        return max(t, (1 - TEXT_WEIGHT) * t + TEXT_WEIGHT * _dice(a.text, b.text))
    return t


def similarity(title_a: str, title_b: str, text_a: str = "", text_b: str = "") -> float:
    """Similarity in [0, 1] of two titles (and optionally their texts)."""
    return feature_similarity(features(title_a, text_a), features(title_b, text_b))


# --- the index --------------------------------------------------------------------------------


def _min_shared(m: float, size: int) -> int:
    """Fewest grams two sets must share for their Dice to reach m, one set having `size`."""
    return max(1, math.ceil(m * size / (2 - m) - 1e-9))


class TitleIndex:
    """Inverted index over the titles (and optional texts) of arbitrary entries, by position."""

    def __init__(
        self,
        entries: Iterable[tuple[str, str]],
        featurize: Callable[[str, str], TitleFeatures] = features,
    ) -> None:
        self.features: list[TitleFeatures] = [featurize(t, x) for t, x in entries]
        # Object grams -> entries, apart for entries with and without text: those without are
        # held to the stricter bound, so their prefix is shorter (fewer, rarer grams to count).
        self._obj_post_plain: dict[str, list[int]] = {}
        self._obj_post_text: dict[str, list[int]] = {}
        self._whole_post: dict[str, list[int]] = {}
        self._empty_whole_post: dict[str, list[int]] = {}
        self._objs = [f.obj for f in self.features]
        self._obj_sizes = [len(f.obj) for f in self.features]
        for i, f in enumerate(self.features):
            obj_post = self._obj_post_text if f.text else self._obj_post_plain
            for g in f.obj:
                obj_post.setdefault(g, []).append(i)
            for g in f.whole:
                self._whole_post.setdefault(g, []).append(i)
                if not f.obj:
                    self._empty_whole_post.setdefault(g, []).append(i)

    def __len__(self) -> int:
        return len(self.features)

    @staticmethod
    def _prefix_counts(
        grams: frozenset[str], postings: Mapping[str, list[int]], m: float
    ) -> tuple[Counter[int], int]:
        """Prefix filtering: entries sharing at least one of the rarest grams of `grams`, with how
        many of those they share, and how many grams were left out of the prefix. An entry
        sharing none of the prefix cannot reach Dice `m` with `grams`."""
        if not grams:
            return Counter(), 0
        ordered = sorted(grams, key=lambda g: len(postings.get(g, ())))
        prefix = len(ordered) - _min_shared(m, len(ordered)) + 1
        lists = [postings[g] for g in ordered[:prefix] if g in postings]
        return Counter(chain.from_iterable(lists)), len(ordered) - prefix

    def scan(self, query: TitleFeatures, threshold: float) -> list[tuple[int, float]]:
        """Every entry whose similarity to `query` reaches `threshold`, best first."""
        # Bound: the title part must reach t_min; with texts on both sides it may be lifted.
        t_min = threshold if not query.text else (threshold - TEXT_WEIGHT) / (1 - TEXT_WEIGHT)
        t_min = max(t_min, 0.05)
        hits: list[tuple[int, float]] = []
        features_ = self.features
        qobj = query.obj
        if qobj:
            # The title part is at most OBJECT_WEIGHT * dice(obj) + (1 - OBJECT_WEIGHT), so the
            # objects' Dice must reach m_obj, i.e. share at least m_obj / 2 * (a + b) grams.
            m_obj = max((t_min - (1 - OBJECT_WEIGHT)) / OBJECT_WEIGHT, 0.05)
            need = m_obj / 2 - 1e-12
            # An entry without text is judged on its title alone, which must reach `threshold`.
            m_strict = max((threshold - (1 - OBJECT_WEIGHT)) / OBJECT_WEIGHT, 0.05)
            m_plain = max(m_strict, m_obj)
            qa = len(qobj)
            objs, sizes = self._objs, self._obj_sizes
            for postings, m, bound in (
                (self._obj_post_plain, m_plain, m_plain / 2 - 1e-12),
                (self._obj_post_text, m_obj, need),
            ):
                counts, rest = self._prefix_counts(qobj, postings, m)
                for i, shared in counts.items():
                    # Cheap bound first (prefix hits + every gram outside the prefix), then exact.
                    limit = bound * (qa + sizes[i])
                    if shared + rest < limit or len(qobj & objs[i]) < limit:
                        continue
                    sim = feature_similarity(query, features_[i])
                    if sim >= threshold:
                        hits.append((i, sim))
            # Entries without an object part are compared on the whole title.
            others, _ = self._prefix_counts(query.whole, self._empty_whole_post, t_min)
        else:
            others, _ = self._prefix_counts(query.whole, self._whole_post, t_min)
        for i in others:
            sim = feature_similarity(query, features_[i])
            if sim >= threshold:
                hits.append((i, sim))
        hits.sort(key=lambda h: (-h[1], h[0]))
        return hits


_MAX_ANSWERS = 20_000


class PastResultIndex:
    """历年优秀成果 indexed for the duplicate check."""

    def __init__(self, results: Sequence[PastResult]) -> None:
        self.results: list[PastResult] = list(results)
        self._index = TitleIndex((r.title, r.abstract) for r in self.results)
        # Answers by query: a resubmitted batch, or the same batch sent twice, asks again.
        self._answers: dict[tuple[str, str, float, int], list[DuplicateMatch]] = {}

    def __len__(self) -> int:
        return len(self.results)

    def match(
        self, title: str, text: str = "", threshold: float = 0.75, limit: int = 3
    ) -> list[DuplicateMatch]:
        """The `limit` past results most similar to `title` (and `text`: problem + goal) at or above
        `threshold`, best first; ties go to the most recent year."""
        key = (title, text, threshold, limit)
        found = self._answers.get(key)
        if found is None:
            found = self._match(title, text, threshold, limit)
            if len(self._answers) >= _MAX_ANSWERS:
                self._answers.clear()
            self._answers[key] = found
        return list(found)

    def _match(self, title: str, text: str, threshold: float, limit: int) -> list[DuplicateMatch]:
        if not normalize_title(title):
            return []
        hits = self._index.scan(features(title, text), threshold)
        hits.sort(key=lambda h: (-h[1], -self.results[h[0]].year, h[0]))
        return [
            DuplicateMatch(past=self.results[i], similarity=sim) for i, sim in hits[: max(limit, 0)]
        ]

    def match_many(
        self,
        queries: Sequence[tuple[str, str]],
        threshold: float = 0.75,
        limit: int = 3,
        workers: int = 1,
    ) -> list[list[DuplicateMatch]]:
        """`match` for each (title, text), in order. With `workers` > 1 the queries are split over
        that many fresh processes (spawned, so safe inside threaded workers), each rebuilding the
        index once; worth it from a few thousand queries on."""
        if workers <= 1 or len(queries) < 2 * workers:
            return [self.match(t, x, threshold, limit) for t, x in queries]
        size = -(-len(queries) // workers)
        chunks = [list(queries[i : i + size]) for i in range(0, len(queries), size)]
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            max_workers=len(chunks),
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(self.results,),
        ) as pool:
            parts = pool.map(_match_chunk, chunks, [threshold] * len(chunks), [limit] * len(chunks))
            return [found for part in parts for found in part]


_WORKER_INDEX: PastResultIndex | None = None


def _init_worker(results: list[PastResult]) -> None:
    global _WORKER_INDEX
    _WORKER_INDEX = PastResultIndex(results)


def _match_chunk(
    chunk: list[tuple[str, str]], threshold: float, limit: int
) -> list[list[DuplicateMatch]]:
    assert _WORKER_INDEX is not None
    return [_WORKER_INDEX.match(t, x, threshold, limit) for t, x in chunk]


# Features of campaign titles, which come back in every batch's check against the campaign.
_campaign_features = lru_cache(maxsize=8192)(features)


def campaign_duplicates(
    titles: Sequence[tuple[str, str]],
    threshold: float = 0.75,
    texts: Mapping[str, str] | None = None,
    *,
    only: Collection[str] | None = None,
) -> dict[str, list[tuple[str, float]]]:
    """Near-duplicate titles within one campaign (DUPLICATE_IN_CAMPAIGN).

    `titles` is (key, title) per application, key being e.g. the form's file name; `texts`
    optionally maps a key to its problem + goal text. Returns, for every key that has
    duplicates, the other keys with their similarity, best first. Symmetric: if b is listed under
    a, a is listed under b. With `only`, just the entries of those keys are scanned and only
    their lists are returned (the same lists as without `only`): a batch of new forms checked
    against the whole campaign costs a scan per new form, not per application.
    """
    texts = texts or {}
    keys = [k for k, _ in titles]
    index = TitleIndex(((t, texts.get(k, "")) for k, t in titles), featurize=_campaign_features)
    out: dict[str, list[tuple[str, float]]] = {}
    for i, f in enumerate(index.features):
        if not f.canonical:
            continue
        if only is not None:
            if keys[i] not in only:
                continue
            for j, sim in index.scan(f, threshold):
                if j != i and keys[j] != keys[i] and index.features[j].canonical:
                    out.setdefault(keys[i], []).append((keys[j], sim))
            continue
        for j, sim in index.scan(f, threshold):
            if j <= i or keys[j] == keys[i] or not index.features[j].canonical:
                continue
            out.setdefault(keys[i], []).append((keys[j], sim))
            out.setdefault(keys[j], []).append((keys[i], sim))
    for pairs in out.values():
        pairs.sort(key=lambda p: (-p[1], p[0]))
    return out
