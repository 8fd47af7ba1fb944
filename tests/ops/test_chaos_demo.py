"""`python -m simulation --chaos N`: faults of every kind (an exception after a commit, during a
document write, during delivery, a SIGKILL of the process running the day) fire, each failed day
is run again, and the campaign ends with the same files, messages and rows as a clean run of the
same seed. On SQLite, and with QCAMP_TEST_DB=postgres on PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import faults
from tests import conftest
from tests.conftest import _pg_admin, _pg_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def demo_databases(request: pytest.FixtureRequest) -> Iterator[list[str]]:
    """Two empty PostgreSQL databases (chaos run, clean run) on PostgreSQL; none on SQLite."""
    if conftest.test_backend() != "postgres":
        yield []
        return
    names = [f"qcamp_chaos_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    for name in names:
        _pg_admin(f'CREATE DATABASE "{name}"')
    yield [_pg_url(n) for n in names]
    for name in names:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_faults_are_off_unless_named() -> None:
    assert faults.parse("") == []
    assert faults.parse("commit@2,kill@5") == [("commit", 2), ("kill", 5)]
    with pytest.raises(ValueError, match="QCAMP_FAULTS"):
        faults.parse("explode@1")
    faults.arm(None)
    faults.hit("commit")  # nothing armed: nothing happens


def test_chaos_demo_ends_equal_to_a_clean_run(tmp_path: Path, demo_databases: list[str]) -> None:
    out = tmp_path / "demo"
    args = [sys.executable, "-m", "simulation", "--projects", "8", "--seed", "3"]
    args += ["--chaos", "8", "--out", str(out)]
    if demo_databases:
        args += ["--database-url", demo_databases[0], "--clean-database-url", demo_databases[1]]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PREFECT_HOME": str(tmp_path / "prefect")}
    for key in ("QCAMP_DATABASE_URL", "QCAMP_CAMPAIGN_DIR", "PREFECT_API_URL", faults.ENV):
        env.pop(key, None)
    done = subprocess.run(args, env=env, capture_output=True, text=True, cwd=ROOT)
    assert "结论：一致" in done.stdout, done.stdout[-4000:] + done.stderr[-4000:]
    assert done.returncode == 0
    log = out / "simulation" / "故障注入记录.jsonl"
    fired = [json.loads(line) for line in log.read_text().splitlines()]
    assert {f["kind"] for f in fired} == set(faults.KINDS)  # every kind actually fired
    # A fault planned too late in the campaign may find no work left to break; most fire.
    assert len(fired) >= 6
    assert all(f["where"] for f in fired)
    assert f"实际触发{len(fired)}个" in done.stdout
