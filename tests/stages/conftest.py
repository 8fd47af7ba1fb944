"""Every stage test gets the shared fixtures: an empty, migrated database of the backend under
test (SQLite, or PostgreSQL with QCAMP_TEST_DB=postgres), its own output folder and outbox.

Stage tests call the services, which need no Prefect; a test that runs a flow or a task asks
for the session's real Prefect API itself (the `prefect_api` fixture)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def campaign_db(database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("QCAMP_OUT_DIR", str(tmp_path / "out"))
    monkeypatch.delenv("QCAMP_CAMPAIGN_DIR", raising=False)
    monkeypatch.setenv("QCAMP_OUTBOX_DIR", str(tmp_path / "outbox"))
    return tmp_path
