"""Shared fixtures: a real database (SQLite by default, PostgreSQL with QCAMP_TEST_DB=postgres),
a campaign folder, and Prefect's test harness (a real, temporary Prefect API)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
# Stage tests run the campaign straight through, as the demo does; the hold tests turn it on.
os.environ.setdefault("QCAMP_HOLD_MASS_MAIL", "false")

PG_ADMIN_URL = os.environ.get("QCAMP_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI") == "true"


def test_backend() -> str:
    return os.environ.get("QCAMP_TEST_DB", "sqlite")


def _pg_url(dbname: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{dbname}"


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated; dropped afterwards."""
    name = f"qcamp_test_{uuid.uuid4().hex[:10]}"
    try:
        _pg_admin(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # psycopg.OperationalError and friends
        message = f"PostgreSQL 不可用（{PG_ADMIN_URL}）：{exc}"
        if IN_CI or test_backend() == "postgres":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    url = _pg_url(name)
    from storage.db import upgrade

    upgrade(url)
    yield url
    from storage.db import engine_for, normalise_url

    engine_for(normalise_url(url)).dispose()
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _truncate_all(url: str) -> None:
    from sqlalchemy import text

    from storage.db import engine_for, normalise_url
    from storage.orm import Base

    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine_for(normalise_url(url)).begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
def database(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """The database the code under test uses (QCAMP_DATABASE_URL), empty and migrated."""
    if test_backend() == "postgres":
        url = request.getfixturevalue("pg_database")
        _truncate_all(url)
    else:
        url = f"sqlite:///{tmp_path / 'qcamp-test.sqlite'}"
        from storage.db import upgrade

        upgrade(url)
    monkeypatch.setenv("QCAMP_DATABASE_URL", url)
    return url


@pytest.fixture
def campaign_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "campaign"
    monkeypatch.setenv("QCAMP_CAMPAIGN_DIR", str(folder))
    monkeypatch.setenv("QCAMP_OUT_DIR", str(tmp_path / "out"))
    return folder


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[None]:
    """A real Prefect API (the test harness: a temporary server and database)."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        # As in the demo: no heartbeat thread holding up the end of every flow run.
        with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            yield


_SKIPPED_POSTGRES: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Remember every skip that happened because PostgreSQL was not there."""
    if report.skipped and ("PostgreSQL" in str(report.longrepr) or "postgres" in report.keywords):
        _SKIPPED_POSTGRES.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI=true a skipped PostgreSQL test is a failure, never a silent pass."""
    if IN_CI and _SKIPPED_POSTGRES:
        print(
            f"\nCI 中有 {len(_SKIPPED_POSTGRES)} 个 PostgreSQL 测试被跳过：{_SKIPPED_POSTGRES[:5]}"
        )
        session.exitstatus = 1
