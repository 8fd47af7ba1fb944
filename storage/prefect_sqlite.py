"""Compacting the local SQLite database of Prefect's temporary API (临时本地服务数据库).

Prefect's server deletes a flow run's task runs with it (foreign key) but keeps its logs and
artifacts (no foreign key) until its own orphan vacuum runs, which is off unless enabled. On the
temporary API's local file nothing else cleans them, so after the maintenance flow has deleted
old runs through the API, this removes the logs and artifacts whose flow run is gone and runs
`VACUUM`, so the file shrinks. A PostgreSQL-backed server is left to its own autovacuum and to
Prefect's `PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED=events,orphans`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

ORPHANS = {
    "log": "DELETE FROM log WHERE flow_run_id IS NOT NULL "
    "AND flow_run_id NOT IN (SELECT id FROM flow_run)",
    "artifact": "DELETE FROM artifact WHERE flow_run_id IS NOT NULL "
    "AND flow_run_id NOT IN (SELECT id FROM flow_run)",
}


@dataclass(frozen=True)
class Compaction:
    path: Path
    bytes_before: int
    bytes_after: int
    logs_deleted: int
    artifacts_deleted: int


def sqlite_path(connection_url: str) -> Path | None:
    """The file behind `sqlite+aiosqlite:///…` (None for PostgreSQL or in-memory)."""
    if not connection_url.startswith("sqlite"):
        return None
    path = connection_url.split("///", 1)[-1].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def compact(path: Path, *, dry_run: bool = False) -> Compaction:
    """Delete logs and artifacts of deleted flow runs, then VACUUM (nothing changes if dry_run)."""
    before = path.stat().st_size
    deleted = {}
    with sqlite3.connect(path, timeout=60) as db:
        for table, sql in ORPHANS.items():
            if dry_run:
                count_sql = sql.replace("DELETE FROM", "SELECT count(*) FROM", 1)
                deleted[table] = db.execute(count_sql).fetchone()[0]
            else:
                deleted[table] = db.execute(sql).rowcount
    if not dry_run:
        db = sqlite3.connect(path, timeout=60, isolation_level=None)
        try:
            db.execute("VACUUM")
        finally:
            db.close()
    return Compaction(path, before, path.stat().st_size, deleted["log"], deleted["artifact"])
