"""提交成果 after the deadline: refused (and the stage's submitted results untouched) unless the
unit has a recorded 截止后例外; the operator at the CLI is recorded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from deployments.cli import app
from domain.states import ProjectState
from services import results
from services.exceptions import grant
from storage import orm
from storage.uow import UnitOfWork
from tests.stages.factory import at, context, seed

ALL = {"成果报告": "report.pdf", "过程材料": "process.zip", "效益证明": "benefit.pdf"}


def project(plan: str) -> tuple[str, int | None, bool]:
    with UnitOfWork() as uow:
        app = uow.session.scalar(select(orm.Application).where(orm.Application.plan_number == plan))
        row = uow.session.scalar(
            select(orm.ResultSubmission).where(orm.ResultSubmission.application_id == app.id)
        )
        return app.state, row.exception_id if row else None, bool(row and row.late)


def last_actor(plan: str) -> str:
    with UnitOfWork() as uow:
        app = uow.session.scalar(select(orm.Application).where(orm.Application.plan_number == plan))
        return uow.repo.state_changes(app.id)[-1].actor


def test_late_results_are_taken_only_under_the_units_exception() -> None:
    seed(4, n_units=2, state=ProjectState.IN_PROGRESS)  # 0001, 0003: RU00; 0002, 0004: RU01
    on_time = context("2025-09-20")
    results.submit_results(UnitOfWork(), on_time, "TJZLGG-2025-0003", ALL, at("2025-09-20"))
    results.close_results(UnitOfWork(), context("2025-10-01T09:00"))
    assert project("TJZLGG-2025-0001")[0] == ProjectState.RESULTS_LATE
    ctx = context("2025-10-02T09:00")
    exc = grant(UnitOfWork(), ctx, "RU00", "results", at("2025-10-08"), by="钱处长", reason="汛期")
    taken = results.submit_results(
        UnitOfWork(), ctx, "TJZLGG-2025-0001", ALL, at("2025-10-02", "08:00"), actor="孙丽"
    )
    assert not taken.late and taken.state == ProjectState.RESULTS_SUBMITTED
    assert project("TJZLGG-2025-0001") == (ProjectState.RESULTS_SUBMITTED, exc.id, False)
    assert last_actor("TJZLGG-2025-0001") == "孙丽"
    refused = results.submit_results(
        UnitOfWork(), ctx, "TJZLGG-2025-0002", ALL, at("2025-10-02", "08:00")
    )
    assert refused.late and project("TJZLGG-2025-0002") == (ProjectState.RESULTS_LATE, None, True)
    # a back-dated claim after the close does not re-open a submitted project
    with pytest.raises(results.ResultsError, match="已齐全受理"):
        results.submit_results(UnitOfWork(), ctx, "TJZLGG-2025-0003", ALL, at("2025-09-21"))
    assert project("TJZLGG-2025-0003")[0] == ProjectState.RESULTS_SUBMITTED


def test_results_import_records_the_operator_and_the_files_arrival(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(2, n_units=1, state=ProjectState.IN_PROGRESS)
    monkeypatch.setenv("QCAMP_SIMULATED_CLOCK", "1")
    files = []
    for part in ("成果报告", "过程材料", "效益证明"):
        f = tmp_path / f"TJZLGG-2025-0001_{part}.pdf"
        f.write_bytes(b"%PDF-1.4 test")
        stamp = at("2025-09-20").timestamp()
        os.utime(f, (stamp, stamp))
        files.append(str(f))
    out = CliRunner().invoke(
        app,
        ["results", "import", *files, "--year", "2025", "--as-of", "2025-09-21", "--by", "周强"],
    )
    assert out.exit_code == 0 and "成果材料齐全" in out.output, out.output
    assert last_actor("TJZLGG-2025-0001") == "周强"
    with UnitOfWork() as uow:
        received = uow.session.scalar(select(orm.ResultSubmission.received_at))
    assert received == at("2025-09-20")
