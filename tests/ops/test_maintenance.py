"""Pruning Prefect's run history: runs older than the window go, recent runs stay, and the
local database's logs of deleted runs go with them."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from pathlib import Path
from uuid import UUID

import pytest
from typer.testing import CliRunner

from deployments.cli import app
from flows.maintenance import local_database
from services.retention import RetentionConfigError, retention_days

pytestmark = pytest.mark.usefixtures("prefect_api")


def probe_flow():  # noqa: ANN201 - a Prefect flow
    from prefect import flow, get_run_logger

    @flow(name="qcamp-retention-probe")
    def probe() -> None:
        get_run_logger().warning("探针运行")

    return probe


async def _scheduled_runs(ages_days: list[int]) -> list[UUID]:
    """Flow runs expected to start `age` days ago (as a year-old daily run would be)."""
    from prefect.client.orchestration import get_client
    from prefect.states import Scheduled

    now = dt.datetime.now(dt.UTC)
    async with get_client() as client:
        runs = [
            await client.create_flow_run(
                probe_flow(),
                name=f"age-{age}",
                state=Scheduled(scheduled_time=now - dt.timedelta(days=age)),
            )
            for age in ages_days
        ]
    return [run.id for run in runs]


async def _existing(ids: list[UUID]) -> set[UUID]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids))
        )
    return {run.id for run in runs}


def test_prune_deletes_runs_older_than_the_window_and_keeps_recent_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old_and_recent = asyncio.run(_scheduled_runs([800, 401, 399, 5]))
    monkeypatch.setenv("QCAMP_PREFECT_RETENTION_DAYS", "400")

    dry = CliRunner().invoke(app, ["maintenance", "prune", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "保留期限 400 天：将删除" in dry.output
    assert asyncio.run(_existing(old_and_recent)) == set(old_and_recent)  # dry run: all still there

    result = CliRunner().invoke(app, ["maintenance", "prune"])
    assert result.exit_code == 0, result.output
    assert "保留期限 400 天：已删除" in result.output
    assert asyncio.run(_existing(old_and_recent)) == set(old_and_recent[2:])


def test_prune_removes_the_logs_of_deleted_runs_from_the_local_database() -> None:
    from prefect.logging.handlers import APILogWorker

    state = probe_flow()(return_state=True)
    run_id = state.state_details.flow_run_id
    APILogWorker.drain_all()
    path = local_database()
    assert path is not None and path.exists()

    def logs() -> int:
        with sqlite3.connect(path) as db:
            sql = "SELECT count(*) FROM log WHERE flow_run_id = ?"
            return db.execute(sql, (str(run_id),)).fetchone()[0]

    assert logs() > 0
    result = CliRunner().invoke(app, ["maintenance", "prune", "--days", "0"])
    assert result.exit_code == 0, result.output
    assert asyncio.run(_existing([run_id])) == set()
    assert logs() == 0
    assert "本地数据库" in result.output


def test_retention_window_from_environment_config_or_default(tmp_path: Path) -> None:
    assert retention_days(tmp_path, {}) == 400
    (tmp_path / "maintenance.toml").write_text("[maintenance]\nretention_days = 30\n")
    assert retention_days(tmp_path, {}) == 30
    assert retention_days(tmp_path, {"QCAMP_PREFECT_RETENTION_DAYS": "90"}) == 90
    (tmp_path / "maintenance.toml").write_text("[maintenance]\nretention_days = 0\n")
    with pytest.raises(RetentionConfigError, match="retention_days.*不小于 1"):
        retention_days(tmp_path, {})


def test_a_bad_window_is_a_chinese_error_with_exit_code_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QCAMP_PREFECT_RETENTION_DAYS", "一年")
    result = CliRunner().invoke(app, ["maintenance", "prune", "--dry-run"])
    assert result.exit_code == 2
    assert "QCAMP_PREFECT_RETENTION_DAYS" in result.output


def test_serving_includes_the_weekly_pruning_deployment() -> None:
    from deployments.serve import build_maintenance_deployment

    deployment = build_maintenance_deployment()
    assert deployment.name == "prune-prefect-history"
    assert [s.schedule.cron for s in deployment.schedules] == ["0 3 * * 0"]
    assert deployment.parameters == {}
