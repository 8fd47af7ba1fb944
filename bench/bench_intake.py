"""Benchmark of intake: N application forms (Word) in their recommending units' batches, read by
their labels, checked against the rules, 20,000 past results and each other, and stored.

    uv run python bench/bench_intake.py [--forms 1200] [--past 20000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--forms", type=int, default=1200)
    parser.add_argument("--past", type=int, default=20000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="qcamp-bench-intake-"))
    os.environ["QCAMP_DATABASE_URL"] = os.environ.get(
        "QCAMP_BENCH_DATABASE_URL", f"sqlite:///{tmp / 'bench.sqlite'}"
    )
    os.environ["QCAMP_CAMPAIGN_DIR"] = str(tmp / "campaign")

    from openpyxl import Workbook

    from domain.calendar import SHANGHAI
    from services.context import open_campaign
    from services.intake import intake_batch
    from services.registry import import_past_results, import_units
    from simulation import early
    from storage.db import upgrade
    from storage.uow import UnitOfWork

    upgrade()
    rng = random.Random(7)
    ctx = open_campaign(2025, dt.datetime(2025, 4, 19, 10, tzinfo=SHANGHAI))
    plan = early.plan_demo(ctx, rng, args.forms)
    for unit in plan.units:
        unit.resubmit_at = None
        unit.late = False
    units_xlsx, past_xlsx = early.write_registers(plan, tmp / "registers")
    import_units(UnitOfWork(), units_xlsx)
    wb = Workbook()
    ws = wb.active
    ws.append(["年份", "项目名称", "单位", "摘要"])
    for year, title, unit, abstract in plan.past_results:
        ws.append([year, title, unit, abstract])
    for n in range(max(0, args.past - len(plan.past_results))):
        chain = rng.choice(list(early.CHAIN_TOPICS))
        title, _o, _i = early._title(rng, chain)
        ws.append([rng.randint(2012, 2024), early._with_model(rng, title), f"天津历史单位{n}", ""])
    wb.save(tmp / "past.xlsx")
    import_past_results(UnitOfWork(), tmp / "past.xlsx")
    started, cpu = time.perf_counter(), time.process_time()
    early.prepare_batches(plan, tmp / "staging")
    written, written_cpu = time.perf_counter() - started, time.process_time() - cpu

    started, cpu = time.perf_counter(), time.process_time()
    accepted = returned = 0
    when = dt.datetime(2025, 4, 18, 10, tzinfo=SHANGHAI)
    for unit in plan.units:
        folder = tmp / "staging" / unit.code / "v1"
        if not folder.exists():
            continue
        result = intake_batch(
            UnitOfWork(), ctx, unit.code, sorted(folder.iterdir()), received_at=when
        )
        accepted += result.batch.accepted
        returned += result.batch.returned
    took, took_cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"表单数 {args.forms}，历年优秀成果 {args.past}")
    # CPU seconds of this process beside wall time: on a shared machine the wall time is noisy.
    print(f"写入申报书（模拟单位）：{written:.1f} 秒（CPU {written_cpu:.1f} 秒）")
    print(
        f"受理（读取、审查、查重、入库、审核意见、通知入队）：{took:.1f} 秒（CPU {took_cpu:.1f} 秒），"
        f"受理 {accepted}，退回 {returned}"
    )
    print(f"每份 {took / max(1, accepted + returned) * 1000:.0f} 毫秒")


if __name__ == "__main__":
    main()
