"""提交成果: parts checked, late not accepted, withdrawals, reminders, the close."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from domain.states import ProjectState
from services import results
from services.context import StageReport
from services.results import ResultsError, Submission
from storage import orm
from storage.uow import UnitOfWork
from tests.stages.factory import at, context, seed

ALL = {"成果报告": "report.pdf", "过程材料": "process.zip", "效益证明": "benefit.pdf"}


def run(as_of: str) -> StageReport:
    """What the stage's flow does at `as_of` (its window and deadline passed), by its services."""
    ctx = context(as_of)
    if ctx.is_due(ctx.calendar.results_deadline):
        report = results.close_results(UnitOfWork(), ctx)
        report.complete = True
    else:
        report = results.send_reminders(UnitOfWork(), ctx)
    return report.merge(results.results_status(UnitOfWork(), ctx))


def submit_results(ctx, *args) -> results.SubmissionOutcome:  # noqa: ANN001
    return results.submit_results(UnitOfWork(), ctx, *args)


def submit_results_batch(ctx, submissions) -> list[results.SubmissionOutcome]:  # noqa: ANN001
    return results.submit_results_batch(UnitOfWork(), ctx, submissions)


def withdraw(ctx, *args) -> bool:  # noqa: ANN001
    return results.withdraw(UnitOfWork(), ctx, *args)


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


def test_batch_records_what_single_submissions_record() -> None:

    seed(6, n_units=2, state=ProjectState.IN_PROGRESS)
    ctx = context("2025-10-01 12:00")
    outcomes = submit_results_batch(
        ctx,
        [
            Submission("TJZLGG-2025-0001", ALL, at("2025-09-10"), "不良率降至0.8%"),
            Submission("TJZLGG-2025-0002", {"成果报告": "r.pdf"}, at("2025-09-10")),
            Submission("TJZLGG-2025-0003", {"成果报告": "r.pdf"}, at("2025-09-11")),
            Submission(
                "TJZLGG-2025-0003", {"过程材料": "p.zip", "效益证明": "b.pdf"}, at("2025-09-16")
            ),
            Submission("TJZLGG-2025-0004", ALL, at("2025-10-01", "08:00")),
        ],
    )
    assert [(o.plan_number, o.complete, o.late, o.state) for o in outcomes] == [
        ("TJZLGG-2025-0001", True, False, "results_submitted"),
        ("TJZLGG-2025-0002", False, False, "in_progress"),
        ("TJZLGG-2025-0003", False, False, "in_progress"),
        ("TJZLGG-2025-0003", True, False, "results_submitted"),
        ("TJZLGG-2025-0004", True, True, "results_late"),
    ]
    assert outcomes[1].missing_parts == ["过程材料", "效益证明"]
    assert state("TJZLGG-2025-0003") == "results_submitted"
    assert state("TJZLGG-2025-0004") == "results_late"
    with UnitOfWork() as uow:
        parts = uow.session.scalar(
            select(orm.ResultSubmission.parts)
            .join(orm.Application)
            .where(orm.Application.plan_number == "TJZLGG-2025-0003")
        )
    assert parts == {"成果报告": "r.pdf", "过程材料": "p.zip", "效益证明": "b.pdf"}
    sent = sorted(p for e, _, p in events() if e in ("results_receipt", "results_late"))
    assert sent == [
        "TJZLGG-2025-0001:complete",
        "TJZLGG-2025-0002:missing1",
        "TJZLGG-2025-0003:complete",
        "TJZLGG-2025-0003:missing1",
        "TJZLGG-2025-0004:late",
    ]

    # A batch with one submission that cannot be taken stores none of them.
    before = (events(), state("TJZLGG-2025-0005"))
    with pytest.raises(ResultsError, match="TJZLGG-2025-0001 的成果材料已齐全受理"):
        submit_results_batch(
            ctx,
            [
                Submission("TJZLGG-2025-0005", ALL, at("2025-09-12")),
                Submission("TJZLGG-2025-0001", ALL, at("2025-09-12")),
            ],
        )
    with pytest.raises(ResultsError, match="找不到2025年项目计划中的项目“TJZLGG-2025-0999”"):
        submit_results_batch(
            ctx, [Submission("TJZLGG-2025-0005", ALL), Submission("TJZLGG-2025-0999", ALL)]
        )
    assert (events(), state("TJZLGG-2025-0005")) == before
    # Late material sent again is recorded once more, never told twice.
    submit_results_batch(ctx, [Submission("TJZLGG-2025-0004", ALL, at("2025-10-01", "09:00"))])
    assert sum(1 for e in events() if e[0] == "results_late") == 1
