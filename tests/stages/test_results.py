"""提交成果: parts checked, late not accepted, withdrawals, reminders, the close."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from domain.states import ProjectState
from flows.results import results_body
from storage import orm
from storage.uow import UnitOfWork
from tasks.context import StageOutcome
from tasks.results import ResultsError, submit_results, withdraw
from tests.stages.factory import at, context, seed

ALL = {"成果报告": "report.pdf", "过程材料": "process.zip", "效益证明": "benefit.pdf"}


def run(as_of: str) -> StageOutcome:
    ctx = context(as_of)
    outcome = StageOutcome(stage="results", as_of=ctx.now)
    results_body(ctx, outcome)
    return outcome


def state(plan: str) -> str:
    with UnitOfWork() as uow:
        return uow.session.scalar(
            select(orm.Application.state).where(orm.Application.plan_number == plan)
        )


def events() -> list[tuple[str, str, str]]:
    with UnitOfWork() as uow:
        return [
            (n.event, n.recipient_key, n.period)
            for n in uow.session.scalars(select(orm.NotificationRecord))
        ]


def test_submissions_late_withdrawn_and_close() -> None:
    seed(5, n_units=2, state=ProjectState.IN_PROGRESS)
    ctx = context("2025-09-10")
    ok = submit_results(ctx, "TJZLGG-2025-0001", ALL, at("2025-09-10"), "不良率降至0.8%")
    assert ok.complete and state("TJZLGG-2025-0001") == "results_submitted"

    partial = submit_results(ctx, "TJZLGG-2025-0002", {"成果报告": "r.pdf"}, at("2025-09-10"))
    assert partial.missing_parts == ["过程材料", "效益证明"]
    assert state("TJZLGG-2025-0002") == "in_progress"
    receipts = [e for e in events() if e[0] == "results_receipt"]
    assert len(receipts) == 2

    with pytest.raises(ResultsError, match="文件类型不被接受"):
        submit_results(ctx, "TJZLGG-2025-0003", {"成果报告": "r.exe"})
    withdraw(ctx, "TJZLGG-2025-0003", "项目单位停产", "推荐单位联络员")
    assert state("TJZLGG-2025-0003") == "withdrawn"

    reminded = run("2025-09-17 10:00")
    assert any("14天" in d for d in reminded.done)
    assert sum(1 for e in events() if e[0] == "results_reminder") == 2
    assert run("2025-09-17 11:00").done == []

    late = submit_results(ctx, "TJZLGG-2025-0004", ALL, at("2025-10-01", "08:00"))
    assert late.late and state("TJZLGG-2025-0004") == "results_late"
    assert any(e[0] == "results_late" for e in events())

    closed = run("2025-10-01")
    assert closed.complete
    assert state("TJZLGG-2025-0002") == "results_late"
    assert state("TJZLGG-2025-0005") == "results_late"
    with UnitOfWork() as uow:
        reasons = {
            c.reason
            for c in uow.session.scalars(
                select(orm.StateChange).where(orm.StateChange.to_state == "results_late")
            )
        }
    assert "截止时未提交成果" in reasons
    summary = load_workbook(closed.documents[0]).active
    assert summary.max_row >= 7
    assert run("2025-10-01").done == []
