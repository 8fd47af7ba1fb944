"""Time stages 2-6 for 1,200 projects (target ≤ 30 s each on 2 cores).

`uv run python bench/bench_middle.py [N]` — a temp SQLite database, the Prefect test harness,
each stage body run at the clock where it does its heaviest work.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def main(n: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench_middle_"))
    os.environ["QCAMP_DATABASE_URL"] = f"sqlite:///{tmp / 'qcamp.sqlite'}"
    os.environ["QCAMP_OUT_DIR"] = str(tmp / "out")
    os.environ["QCAMP_OUTBOX_DIR"] = str(tmp / "outbox")

    from prefect.testing.utilities import prefect_test_harness

    from domain.states import ProjectState
    from flows.audit import audit_body
    from flows.follow_up import follow_up_body
    from flows.implementation import implementation_body
    from flows.results import results_body
    from flows.training import training_body
    from services.audit import ApprovalDecision, record_approval_decisions
    from services.context import StageReport
    from storage.db import get_engine, upgrade
    from storage.orm import Base
    from storage.uow import UnitOfWork
    from tests.stages.factory import context, seed

    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
    upgrade()
    Base.metadata.create_all(get_engine())
    seed(n, n_units=40)

    def timed(label: str, stage: str, as_of: str, body: Callable[..., StageReport]) -> None:
        ctx = context(as_of)
        start, cpu = time.perf_counter(), time.process_time()
        outcome = body(ctx)
        took, cpu = time.perf_counter() - start, time.process_time() - cpu
        print(f"{label:<30} {took:6.1f} s（CPU {cpu:5.1f} s）  {'；'.join(outcome.done)[:80]}")

    with prefect_test_harness(server_startup_timeout=120):
        timed("立项审核：审核表", "audit", "2025-05-08", audit_body)
        ctx = context("2025-05-09")
        with UnitOfWork() as uow:
            ids = [a.id for a in uow.repo.applications(ctx.campaign_id, [ProjectState.ACCEPTED])]
        record_approval_decisions(
            UnitOfWork(),
            ctx,
            [ApprovalDecision(application_id=i, outcome="approve") for i in ids],
            "基准测试",
            "policy",
        )
        timed("立项审核：决定生效+公布计划", "audit", "2025-05-15", audit_body)
        timed("宣贯培训：安排与邀请", "training", "2025-05-26", training_body)
        timed("项目实施：6月进度报告请求", "implementation", "2025-07-01", implementation_body)
        timed("项目实施：逾期提醒+督办", "implementation", "2025-07-17", implementation_body)
        timed("跟踪服务：覆盖情况", "follow_up", "2025-07-01", follow_up_body)
        timed("提交成果：T-14 提醒", "results", "2025-09-17 10:00", results_body)
        timed("提交成果：截止关闭+汇总表", "results", "2025-10-01", results_body)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1200)
