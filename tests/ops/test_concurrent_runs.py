"""Two runs of the same work at once, and deliveries that fail: the second run exits with
“另一个运行正在处理……，请稍后再试” (exit 3) or does its part, never a traceback, nothing twice;
a message that could not be sent is counted as a failure in the run's output and the digest."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from deployments.cli import app
from services.campaign import RunInProgress
from storage.settings import PROJECT_ROOT
from storage.uow import UnitOfWork
from tests.stages.factory import at, seed


@pytest.fixture(autouse=True)
def simulated_clock(monkeypatch: pytest.MonkeyPatch, database: str, campaign_dir: Path) -> None:
    monkeypatch.setenv("QCAMP_SIMULATED_CLOCK", "1")


def qcamp(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def count(table: str) -> int:
    from sqlalchemy import text

    with UnitOfWork() as uow:
        return uow.session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


HOLDER = """
import sys
from services.campaign import one_run_at_a_time
with one_run_at_a_time(int(sys.argv[1]), sys.argv[2]):
    print("held", flush=True)
    sys.stdin.read()  # until the test closes it
"""


@contextlib.contextmanager
def run_elsewhere(year: int, stage: str) -> Iterator[None]:
    """Another process holding the run of `stage`, as a run in progress does."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    holder = subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", HOLDER, str(year), stage],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.communicate("", timeout=60)


def test_a_second_run_of_a_stage_in_progress_exits_3_and_does_nothing() -> None:
    seed(0, n_units=3)
    with run_elsewhere(2025, "application"):  # another process's run, in progress
        code, out = qcamp(
            "run", "application", "--direct", "--year", 2025, "--as-of", "2025-03-20T10:00"
        )
        assert code == 3, out
        assert "另一个运行正在处理 2025 年度的项目申报，请稍后再试" in out
        # through Prefect too: refused before a flow run starts, without a traceback
        code, out = qcamp("run", "application", "--year", 2025, "--as-of", "2025-03-20T10:00")
        assert code == 3 and "另一个运行正在处理 2025 年度的项目申报" in out, out
        assert count("stage_steps") == 0 and count("notification_records") == 0
        # the whole day's run goes on with the other stages and says which it left
        code, out = qcamp(
            "run", "campaign", "--direct", "--year", 2025, "--as-of", "2025-03-20T10:00"
        )
        assert code == 0, out
        assert "另一个运行正在处理 2025 年度的项目申报，请稍后再试（本次跳过）" in out
    code, out = qcamp(
        "run", "application", "--direct", "--year", 2025, "--as-of", "2025-03-20T10:00"
    )
    assert code == 0 and "征集" in out, out
    with run_elsewhere(2025, "campaign"):
        code, out = qcamp(
            "run", "campaign", "--direct", "--year", 2025, "--as-of", "2025-03-21T10:00"
        )
        assert code == 3 and "另一个运行正在处理 2025 年度的年度活动" in out, out


def test_a_step_recorded_by_a_concurrent_run_is_reported_not_raised() -> None:
    """The loser of a race on a stage step's unique key gets `RunInProgress`, not an
    IntegrityError; the winner's row stays, once."""
    seed(0, n_units=1)
    with UnitOfWork() as uow:
        campaign_id = uow.repo.campaign(2025).id
    first, second = UnitOfWork(), UnitOfWork()
    with first:
        first.repo.mark_step(campaign_id, "application", "call", as_of=at("2025-03-20"))
        first.commit()
    with pytest.raises(RunInProgress, match="另一个运行正在处理"), second:
        second.repo.mark_step(campaign_id, "application", "call", as_of=at("2025-03-20"))
        second.commit()
    assert count("stage_steps") == 1


def test_two_identical_runs_at_once_in_two_processes(tmp_path: Path) -> None:
    """Two real processes start `qcamp run campaign --direct` at the same moment, several times:
    each exits 0 or 3 with the Chinese message, never a traceback, and nothing is stored twice."""
    seed(0, n_units=5)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    for day in ("2025-03-20T10:00", "2025-04-07T10:00", "2025-04-21T10:00"):
        args = [sys.executable, "-c", "from deployments.cli import main; main()"]
        args += ["run", "campaign", "--direct", "--year", "2025", "--as-of", day]
        runs = [
            subprocess.Popen(
                args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for _ in range(2)
        ]  # noqa: S603
        results = [(p.wait(timeout=300), *p.communicate()) for p in runs]
        for code, out, err in results:
            assert code in (0, 3), (code, out, err)
            assert "Traceback" not in err and "IntegrityError" not in err, err
            if code == 3:
                assert "另一个运行正在处理" in err
        assert 0 in [code for code, _, _ in results]
    from sqlalchemy import text

    with UnitOfWork() as uow:
        doubled = uow.session.execute(
            text(
                "SELECT count(*) FROM (SELECT campaign_id, stage, step FROM stage_steps "
                "GROUP BY campaign_id, stage, step HAVING count(*) > 1) d"
            )
        ).scalar_one()
    assert doubled == 0


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the socket is


def test_undelivered_messages_are_failures_in_the_output_and_the_digest() -> None:
    seed(0, n_units=2)
    down = f"mailto://127.0.0.1:{closed_port()}?to=ru00@example.cn&from=qcamp@example.com&mode=insecure"
    with UnitOfWork() as uow:
        unit = uow.repo.recommending_unit("RU00")
        unit.channels = [down]
        uow.commit()
    code, out = qcamp("run", "campaign", "--direct", "--year", 2025, "--as-of", "2025-03-20T10:00")
    assert code == 0, out
    assert "通知投递：已发送" in out and "待重试 1 条" in out, out
    assert "未能送达（1 条，已列入每日工作摘要）" in out
    assert "和平区市场监督管理局00" in out.split("未能送达")[1]  # the unit is named
    with UnitOfWork() as uow:
        from sqlalchemy import text

        (body,) = uow.session.execute(
            text("SELECT body FROM notification_records WHERE event = 'staff_digest'")
        ).one()
    assert "发送失败的通知（1条）" in body, body
    assert "将自动重试" in body
