"""Benchmark: draw panels for 1,200 results and 300 experts (target: under 5 s).

Run: uv run python bench/bench_panels.py [n_results] [n_experts]
"""

from __future__ import annotations

import random
import sys
import time

from domain.models import CHAINS, DISTRICTS, ExpertProfile
from domain.panels import ResultToEvaluate, draw_panels


def make_dataset(
    n_results: int = 1200, n_experts: int = 300, seed: int = 7
) -> tuple[list[ResultToEvaluate], list[ExpertProfile]]:
    """Synthetic but conflict-rich data: experts work at applicant and recommending units."""
    rng = random.Random(seed)
    applicants = [f"天津市某某{i:03d}有限公司" for i in range(400)]
    recommenders = [f"{d}市场监督管理局" for d in DISTRICTS] + [
        f"天津市行业协会{i:02d}" for i in range(20)
    ]
    surnames = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
    experts = []
    for i in range(n_experts):
        org = rng.choice(applicants + recommenders + [f"天津某大学{i % 10}"] * 20)
        experts.append(
            ExpertProfile(
                key=f"E{i:04d}",
                name=f"{rng.choice(surnames)}专家{i}",
                organisation=org,
                fields=rng.sample(CHAINS, rng.choice([1, 2, 3])),
                recused_units=[rng.choice(applicants)] if rng.random() < 0.2 else [],
            )
        )
    weights = [3 if c in ("高端装备", "新材料", "信创", "生物医药") else 1 for c in CHAINS]
    results = []
    for i in range(n_results):
        members = [f"成员{rng.randrange(5000)}" for _ in range(rng.randint(3, 8))]
        if rng.random() < 0.05:
            members.append(rng.choice(experts).name)
        results.append(
            ResultToEvaluate(
                key=f"R{i:05d}",
                chain=rng.choices(CHAINS, weights)[0],
                applicant=rng.choice(applicants),
                joint_units=rng.sample(applicants, rng.choice([0, 0, 0, 1, 2])),
                recommending_unit=rng.choice(recommenders),
                members=members,
            )
        )
    return results, experts


def main() -> None:
    n_results = int(sys.argv[1]) if len(sys.argv) > 1 else 1200
    n_experts = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    results, experts = make_dataset(n_results, n_experts)
    timings = []
    for seed in (1, 2, 3):
        t0 = time.perf_counter()
        draw = draw_panels(results, experts, seed=seed, min_size=5, reserves=2, max_load=3)
        timings.append(time.perf_counter() - t0)
    loads = list(draw.load.values())
    print(f"{n_results} results, {n_experts} experts")
    print(f"draw time: min {min(timings):.3f}s, max {max(timings):.3f}s over 3 seeds")
    print(
        f"panels {len(draw.panels)}, recusal pairs {len(draw.recusals)}, "
        f"unassigned {len(draw.unassigned)}, widened {sum(p.match_tier > 0 for p in draw.panels)}, "
        f"experts used {len(loads)}, max load {max(loads)}"
    )


if __name__ == "__main__":
    main()
