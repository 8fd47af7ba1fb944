"""A failed run as the staff see it: a Chinese cause and fix in the run's log (the traceback only
at DEBUG), an artifact of what the run did before failing, and the staff told with the run's link."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from prefect import flow, task
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
from prefect.logging.handlers import APILogHandler
from sqlalchemy import select

from flows.failures import notify_admins
from flows.stage import StepRunner, artifact_key, run_stage
from services.context import CampaignContext, StageReport
from storage import orm
from storage.uow import UnitOfWork
from tasks.audit import write_audit
from tests.stages.factory import seed


@task(name="写说明")
def write_note(ctx: CampaignContext, path: str) -> StageReport:
    report = StageReport.start("audit", ctx)
    Path(path).write_text("说明", encoding="utf-8")
    report.done.append(f"写出说明 {path}")
    return report


@flow(name="failing-stage", flow_run_name="2025-立项审核-失败演示", on_failure=[notify_admins])
def failing_stage(year: int, as_of: str, blocked: str) -> StageReport:
    def body(ctx: CampaignContext, *, run: StepRunner) -> StageReport:
        return run(write_audit, ctx).merge(run(write_note, ctx, blocked))

    return run_stage("audit", year, as_of, body)


def run_logs(flow_run_id: str) -> list[tuple[int, str]]:
    for handler in logging.getLogger("prefect.flow_runs").handlers:
        if isinstance(handler, APILogHandler):
            handler.flush()
    with get_client(sync_client=True) as client:
        logs = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
        )
    return [(log.level, log.message) for log in sorted(logs, key=lambda log: log.timestamp)]


def test_failed_run_says_why_in_chinese_and_tells_the_staff(
    prefect_api: None, tmp_path: Path
) -> None:
    seed(3)
    blocked = tmp_path / "说明.txt"
    blocked.mkdir()  # a folder where the file should go: IsADirectoryError
    state = failing_stage(2025, "2025-05-09", str(blocked), return_state=True)
    assert state.is_failed()
    with pytest.raises(IsADirectoryError):
        state.result()
    run_id = str(state.state_details.flow_run_id)

    logs = run_logs(run_id)
    info = [m for level, m in logs if level == 20]
    errors = [m for level, m in logs if level >= 40]
    debug = [m for level, m in logs if level == 10]
    assert any(m.startswith("完成：") and "立项审核表" in m for m in info), logs
    assert errors and all("Traceback" not in m for m in errors)
    assert any(f"文件路径 {blocked} 被一个同名文件夹占用" in m and "处理办法" in m for m in errors)
    assert any("Traceback" in m and "IsADirectoryError" in m for m in debug)
    assert "运行结束：失败" in logs[-1][1] and "处理办法" in logs[-1][1]

    with get_client(sync_client=True) as client:
        artifact = client.read_latest_artifacts()
    [mine] = [a for a in artifact if a.key == artifact_key(2025, "audit")]
    assert "本次运行失败" in str(mine.data) and "立项审核表" in str(mine.data)

    with UnitOfWork() as uow:
        [told] = uow.session.scalars(
            select(orm.NotificationRecord).where(orm.NotificationRecord.event == "stage_failed")
        ).all()
    assert "运行失败" in told.subject and run_id in told.body and "文件夹" in told.body
    assert told.recipient_key.startswith("staff")
