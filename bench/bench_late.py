"""Benchmark of stage 7 at full scale, through the services and a real (temporary SQLite)
database: 1,200 results and 300 experts. Targets: the draw within 5 s, aggregation within 2 s.

The draw is timed including loading the records, recusal and storing the panels with their
draw record; writing the score sheets and invitations is timed separately; aggregation including loading every score, trimming,
ranking, outliers and storing each result's score.

Run: uv run python bench/bench_late.py [n_results] [n_experts]
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from pathlib import Path


def main(n_results: int = 1200, n_experts: int = 300) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp(prefix="qcamp-bench-late-"))
    os.environ["QCAMP_DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite'}"
    os.environ["QCAMP_OUT_DIR"] = str(tmp / "out")
    os.environ["QCAMP_CAMPAIGN_DIR"] = str(tmp / "campaign")

    from sqlalchemy import select

    from domain.scoring import DEFAULT_CRITERIA
    from storage import orm
    from storage.db import upgrade
    from storage.uow import UnitOfWork
    from tasks.evaluation import (
        aggregate_scores,
        draw_expert_panels,
        import_experts,
        send_score_sheets,
    )
    from tests.stages.conftest_late import (
        build_results,
        ensure_tables,
        make_context,
        outcome_for,
        write_expert_pool,
    )

    upgrade()
    ensure_tables()
    ctx = make_context(2025, "2025-10-25T10:00:00")
    build_results(ctx, n_results, units=40)
    import_experts(write_expert_pool(tmp / "experts.xlsx", n_experts))

    started = time.perf_counter()
    outcome = outcome_for("evaluation", ctx)
    draw_expert_panels.fn(ctx, outcome)
    draw_s = time.perf_counter() - started
    started = time.perf_counter()
    send_score_sheets.fn(ctx, outcome)
    sheets_s = time.perf_counter() - started

    rng = random.Random(5)
    with UnitOfWork() as uow:
        panels = uow.session.scalars(select(orm.ExpertPanel)).all()
        for panel in panels:
            for app_id in panel.application_ids:
                for key in panel.members:
                    scores = {
                        c.key: round(c.max_points * rng.uniform(0.6, 1.0), 1)
                        for c in DEFAULT_CRITERIA
                    }
                    uow.session.add(
                        orm.PanelScore(
                            panel_id=panel.id,
                            application_id=app_id,
                            expert_key=key,
                            scores=scores,
                            total=sum(scores.values()),
                        )
                    )
        uow.commit()
        n_panels = len(panels)

    started = time.perf_counter()
    outcome = outcome_for("evaluation", ctx)
    assert aggregate_scores.fn(ctx, outcome)
    aggregate_s = time.perf_counter() - started
    with UnitOfWork() as uow:
        scored = len(uow.session.scalars(select(orm.ResultScore.id)).all())
    print(f"成果 {n_results} 项，专家 {n_experts} 人，评定组 {n_panels} 个，已汇总 {scored} 项")
    print(f"抽取评定组（含回避、抽取记录入库）：{draw_s:.2f} 秒（目标 5 秒）")
    print(f"生成评分表并发送邀请：{sheets_s:.2f} 秒（不计入抽取目标）")
    print(f"汇总评分与排名：{aggregate_s:.2f} 秒（目标 2 秒）")
    return {"draw": draw_s, "sheets": sheets_s, "aggregate": aggregate_s}


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    result = main(*args)
    sys.exit(0 if result["draw"] < 5 and result["aggregate"] < 2 else 1)
