"""Pruning Prefect's run history (清理运行记录): the maintenance flow `prune-prefect-history`.

A served installation runs the campaign every day and each stage by hand; every run leaves
flow runs, task runs, logs, artifacts and events in Prefect's database, which would grow
without bound. This flow deletes, through the Prefect API, every flow run whose expected start
lies before the retention window (default 400 days, `services.retention`); the server deletes
their task runs with them. On the temporary API's local SQLite file it then removes the logs
and artifacts of the deleted runs and vacuums the file (`storage.prefect_sqlite`). Events are
pruned by Prefect's own server service after `PREFECT_SERVER_EVENTS_RETENTION_PERIOD` (7 days
by default), and on a PostgreSQL server logs and artifacts of deleted runs by its orphan vacuum
(`PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED=events,orphans`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect import flow

from services.retention import retention_days
from storage.prefect_sqlite import Compaction, compact, sqlite_path
from storage.settings import get_settings

BATCH = 200
MAINTENANCE_CRON = "0 3 * * 0"  # 每周日 03:00（北京时间）
DEPLOYMENT_NAME = "prune-prefect-history"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass
class PruneReport:
    """What one pruning did (or, in a dry run, would do)."""

    days: int
    cutoff: dt.datetime
    dry_run: bool
    flow_runs: int = 0
    compaction: Compaction | None = None
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        verb = "将删除" if self.dry_run else "已删除"
        cutoff = self.cutoff.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        lines = [
            f"保留期限 {self.days} 天：{verb} {cutoff} 之前的流程运行 {self.flow_runs} 个"
            "（连同其任务运行）"
        ]
        c = self.compaction
        if c is not None:
            size = f"{c.bytes_before / 1e6:.1f} MB"
            if not self.dry_run:
                size += f" → {c.bytes_after / 1e6:.1f} MB"
            lines.append(
                f"本地数据库 {c.path}：{verb}日志 {c.logs_deleted} 条、产出 {c.artifacts_deleted} 个；"
                f"大小 {size}"
            )
        return lines + self.notes

    def markdown(self) -> str:
        return "\n".join(f"- {line}" for line in self.lines())


async def _old_flow_runs(client: Any, cutoff: dt.datetime, *, count: bool) -> Any:
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterExpectedStartTime,
        FlowRunFilterId,
    )
    from prefect.client.schemas.sorting import FlowRunSort
    from prefect.runtime import flow_run

    old = FlowRunFilter(
        expected_start_time=FlowRunFilterExpectedStartTime(before_=cutoff),
        # never the pruning run itself (with `--days 0` it, too, started before the cutoff)
        id=FlowRunFilterId(not_any_=[flow_run.id]) if flow_run.id else None,
    )
    if count:
        return await client.count_flow_runs(flow_run_filter=old)
    return await client.read_flow_runs(
        flow_run_filter=old, sort=FlowRunSort.EXPECTED_START_TIME_ASC, limit=BATCH
    )


async def delete_old_flow_runs(cutoff: dt.datetime, *, dry_run: bool) -> int:
    """Delete (or count) the flow runs expected to start before `cutoff`, a batch at a time."""
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        if dry_run:
            return await _old_flow_runs(client, cutoff, count=True)
        deleted = 0
        while batch := await _old_flow_runs(client, cutoff, count=False):
            for run in batch:
                await client.delete_flow_run(run.id)
            deleted += len(batch)
        return deleted


def local_database() -> Path | None:
    """The SQLite file of a Prefect API on this machine (the temporary API, or a local
    `prefect server start` on its default database); None for a remote server."""
    from urllib.parse import urlsplit

    from prefect.settings import get_current_settings

    settings = get_current_settings()
    if settings.api.url and urlsplit(settings.api.url).hostname not in LOCAL_HOSTS:
        return None
    return sqlite_path(settings.server.database.connection_url.get_secret_value())


def prune(days: int | None = None, *, dry_run: bool = False) -> PruneReport:
    """Delete Prefect's records older than `days` (default: the configured window)."""
    days = retention_days(get_settings().config_dir) if days is None else days
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    report = PruneReport(days=days, cutoff=cutoff, dry_run=dry_run)
    report.flow_runs = asyncio.run(delete_old_flow_runs(cutoff, dry_run=dry_run))
    path = local_database()
    if path is not None and path.exists():
        report.compaction = compact(path, dry_run=dry_run)
    else:
        report.notes.append(
            "Prefect 服务器的数据库：已删除运行的日志和产出由服务器的清理服务删除"
            "（PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED=events,orphans）"
        )
    report.notes.append(
        "事件由 Prefect 服务器按 PREFECT_SERVER_EVENTS_RETENTION_PERIOD（默认 7 天）清理"
    )
    return report


@flow(name=DEPLOYMENT_NAME, flow_run_name="清理运行记录", log_prints=False)
def prune_prefect_history(days: int | None = None, dry_run: bool = False) -> list[str]:
    """清理运行记录：删除保留期限（默认 400 天）之前的 Prefect 流程运行、任务运行、日志和产出。"""
    from prefect.artifacts import create_markdown_artifact

    report = prune(days, dry_run=dry_run)
    create_markdown_artifact(
        key="prune-prefect-history", markdown=report.markdown(), description="清理运行记录"
    )
    return report.lines()
