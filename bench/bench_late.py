"""Benchmark of stage 7 at full scale, through the services and a real (temporary SQLite)
database: 1,200 results and 300 experts. Targets: the draw within 5 s, aggregation within 2 s.

The draw is timed including loading the records, recusal and storing the panels with their
draw record; writing the score sheets and invitations is timed separately; aggregation including loading every score, trimming,
ranking, outliers and storing each result's score.

Run: uv run python bench/bench_late.py [n_results] [n_experts]

`uv run python bench/bench_late.py --path [n_results]` times instead what the demo does in
stages 7-8 (targets: each step within 4 s of CPU at 1,200 results): score sheets, the simulated
experts filling them and their import, aggregation and decisions, the 公示, and the 公布 with
certificates (LibreOffice's own CPU shown apart where it makes the PDFs).
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


def late_path(n_results: int = 1200) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="qcamp-bench-late-path-"))
    os.environ["QCAMP_DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite'}"
    os.environ["QCAMP_OUT_DIR"] = str(tmp / "out")
    os.environ["QCAMP_OUTBOX_DIR"] = str(tmp / "outbox")
    import datetime as dt
    import resource
    from collections.abc import Callable

    from bench_campaign import _plain_prefect

    _plain_prefect()
    from flows.evaluation import evaluation_body
    from flows.publicity import publicity_body
    from services.context import CampaignContext
    from simulation.late import _fill
    from storage.db import upgrade
    from tasks.evaluation import confirm_excellent, import_experts, import_scores
    from tests.stages.conftest_late import (
        build_results,
        ensure_tables,
        late_context,
        outcome_for,
        write_expert_pool,
    )

    upgrade()
    ensure_tables()

    def context(as_of: str) -> CampaignContext:
        return late_context(2025, as_of, dt.date(2025, 9, 30))

    def timed(label: str, step: Callable[[], object]) -> None:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu, wall = time.process_time(), time.perf_counter()
        step()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        used = after.ru_utime - children.ru_utime + after.ru_stime - children.ru_stime
        print(
            f"{label:<24} CPU {time.process_time() - cpu:5.2f} s"
            f"（LibreOffice {used:4.1f} s），墙钟 {time.perf_counter() - wall:5.1f} s"
        )

    ctx = context("2025-09-22T10:00:00")
    build_results(ctx, n_results, units=21, people=6)
    import_experts(write_expert_pool(tmp / "experts.xlsx", 300))
    timed("抽取评定组、评分表", lambda: evaluation_body(ctx, outcome_for("evaluation", ctx)))

    def experts() -> None:
        rng = random.Random(3)
        for sheet in sorted((ctx.folder("evaluation") / "评分表").glob("*.xlsx")):
            import_scores(ctx, _fill(sheet, tmp / "filled" / sheet.name, rng, None))

    timed("专家填写并导入评分表", experts)
    decided = context("2025-09-26T10:00:00")

    def decide() -> None:
        evaluation_body(decided, outcome_for("evaluation", decided))
        confirm_excellent(decided, "基准测试", source="cli")
        evaluation_body(decided, outcome_for("evaluation", decided))

    timed("汇总评分、认定优秀", decide)
    for label, as_of in (("公示", "2025-09-30T10:00:00"), ("公布、证书", "2025-10-20T10:00:00")):
        day = context(as_of)
        outcome = outcome_for("publicity", day)
        timed(label, lambda day=day, outcome=outcome: publicity_body(day, outcome))
        print("  ", "；".join(outcome.done))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--path"]:
        late_path(*[int(a) for a in sys.argv[2:3]])
        sys.exit(0)
    args = [int(a) for a in sys.argv[1:3]]
    result = main(*args)
    sys.exit(0 if result["draw"] < 5 and result["aggregate"] < 2 else 1)
