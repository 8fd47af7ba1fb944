"""The demo's project titles make sense: 降低 goes with defects and costs, 提高 with rates of
good output (never 「降低…成品率」 or 「提高…不良率」)."""

from __future__ import annotations

import random

from simulation.early import BAD_WORDS, CHAIN_TOPICS, _title

GOOD_RATES = ("合格率", "成品率", "良率", "直通率", "通过率", "收率", "及时率", "效率", "优级品率")


def test_titles_lower_defects_and_raise_good_output() -> None:
    titles = [_title(random.Random(i), chain) for chain in CHAIN_TOPICS for i in range(200)]
    for title, _obj, indicator in titles:
        if not indicator:
            continue
        bad = any(w in indicator for w in BAD_WORDS)
        if indicator.endswith(GOOD_RATES) and not bad:
            assert title.startswith("提高"), title
        if bad:
            assert title.startswith("降低"), title
